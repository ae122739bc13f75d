"""Simple baselines, scored on the same holdout rows as the model.

Recency, frequency, an RFM score, last-period spend and BG/NBD (+ Gamma-Gamma for value). Each
returns a score oriented like the target: higher = more churn risk / more likely to buy / more
value. Customers a baseline cannot score (e.g. never-buyers for BG/NBD) rank lowest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.targets import NEXT_ORDER_DAYS, NO_ORDER, spec
from models.probabilistic import RFM_INPUTS, BGNBDParams, target_prediction
from models.scorers import prior_from_columns


def _lowest_when_missing(score: pd.Series, floor: float | None = None) -> np.ndarray:
    """Missing scores rank lowest: below every finite score, or at ``floor`` (probabilities: 0)."""
    values = score.astype(float).to_numpy()
    finite = values[np.isfinite(values)]
    if floor is None:
        floor = (finite.min() - 1.0) if len(finite) else 0.0
    return np.where(np.isfinite(values), values, floor)


def rfm_score(X: pd.DataFrame) -> pd.Series:
    """Classic RFM: quintile scores 1-5 for recency (recent = 5), frequency and monetary, summed."""
    recency = (-X["days_since_last_order"]).rank(pct=True, method="average")
    frequency = X["orders_total"].rank(pct=True, method="average")
    monetary = X["spend_total"].rank(pct=True, method="average")
    quintile = lambda r: np.ceil(r.fillna(0) * 5).clip(1, 5)  # noqa: E731
    score = quintile(recency) + quintile(frequency) + quintile(monetary)
    return score.where(X["orders_total"] > 0, 0)


def baseline_scores(
    X: pd.DataFrame, target: str, horizon_days: int, bgnbd_params: BGNBDParams | None = None
) -> dict[str, np.ndarray]:
    """Every baseline's score for ``target`` on the rows of ``X`` (features incl. BG/NBD).

    With ``bgnbd_params`` (fitted at the rows' cutoff), the BG/NBD baseline is computed at
    ``horizon_days`` from them, so it is judged at the holdout's horizon even when the feature
    columns were computed at a shorter training horizon."""
    entry = spec(target)
    recent_spend = X["spend_365d"] * horizon_days / 365 if entry.is_value else X["spend_90d"]
    # Churn and days to the next order grow as buying fades: the simple scores flip sign.
    sign = -1.0 if entry.orientation in (NO_ORDER, NEXT_ORDER_DAYS) else 1.0
    simple = {
        "recency": lambda: sign * -X["days_since_last_order"],
        "frequency": lambda: sign * X["orders_total"],
        "rfm_score": lambda: sign * rfm_score(X),
        "last_period_spend": lambda: sign * recent_spend,
    }
    scores = {name: simple[name]() for name in entry.baselines}
    name = "bgnbd_gamma_gamma" if entry.is_value else "bgnbd"
    if bgnbd_params is not None:
        Z = X[list(RFM_INPUTS)].to_numpy(dtype=float)
        forecast = target_prediction(bgnbd_params, entry.orientation, horizon_days, Z)
        scores[name] = pd.Series(forecast)
    else:  # the bgnbd stage's forecast at the rows' own cutoff
        scores[name] = pd.Series(prior_from_columns(target, X), index=X.index)
    if entry.is_survival:  # customers a score cannot place wait longest
        return {name: -_lowest_when_missing(-score) for name, score in scores.items()}
    probabilities = {"bgnbd", "bgnbd_gamma_gamma"}  # valid values are >= 0: missing means 0
    return {
        name: _lowest_when_missing(score, 0.0 if name in probabilities else None)
        for name, score in scores.items()
    }
