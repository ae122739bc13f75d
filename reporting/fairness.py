"""The segment report's fairness section (`models.fairness`): at evaluation, each served model's
disparity ratio and equal-opportunity difference per sensitive attribute; at scoring, each group's
rate in every tier, segment and activation file, with the disparity ratio across groups."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from features.targets import TARGETS
from models.fairness import FOUR_FIFTHS, TOO_SMALL


def _figure(entry: dict) -> str:
    if entry.get("value") is None:
        return "n/a"
    if entry.get("ci_low") is None:
        return f"{entry['value']:.3f}"
    return f"{entry['value']:.3f} [{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"


def _html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, escape=True)


def evaluation_rows(reports_dir: Path) -> list[dict]:
    """Per target and attribute, the served model's comparisons on the holdout."""
    rows = []
    for target in TARGETS:
        path = reports_dir / "evaluate" / f"{target}.json"
        audit = json.loads(path.read_text()).get("fairness") if path.exists() else None
        if not audit or not audit["attributes"]:
            continue
        served = audit["served"]
        for attribute, found in audit["candidates"][served].items():
            rows.append(
                {
                    "target": target,
                    "served by": served,
                    "attribute": attribute,
                    "disparity ratio": _figure(found["disparity_ratio"]),
                    "four-fifths": "below" if found["four_fifths"] else "ok",
                    "equal-opportunity difference": _figure(found["opportunity_difference"]),
                    "refused by the gate": audit["refused"].get(served, "no"),
                }
            )
    return rows


def export_rows(found: dict) -> list[dict]:
    """One row per tier, segment and activation file: each group's rate and the ratio."""
    rows = []
    for column, values in found["columns"].items():
        for value, entry in values.items():
            rates = {
                group: f"{shown['rate']['value']:.1%}" for group, shown in entry["groups"].items()
            }
            ratio = entry["disparity_ratio"]
            rows.append(
                {
                    "column": column,
                    "value": value,
                    **rates,
                    "disparity ratio": _figure(ratio),
                    "four-fifths": "below" if entry["four_fifths"] else "ok",
                }
            )
    return rows


def _group_header(found: dict) -> str:
    sizes = [
        f"{html.escape(group)}: {entry['customers']:,} ({entry['share']:.1%})"
        + ("" if entry["readable"] else f", {TOO_SMALL}")
        for group, entry in found["groups"].items()
    ]
    return "<p>Groups: " + "; ".join(sizes) + "</p>"


def fairness_section(audit: dict, reports_dir: Path) -> str:
    """The section's HTML from the export's ``fairness.json`` and the evaluate reports."""
    parts = []
    if not audit["attributes"]:
        audited = ", ".join(audit["absent"]) or "none configured"
        parts.append(
            f"<p>No sensitive attribute is in the customers table (audited: "
            f"{html.escape(audited)}); nothing could be audited.</p>"
        )
        return "\n".join(parts)
    parts.append(
        "<p>Sensitive attributes are not model inputs; this checks the outcome. Disparity ratio: "
        "the lowest group's rate over the highest's, with a "
        f"{audit['confidence']:.0%} bootstrap interval within groups (the four-fifths rule flags "
        f"below {FOUR_FIFTHS}). Groups under {audit['min_group_size']} customers are "
        f"{TOO_SMALL} and not compared.</p>"
    )
    if audit["absent"]:
        parts.append(f"<p>Not audited (absent): {html.escape(', '.join(audit['absent']))}.</p>")
    if rows := evaluation_rows(reports_dir):
        parts += ["<h3>Served models on the holdout</h3>", _html(pd.DataFrame(rows))]
    for attribute, found in audit["by_attribute"].items():
        parts += [
            f"<h3>Tiers, segments and activation files by {html.escape(attribute)}</h3>",
            _group_header(found),
            "<p>Share of each group in each (activation files: consented members).</p>",
            _html(pd.DataFrame(export_rows(found))),
        ]
    return "\n".join(parts)
