"""Out-of-time evaluation: candidate scorers and baselines (and an oracle if known) on one holdout.

Every score gets a point estimate and a bootstrap interval; each candidate's headline metric is
compared with the best baseline's, and candidates with each other, on the same resamples (paired):
that is what the choice of the champion (`models.selection`) reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.targets import CLASSIFICATION, SURVIVAL, VALUE, spec
from models.metrics import (
    ALL_METRICS,
    CLASSIFICATION_METRICS,
    HIGHER_IS_BETTER,
    RANKING_CLASSIFICATION,
    RANKING_SURVIVAL,
    RANKING_VALUE,
    SURVIVAL_METRICS,
    VALUE_METRICS,
    bootstrap_indices,
    metric_with_interval,
    paired_difference,
)

# Baselines that are probabilities (classification) or currency (value), so that calibration and
# bias metrics apply to them; the other baselines are rankings and get ranking metrics only. Every
# candidate scorer is calibrated, so full metrics apply to it.
PROBABILITY_SCORES = frozenset({"oracle", "bgnbd"})
VALUE_SCORES = frozenset({"oracle", "bgnbd_gamma_gamma", "last_period_spend"})
DAYS_SCORES = frozenset({"oracle", "bgnbd"})  # predicted medians, in days
_BY_TASK = {  # full metrics, the ranking-only ones, and the baselines the full set applies to
    CLASSIFICATION: (CLASSIFICATION_METRICS, RANKING_CLASSIFICATION, PROBABILITY_SCORES),
    VALUE: (VALUE_METRICS, RANKING_VALUE, VALUE_SCORES),
    SURVIVAL: (SURVIVAL_METRICS, RANKING_SURVIVAL, DAYS_SCORES),
}


@dataclass
class Evaluation:
    target: str
    headline: str
    table: pd.DataFrame  # one row per (score, metric): value, ci_low, ci_high
    best_baseline: str
    candidates: list[str]
    differences: dict[str, dict]  # candidate - best baseline on the headline metric (paired)
    n_rows: int
    positives: float
    compare: Callable[[str, str], dict] = field(repr=False, default=None)
    champion: str | None = None
    steps: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # candidate -> the fairness gate's reason

    @property
    def promoted(self) -> bool:
        """Whether the champion may serve: the fairness gate refused it only when it refused
        every candidate (`models.promotion.promote`)."""
        return self.champion not in self.refused

    def value(self, score: str, metric: str) -> float:
        row = self.table[(self.table["score"] == score) & (self.table["metric"] == metric)]
        return float(row["value"].iloc[0])

    @property
    def difference(self) -> dict:
        """The champion's paired difference over the best baseline."""
        return self.differences[self.champion]

    def beats_best_baseline(self, score: str, min_difference: float = 0.0) -> bool:
        return bool(self.differences[score]["ci_low"] > min_difference)


def _metrics_for(target: str, score_name: str, candidates) -> dict:
    full, ranking, calibrated = _BY_TASK[spec(target).task]
    if score_name in calibrated or score_name in candidates:
        return full
    return {name: full[name] for name in ranking}


def evaluate_scores(
    target: str,
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    candidates: list[str],
    n_bootstrap: int,
    confidence: float,
    seed: int,
) -> Evaluation:
    """Metrics with intervals for every score; each candidate's paired difference over the best
    baseline; ``compare(a, b)`` for any two scores on the same resamples."""
    y = np.asarray(y, float)
    indices = bootstrap_indices(len(y), n_bootstrap, seed)
    rows = []
    for name, score in scores.items():
        for metric_name, metric in _metrics_for(target, name, candidates).items():
            result = metric_with_interval(metric, y, score, indices, confidence)
            rows.append({"score": name, "metric": metric_name, **result})
    table = pd.DataFrame(rows)
    headline = spec(target).headline
    baselines = [s for s in scores if s not in candidates and s != "oracle"]
    at_headline = table[(table["metric"] == headline) & table["score"].isin(baselines)]
    best = at_headline.sort_values("value", ascending=not HIGHER_IS_BETTER[headline]).iloc[0]
    metric = ALL_METRICS[headline]
    sign = 1.0 if HIGHER_IS_BETTER[headline] else -1.0

    def compare(a: str, b: str) -> dict:
        """a - b on the headline, oriented so that positive means ``a`` is better."""
        diff = paired_difference(metric, y, scores[a], scores[b], indices, confidence)
        if sign > 0:
            return diff
        return {"value": -diff["value"], "ci_low": -diff["ci_high"], "ci_high": -diff["ci_low"]}

    differences = {name: compare(name, best["score"]) for name in candidates}
    task = spec(target).task  # the rate, the total, or the share who ordered within H
    positives = float({CLASSIFICATION: y.mean, VALUE: y.sum, SURVIVAL: np.isfinite(y).mean}[task]())
    return Evaluation(
        target,
        headline,
        table,
        best["score"],
        list(candidates),
        differences,
        len(y),
        positives,
        compare,
    )


def summary(evaluation: Evaluation) -> dict:
    """The DVC metrics file: every score's metrics, each candidate against the best baseline,
    the champion and the comparisons that chose it."""
    scores = {}
    for record in evaluation.table.to_dict("records"):
        scores.setdefault(record["score"], {})[record["metric"]] = {
            k: round(record[k], 6) for k in ("value", "ci_low", "ci_high")
        }
    rounded = {
        name: {k: round(v, 6) for k, v in diff.items()}
        for name, diff in evaluation.differences.items()
    }
    return {
        "target": evaluation.target,
        "headline_metric": evaluation.headline,
        "holdout_rows": evaluation.n_rows,
        "holdout_positive_rate_or_total": round(evaluation.positives, 6),
        "scores": scores,
        "best_baseline": evaluation.best_baseline,
        "candidates": list(evaluation.candidates),
        "candidate_minus_best_baseline": rounded,
        "champion": evaluation.champion,
        "selection": [step.to_dict() for step in evaluation.steps],
        "champion_minus_best_baseline": rounded.get(evaluation.champion),
        "promoted": evaluation.promoted,
        **evaluation.extra,
    }
