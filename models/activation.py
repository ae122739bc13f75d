"""Who goes to activation files: consent and control groups are policy, not plumbing.

Every scored customer is in the export. Only customers who consented to marketing (true in the
customers table; false or unknown leave them out) and are not in the control group
(`models.control`) go to the activation files, one per segment, with the columns a campaign tool
needs.
"""

from __future__ import annotations

import pandas as pd

from features.targets import UPLIFT_COLUMNS, activation_columns
from models.control import TARGET


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


def activation_lists(segments: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], int]:
    """Per segment (in name order), the activation columns of consenting target customers; and
    how many customers were left out for want of consent."""
    consent = segments["marketing_consent"].fillna(False).astype(bool)
    activated = segments[consent & (segments["group"] == TARGET)]
    lists = {
        name: group[list(activation_file_columns())]
        for name, group in activated.groupby("segment", sort=True)
    }
    return lists, int((~consent).sum())
