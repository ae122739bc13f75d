"""The promotion gate on an evaluation: the champion, the challenger, the verdict's evidence and
the comparisons reported beside it."""

from __future__ import annotations

from functools import cache

import numpy as np

from models.evaluation import evaluate_scores
from models.horizon import ServedAtHorizon
from models.promotion import (
    judged_models,
    promote,
    runner_up,
    validation_gaps,
    verdict_for,
    versus,
)

COMPLEXITY = {"probabilistic": 0, "rfm": 0, "boosted_prior": 1, "xgboost": 2}


@cache  # promote() sets the champion afresh on each call
def _evaluation(xgboost_noise: float):
    rng = np.random.default_rng(0)
    n = 4000
    signal = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * signal))).astype(float)

    def noisy(scale: float) -> np.ndarray:
        return 1 / (1 + np.exp(-(signal + rng.normal(0, scale, n))))

    scores = {
        "probabilistic": noisy(1.5),
        "rfm": noisy(2.0),
        "boosted_prior": noisy(1.2),
        "xgboost": noisy(xgboost_noise),
        "recency": noisy(2.5),
    }
    return evaluate_scores("churn", y, scores, list(COMPLEXITY), 80, 0.95, seed=1)


def test_a_clearly_better_model_is_promoted_and_the_next_best_is_challenger():
    ev = promote(_evaluation(0.3), COMPLEXITY, min_difference=0.0)
    assert ev.champion == "xgboost" and runner_up(ev) == "boosted_prior"
    verdict = verdict_for(ev, {"version": "3", "value": 0.7})
    assert verdict["champion"] == "xgboost" and verdict["beats_baseline"]
    message = verdict["message"]
    assert message.startswith("xgboost serves (roc_auc 0.")
    assert "xgboost vs boosted_prior" in message and "replaced it" in message
    assert message.endswith("previous champion v3: 0.7000")


def test_an_unreachable_gate_keeps_the_simplest_best():
    ev = promote(_evaluation(0.3), COMPLEXITY, min_difference=1.0)
    assert ev.champion == "probabilistic"
    assert all(not step.replaced for step in ev.steps)
    assert "did not replace it" in verdict_for(ev, None)["message"]


def test_comparisons_beside_the_verdict():
    ev = promote(_evaluation(0.3), COMPLEXITY, min_difference=0.0)
    against = versus(ev, "probabilistic")
    assert set(against) == {"rfm", "boosted_prior", "xgboost"}
    assert against["xgboost"]["ci_low"] > 0 > against["rfm"]["ci_high"]
    assert versus(ev, "persistence") == {}
    trained = {"candidates": {n: {"best_validation": 0.9} for n in COMPLEXITY}}
    gaps = validation_gaps(ev, trained)
    holdout = round(ev.value("rfm", "roc_auc"), 6)
    assert gaps["rfm"] == {"validation": 0.9, "holdout": holdout, "gap": round(0.9 - holdout, 6)}


def test_an_unbacktested_horizon_is_judged_without_its_rescaling():
    inner = object()
    served = ServedAtHorizon(model=inner, target="propensity", served_days=60, trained_days=30)
    models = {"xgboost": served, "rfm": inner}
    assert judged_models(models, backtested=True) is models
    assert judged_models(models, backtested=False) == {"xgboost": inner, "rfm": inner}
