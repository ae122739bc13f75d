"""The page written beside each measurement (`exports/<as_of>/measurement/<until>.html`): what a
campaign on an export added, per segment, with intervals, or why there is no number yet."""

from __future__ import annotations

import html

import pandas as pd

from models.measurement import summary_frame
from reporting.page import STYLE


def table_of(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, float_format=lambda v: f"{v:,.4g}", escape=True)


def measurement_body(result: dict) -> str:
    """Lifts target vs control per segment, or why there is no number yet."""
    if result["status"] != "measured":
        return f"<p class='warn'>{html.escape(result['status'])}: {html.escape(result['note'])}</p>"
    return (
        f"<p>{result['window_days']} days after the export; {html.escape(result['analysis'])}; "
        f"{result['confidence']:.0%} intervals. {html.escape(result['population'])}. A lift whose "
        "interval contains 0 is not distinguishable from no effect.</p>"
        + table_of(summary_frame(result))
        + f"<p>{html.escape(result['method'])}</p>"
    )


def measurement_page(result: dict) -> str:
    """A page of its own for one measurement."""
    title = (
        f"Campaign measurement: {result.get('as_of', 'no export')} to {result.get('until', '-')}"
    )
    return "\n".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            measurement_body(result),
            "</body></html>",
        ]
    )
