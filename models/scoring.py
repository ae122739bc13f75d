"""From features and models to the export frame: scores, tiers, segments, RFM groups, reasons."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.catalogue import FeatureInfo, build_catalogue
from features.definitions import FeatureRules
from features.targets import TARGETS, spec
from models.bgnbd import BGNBD_CATALOGUE
from models.explain import contributions, top_reasons
from models.horizon import HORIZON_CATALOGUE
from models.segmentation import SegmentRule, TierRules, assign_segments, assign_tiers, rfm_groups

SCORE_COLUMNS = {name: entry.score_column for name, entry in TARGETS.items()}
MAX_WAIT_DAYS = 3650.0  # exported waits are capped at ten years (a model may extrapolate far)


def _target_columns(first: bool) -> list[str]:
    """Export columns of the schema-1.0 targets (``first``) or of those added since."""
    chosen = [t for t in TARGETS.values() if (t.since_schema == "1.0") == first]
    return [column for entry in chosen for column in entry.export_columns]


# Export schema, in this order (reason columns follow; see README "For batch jobs"). Columns of
# targets added after 1.0 come after rfm_group, so positional readers of 1.0 keep working.
EXPORT_COLUMNS = (
    "customer_id",
    "as_of",
    *_target_columns(first=True),
    "lifecycle",
    "segment",
    "rfm_group",
    *_target_columns(first=False),
)


def scoring_catalogue(rules: FeatureRules) -> list[FeatureInfo]:
    """Everything a served model can give as a reason: the features, the BG/NBD columns and the
    horizon rescaling."""
    return [*build_catalogue(rules), *BGNBD_CATALOGUE, *HORIZON_CATALOGUE]


def catalogue_renderer(catalogue: list[FeatureInfo]) -> Callable[[str, object], str]:
    by_name = {info.name: info for info in catalogue}

    def render(feature: str, value) -> str:
        info = by_name.get(feature)
        return info.render(value) if info else f"{feature} = {value}"

    return render


EXPLAIN_CHUNK_ROWS = 100_000  # bounds the memory of SHAP values and their sort per model


def explain_target(target: str, model, X: pd.DataFrame, render, k: int) -> pd.DataFrame:
    """Top-k reasons per row, computed in chunks so memory does not grow with the customer count."""
    parts = []
    for start in range(0, max(len(X), 1), EXPLAIN_CHUNK_ROWS):
        rows = X.iloc[start : start + EXPLAIN_CHUNK_ROWS]
        values, _ = contributions(model, rows)
        parts.append(top_reasons(values, rows, render, k, spec(target).reason_prefix))
    return pd.concat(parts)


def build_export(
    keys: pd.DataFrame,
    X: pd.DataFrame,
    models: dict,
    predictions: dict[str, np.ndarray],
    tier_rules: TierRules,
    segment_rules: list[SegmentRule],
    render,
    top_k: int,
    on_explained: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """One row per customer: scores, tiers, lifecycle, segment, RFM group and top-k reasons.

    ``on_explained(target)`` is called after each model's reasons (progress reporting)."""
    scores = keys.reset_index(drop=True).copy()
    for target, column in SCORE_COLUMNS.items():
        score = np.round(predictions[target], 6)
        scores[column] = np.minimum(score, MAX_WAIT_DAYS) if spec(target).is_survival else score
    X = X.reset_index(drop=True)
    out = assign_tiers(scores, X, tier_rules)
    for entry in TARGETS.values():
        if entry.is_survival:  # the date a predicted wait (days from the cutoff) ends
            days = pd.to_timedelta(out[entry.score_column], unit="D")
            out[entry.extra_export_columns[0]] = (out["as_of"] + days).dt.strftime("%Y-%m-%d")
    out["segment"] = assign_segments(out, segment_rules)
    out["rfm_group"] = rfm_groups(X).to_numpy()
    reasons = []
    for target in SCORE_COLUMNS:
        scored = np.isfinite(predictions[target])  # churn: buyers in the lookback only
        explained = explain_target(target, models[target], X[scored], render, top_k)
        reasons.append(explained.reindex(X.index))  # no reasons where there is no score
        if on_explained is not None:
            on_explained(target)
    return pd.concat([out[list(EXPORT_COLUMNS)], *reasons], axis=1)
