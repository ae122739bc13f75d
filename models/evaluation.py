"""Out-of-time evaluation: model, baselines (and an oracle when one exists) on the same holdout.

Every score gets a point estimate and a bootstrap interval; the model's headline metric is also
compared with the best baseline's on the same resamples (paired), which is what the promotion gate
reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.frames import TASKS
from models.metrics import (
    CLASSIFICATION_METRICS,
    HIGHER_IS_BETTER,
    RANKING_CLASSIFICATION,
    RANKING_VALUE,
    VALUE_METRICS,
    bootstrap_indices,
    metric_with_interval,
    paired_difference,
)
from models.tuning import HEADLINE

# Scores that are probabilities (classification) or currency (value), so that calibration and
# bias metrics apply to them; the other baselines are rankings and get ranking metrics only.
PROBABILITY_SCORES = frozenset({"model", "oracle", "bgnbd"})
VALUE_SCORES = frozenset({"model", "oracle", "bgnbd_gamma_gamma", "last_period_spend"})


@dataclass
class Evaluation:
    target: str
    headline: str
    table: pd.DataFrame  # one row per (score, metric): value, ci_low, ci_high
    best_baseline: str
    difference: dict  # model - best baseline on the headline metric (paired)
    n_rows: int
    positives: float
    extra: dict = field(default_factory=dict)

    def value(self, score: str, metric: str) -> float:
        row = self.table[(self.table["score"] == score) & (self.table["metric"] == metric)]
        return float(row["value"].iloc[0])

    def beats_best_baseline(self, min_difference: float = 0.0) -> bool:
        return bool(self.difference["ci_low"] > min_difference)


def _metrics_for(target: str, score_name: str) -> dict:
    if TASKS[target] == "classification":
        full, ranking, calibrated = (
            CLASSIFICATION_METRICS,
            RANKING_CLASSIFICATION,
            PROBABILITY_SCORES,
        )
    else:
        full, ranking, calibrated = VALUE_METRICS, RANKING_VALUE, VALUE_SCORES
    return full if score_name in calibrated else {name: full[name] for name in ranking}


def evaluate_scores(
    target: str,
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    n_bootstrap: int,
    confidence: float,
    seed: int,
) -> Evaluation:
    """Metrics with intervals for every score; paired difference of model vs best baseline."""
    y = np.asarray(y, float)
    indices = bootstrap_indices(len(y), n_bootstrap, seed)
    rows = []
    for name, score in scores.items():
        for metric_name, metric in _metrics_for(target, name).items():
            result = metric_with_interval(metric, y, score, indices, confidence)
            rows.append({"score": name, "metric": metric_name, **result})
    table = pd.DataFrame(rows)
    headline = HEADLINE[target]
    baselines = [s for s in scores if s not in ("model", "oracle")]
    at_headline = table[(table["metric"] == headline) & table["score"].isin(baselines)]
    best = at_headline.sort_values("value", ascending=not HIGHER_IS_BETTER[headline]).iloc[0]
    metric = (CLASSIFICATION_METRICS | VALUE_METRICS)[headline]
    difference = paired_difference(
        metric, y, scores["model"], scores[best["score"]], indices, confidence
    )
    positives = float(y.mean()) if TASKS[target] == "classification" else float(y.sum())
    return Evaluation(target, headline, table, best["score"], difference, len(y), positives)


def summary(evaluation: Evaluation) -> dict:
    """The DVC metrics file: every score's metrics and the model-vs-baseline verdict inputs."""
    scores = {}
    for record in evaluation.table.to_dict("records"):
        scores.setdefault(record["score"], {})[record["metric"]] = {
            k: round(record[k], 6) for k in ("value", "ci_low", "ci_high")
        }
    return {
        "target": evaluation.target,
        "headline_metric": evaluation.headline,
        "holdout_rows": evaluation.n_rows,
        "holdout_positive_rate_or_total": round(evaluation.positives, 6),
        "scores": scores,
        "best_baseline": evaluation.best_baseline,
        "model_minus_best_baseline": {k: round(v, 6) for k, v in evaluation.difference.items()},
        **evaluation.extra,
    }
