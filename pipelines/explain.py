"""``segments explain``: one customer's scores, tiers, segment and reasons, for a person to read."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from features.targets import TARGETS
from pipelines.export import read_latest


def render_customer(exports_dir: Path, customer_id: str) -> Table:
    segments, manifest = read_latest(Path(exports_dir))
    match = segments[segments["customer_id"] == customer_id]
    if match.empty:
        raise KeyError(f"customer '{customer_id}' is not in the export as of {manifest['as_of']}")
    row = match.iloc[0]
    table = Table(
        title=f"{customer_id}: {row['segment']} (as of {manifest['as_of']})",
        show_header=False,
        title_justify="left",
    )
    for target, entry in TARGETS.items():
        score = row[entry.score_column]
        shown = (
            f"{score:,.2f}"
            if entry.is_value
            else f"{score:,.0f} days"
            if entry.is_survival
            else _prob(score)
        )
        extra = "".join(f" ({row[c]})" for c in entry.extra_export_columns)
        tier = f"tier {row[entry.tier_column]}" if entry.tier_column else "expected"
        table.add_row(target, shown, f"{tier}{extra}")
    table.add_row("lifecycle", str(row["lifecycle"]), f"RFM: {row['rfm_group']}")
    for target, model in manifest.get("models", {}).items():
        table.add_row(
            f"served by ({target})",
            str(model.get("scorer", "xgboost")),
            str(model.get("evidence") or "see the model card"),
        )
    for target, entry in TARGETS.items():
        prefix = entry.reason_prefix
        for i in range(1, 100):
            phrase = row.get(f"{prefix}_reason_{i}_phrase")
            if phrase is None or phrase != phrase:  # no reasons where there is no score
                break
            contribution = row[f"{prefix}_reason_{i}_contribution"]
            up, down = entry.reasons_up_down
            table.add_row(
                f"why ({target})" if i == 1 else "",
                str(phrase),
                f"{contribution:+.3f} {up if contribution > 0 else down}",
            )
    return table


def _prob(value) -> str:
    return "n/a" if value != value else f"{value:.0%}"
