"""Holdout metrics, with bootstrap intervals and paired differences against baselines.

Classification (churn, propensity): ROC AUC, PR AUC, Brier, expected calibration error,
top-decile lift. Value (CLTV): normalized Gini, Spearman, decile MAPE, aggregate bias,
share of value captured by the predicted top 10%. Days to the next order: concordance index and
how close the predicted medians are to medians (`models.survival`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.survival import concordance_index, median_calibration_error, median_coverage

Metric = Callable[[np.ndarray, np.ndarray], float]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean prediction| over equal-width probability bins."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        mask = which == b
        total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / len(y))


def top_decile_lift(y: np.ndarray, score: np.ndarray) -> float:
    """Positive rate among the top 10% by score over the overall positive rate."""
    y, score = np.asarray(y, float), np.asarray(score, float)
    k = max(1, int(np.ceil(0.1 * len(y))))
    top = np.argsort(-score, kind="stable")[:k]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def _gini(actual: np.ndarray, order_by: np.ndarray) -> float:
    order = np.lexsort((np.arange(len(order_by)), -order_by))
    cumulative = np.cumsum(actual[order]) / actual.sum()
    n = len(actual)
    return float(cumulative.sum() / n - (n + 1) / (2 * n))


def normalized_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Gini of the predicted ranking over actual value, divided by the perfect ranking's."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    if actual.sum() <= 0:
        return float("nan")
    return _gini(actual, predicted) / _gini(actual, actual)


def spearman(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(spearmanr(actual, predicted).statistic)


def decile_mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute % error of total value per predicted decile (how well value is calibrated)."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    deciles = np.array_split(np.argsort(predicted, kind="stable"), 10)
    errors = [
        abs(predicted[d].sum() - actual[d].sum()) / actual[d].sum()
        for d in deciles
        if len(d) and actual[d].sum() > 0
    ]
    return float(np.mean(errors)) if errors else float("nan")


def aggregate_bias_pct(actual: np.ndarray, predicted: np.ndarray) -> float:
    """(total predicted - total actual) / total actual, in %."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    return float(100 * (predicted.sum() - actual.sum()) / actual.sum())


def top10_value_share(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Share of actual value held by the customers the model ranks in its top 10%."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    k = max(1, int(np.ceil(0.1 * len(actual))))
    top = np.argsort(-predicted, kind="stable")[:k]
    return float(actual[top].sum() / actual.sum()) if actual.sum() > 0 else float("nan")


CLASSIFICATION_METRICS: dict[str, Metric] = {
    "roc_auc": roc_auc_score,
    "pr_auc": average_precision_score,
    "brier": brier_score_loss,
    "ece": expected_calibration_error,
    "top_decile_lift": top_decile_lift,
}
# Ranking-only metrics make sense for any score (baselines are not probabilities).
RANKING_CLASSIFICATION = ("roc_auc", "pr_auc", "top_decile_lift")
VALUE_METRICS: dict[str, Metric] = {
    "normalized_gini": normalized_gini,
    "spearman": spearman,
    "decile_mape": decile_mape,
    "aggregate_bias_pct": aggregate_bias_pct,
    "top10_value_share": top10_value_share,
}
RANKING_VALUE = ("normalized_gini", "spearman", "top10_value_share")
SURVIVAL_METRICS: dict[str, Metric] = {
    "concordance": concordance_index,
    "median_coverage": median_coverage,
    "median_calibration_error": median_calibration_error,
}
RANKING_SURVIVAL = ("concordance",)
ALL_METRICS: dict[str, Metric] = CLASSIFICATION_METRICS | VALUE_METRICS | SURVIVAL_METRICS
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "brier": False,
    "ece": False,
    "top_decile_lift": True,
    "normalized_gini": True,
    "spearman": True,
    "decile_mape": False,
    "aggregate_bias_pct": False,
    "top10_value_share": True,
    "concordance": True,
    "median_calibration_error": False,
}


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Resampling indices shared by every score, so differences are paired."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def metric_with_interval(
    metric: Metric, y: np.ndarray, score: np.ndarray, indices: np.ndarray, level: float = 0.95
) -> dict:
    """Point estimate and percentile bootstrap interval."""
    y, score = np.asarray(y), np.asarray(score)
    samples = _bootstrap(metric, y, score, indices)
    low, high = np.nanpercentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return {"value": float(metric(y, score)), "ci_low": float(low), "ci_high": float(high)}


def paired_difference(
    metric: Metric,
    y: np.ndarray,
    score_a: np.ndarray,
    score_b: np.ndarray,
    indices: np.ndarray,
    level: float = 0.95,
) -> dict:
    """metric(a) - metric(b) on the same resamples, with its percentile interval."""
    y = np.asarray(y)
    a = _bootstrap(metric, y, np.asarray(score_a), indices)
    b = _bootstrap(metric, y, np.asarray(score_b), indices)
    diff = a - b
    low, high = np.nanpercentile(diff, [50 * (1 - level), 50 * (1 + level)])
    point = metric(y, np.asarray(score_a)) - metric(y, np.asarray(score_b))
    return {"value": float(point), "ci_low": float(low), "ci_high": float(high)}


def _bootstrap(metric: Metric, y: np.ndarray, score: np.ndarray, indices: np.ndarray):
    out = np.empty(len(indices))
    for i, idx in enumerate(indices):
        try:
            out[i] = metric(y[idx], score[idx])
        except ValueError:  # a resample with one class only
            out[i] = np.nan
    return out
