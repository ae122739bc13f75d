"""How customers moved between segments and tiers since the previous export."""

from __future__ import annotations

import pandas as pd

# Moves a marketer wants to hear about (from, to).
NOTABLE_MOVES = (
    ("Champions", "At risk - high value"),
    ("Champions", "At risk"),
    ("Loyal", "At risk"),
    ("Champions", "Hibernating"),
    ("Loyal", "Hibernating"),
    ("Prospects", "Likely first purchase"),
    ("Hibernating", "Win back"),
)


def migration(previous: pd.DataFrame, current: pd.DataFrame, column: str = "segment") -> dict:
    """Transition counts, stability share and notable movers between two exports."""
    joined = previous[["customer_id", column]].merge(
        current[["customer_id", column]],
        on="customer_id",
        how="outer",
        suffixes=("_before", "_after"),
        indicator=True,
    )
    before = joined[f"{column}_before"].fillna("(new customer)")
    after = joined[f"{column}_after"].fillna("(gone)")
    matrix = pd.crosstab(before, after)
    both = joined["_merge"] == "both"
    stable = float((before[both] == after[both]).mean()) if both.any() else float("nan")
    moves = {f"{a} -> {b}": int(((before == a) & (after == b)).sum()) for a, b in NOTABLE_MOVES}
    return {
        "column": column,
        "customers_before": int(len(previous)),
        "customers_after": int(len(current)),
        "stability_share": round(stable, 6),
        "notable_moves": {k: v for k, v in moves.items() if v},
        "matrix": matrix,
    }


def transition_table(result: dict) -> pd.DataFrame:
    return result["matrix"].rename_axis(index="from", columns=None).reset_index()
