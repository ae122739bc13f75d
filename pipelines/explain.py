"""``segments explain``: one customer's scores, tiers, segment and reasons, for a person to read."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from models.scoring import REASON_PREFIX, SCORE_COLUMNS
from pipelines.export import read_latest

DIRECTION = {
    "churn": ("raises churn risk", "lowers churn risk"),
    "propensity": ("makes a purchase likelier", "makes a purchase less likely"),
    "cltv": ("raises expected value", "lowers expected value"),
}


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
    table.add_row("churn", _prob(row["churn_probability"]), f"tier {row['churn_tier']}")
    table.add_row("purchase", _prob(row["purchase_probability"]), f"tier {row['propensity_tier']}")
    table.add_row(
        "value", f"{row['predicted_cltv']:,.2f}", f"tier {row['value_tier']} ({row['value_level']})"
    )
    table.add_row("lifecycle", str(row["lifecycle"]), f"RFM: {row['rfm_group']}")
    for target, model in manifest.get("models", {}).items():
        table.add_row(
            f"served by ({target})",
            str(model.get("scorer", "xgboost")),
            str(model.get("evidence") or "see the model card"),
        )
    for target in SCORE_COLUMNS:
        prefix = REASON_PREFIX[target]
        for i in range(1, 100):
            phrase = row.get(f"{prefix}_reason_{i}_phrase")
            if phrase is None or phrase != phrase:  # no reasons where there is no score
                break
            contribution = row[f"{prefix}_reason_{i}_contribution"]
            up, down = DIRECTION[target]
            table.add_row(
                f"why ({target})" if i == 1 else "",
                str(phrase),
                f"{contribution:+.3f} {up if contribution > 0 else down}",
            )
    return table


def _prob(value) -> str:
    return "n/a" if value != value else f"{value:.0%}"
