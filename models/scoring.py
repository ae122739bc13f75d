"""From features and models to the export frame: scores, tiers, segments, RFM groups, reasons."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.catalogue import FeatureInfo
from models.explain import contributions, top_reasons
from models.segmentation import SegmentRule, TierRules, assign_segments, assign_tiers, rfm_groups

SCORE_COLUMNS = {
    "churn": "churn_probability",
    "propensity": "purchase_probability",
    "cltv": "predicted_cltv",
}
# Export schema 1.0, in this order (reason columns follow; see README "For batch jobs").
EXPORT_COLUMNS = (
    "customer_id",
    "as_of",
    "churn_probability",
    "churn_tier",
    "purchase_probability",
    "propensity_tier",
    "predicted_cltv",
    "value_tier",
    "value_level",
    "lifecycle",
    "segment",
    "rfm_group",
)
REASON_PREFIX = {"churn": "churn", "propensity": "propensity", "cltv": "cltv"}


def catalogue_renderer(catalogue: list[FeatureInfo]) -> Callable[[str, object], str]:
    by_name = {info.name: info for info in catalogue}

    def render(feature: str, value) -> str:
        info = by_name.get(feature)
        return info.render(value) if info else f"{feature} = {value}"

    return render


def explain_target(target: str, model, X: pd.DataFrame, render, k: int) -> pd.DataFrame:
    values, _ = contributions(model, X)
    return top_reasons(values, X, render, k, REASON_PREFIX[target])


def build_export(
    keys: pd.DataFrame,
    X: pd.DataFrame,
    models: dict,
    predictions: dict[str, np.ndarray],
    tier_rules: TierRules,
    segment_rules: list[SegmentRule],
    render,
    top_k: int,
) -> pd.DataFrame:
    """One row per customer: scores, tiers, lifecycle, segment, RFM group and top-k reasons."""
    scores = keys.reset_index(drop=True).copy()
    for target, column in SCORE_COLUMNS.items():
        scores[column] = np.round(predictions[target], 6)
    X = X.reset_index(drop=True)
    out = assign_tiers(scores, X, tier_rules)
    out["segment"] = assign_segments(out, segment_rules)
    out["rfm_group"] = rfm_groups(X).to_numpy()
    reasons = [explain_target(t, models[t], X, render, top_k) for t in SCORE_COLUMNS]
    return pd.concat([out[list(EXPORT_COLUMNS)], *reasons], axis=1)
