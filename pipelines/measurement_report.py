"""The measurement page: what a campaign on an export added, per segment, with intervals; written
beside each measurement (``exports/<as_of>/measurement/<until>.html``) in the segment report's
style."""

from __future__ import annotations

import html

from models.measurement import summary_frame
from pipelines.report import STYLE, _table


def measurement_section(result: dict) -> str:
    """Lifts target vs control per segment, or why there is no number yet."""
    when = f"{result.get('as_of', 'no export')} to {result.get('until', '-')}"
    head = f"<h2>Campaign measurement: {when}</h2>"
    if result["status"] != "measured":
        return (
            head
            + f"<p class='warn'>{html.escape(result['status'])}: "
            + (f"{html.escape(result['note'])}</p>")
        )
    return (
        head
        + f"<p>{result['window_days']} days after the export; {html.escape(result['analysis'])}; "
        f"{result['confidence']:.0%} intervals. {html.escape(result['population'])}. A lift whose "
        "interval contains 0 is not distinguishable from no effect.</p>"
        + _table(summary_frame(result))
        + f"<p>{html.escape(result['method'])}</p>"
    )


def measurement_page(result: dict) -> str:
    return "\n".join(
        [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>Measurement {result.get('as_of', '')}</title>",
            f"<style>{STYLE}</style></head><body>",
            measurement_section(result),
            "</body></html>",
        ]
    )
