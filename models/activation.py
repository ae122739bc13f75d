"""Who goes to activation files: consent and control groups are policy, not plumbing.

Every scored customer is in the export. Only customers who consented to marketing (true in the
customers table; false or unknown leave them out) and are not in the control group
(`models.control`) go to the activation files, one per segment, with the columns a campaign tool
needs.
"""

from __future__ import annotations

import pandas as pd

from features.targets import UPLIFT_COLUMNS, activation_columns
from models.control import CONTROL, TARGET


def with_consent(segments: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """``segments`` with each customer's ``marketing_consent`` (missing where unknown)."""
    consent = customers.set_index("customer_id")["marketing_consent"]
    return segments.assign(
        marketing_consent=segments["customer_id"].map(consent).astype("boolean").to_numpy()
    )


def activation_file_columns() -> tuple[str, ...]:
    """Each target's campaign columns (`features.targets.activation_columns`), then the uplift
    tier (schema 1.2; ``n/a`` without an uplift model), so a campaign can skip sleeping dogs."""
    return (*activation_columns(), UPLIFT_COLUMNS[1])


def consented(segments: pd.DataFrame) -> pd.Series:
    """Who may be activated: consent true (false or unknown: no)."""
    return segments["marketing_consent"].fillna(False).astype(bool)


def activation_file(segments: pd.DataFrame) -> pd.Series:
    """The activation file (its segment) each customer is in; missing for those without consent
    and those held out as control."""
    held_out = segments["group"].eq(CONTROL) if "group" in segments else False
    return segments["segment"].astype("string").where(consented(segments) & ~held_out)


def activation_lists(segments: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], int]:
    """Per segment (in name order), the activation columns of consenting target customers; and
    how many customers were left out for want of consent."""
    activated = segments[consented(segments) & (segments["group"] == TARGET)]
    lists = {
        name: group[list(activation_file_columns())]
        for name, group in activated.groupby("segment", sort=True)
    }
    return lists, int((~consented(segments)).sum())
