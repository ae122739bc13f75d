"""The champion per target: simplest first, replaced only by a candidate whose paired interval over
it lies above zero; every candidate judged on the same resamples."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluation import evaluate_scores
from models.selection import choose_champion

COMPLEXITY = {"probabilistic": 0, "rfm": 0, "boosted_prior": 1, "xgboost": 2}


def _holdout(n: int = 4000, seed: int = 0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * signal))).astype(float)

    def noisy(scale: float) -> np.ndarray:  # a probability: candidates are calibrated
        return 1 / (1 + np.exp(-(signal + rng.normal(0, scale, n))))

    return y, noisy


def test_a_clearly_better_ml_model_serves():
    y, noisy = _holdout()
    scores = {
        "probabilistic": noisy(1.5),
        "rfm": noisy(2.0),
        "boosted_prior": noisy(1.2),
        "xgboost": noisy(0.3),
        "recency": noisy(2.5),
    }
    ev = evaluate_scores("churn", y, scores, list(COMPLEXITY), 80, 0.95, seed=1)
    values = {n: ev.value(n, "roc_auc") for n in COMPLEXITY}
    champion, steps = choose_champion(values, ev.compare, COMPLEXITY)
    assert champion == "xgboost"
    assert [s.challenger for s in steps] == ["boosted_prior", "xgboost"]
    assert steps[-1].replaced and steps[-1].difference["ci_low"] > 0


def test_a_complex_candidate_within_noise_does_not_replace_the_simple_one():
    y, noisy = _holdout(seed=3)
    base = noisy(1.0)
    rng = np.random.default_rng(9)
    scores = {
        "probabilistic": base,
        "rfm": noisy(3.0),
        "boosted_prior": np.clip(base + rng.normal(0, 0.005, len(y)), 0, 1),  # prior + noise
        "xgboost": np.clip(base + rng.normal(0, 0.005, len(y)), 0, 1),
        "recency": noisy(2.5),
    }
    ev = evaluate_scores("churn", y, scores, list(COMPLEXITY), 80, 0.95, seed=1)
    values = {n: ev.value(n, "roc_auc") for n in COMPLEXITY}
    champion, steps = choose_champion(values, ev.compare, COMPLEXITY)
    assert champion == "probabilistic"
    assert not any(step.replaced for step in steps)
    # The served scorer is never worse than the best baseline's point estimate here.
    assert values[champion] >= ev.value(ev.best_baseline, "roc_auc")


def test_the_best_simple_candidate_starts_and_lower_is_better_is_respected():
    values = {"probabilistic": 0.70, "rfm": 0.72, "xgboost": 0.71}

    def compare(a, b):
        d = values[a] - values[b]
        return {"value": d, "ci_low": d - 0.005, "ci_high": d + 0.005}

    champion, steps = choose_champion(values, compare, COMPLEXITY)
    assert champion == "rfm" and steps[0].incumbent == "rfm" and not steps[0].replaced


def test_no_usable_candidate_is_an_error():
    with pytest.raises(ValueError, match="no candidate"):
        choose_champion({"rfm": float("nan")}, None, COMPLEXITY)


def test_every_candidate_is_compared_with_the_best_baseline_on_paired_resamples():
    y, noisy = _holdout(seed=5)
    scores = {"probabilistic": noisy(1.0), "xgboost": noisy(0.5), "recency": noisy(2.0)}
    ev = evaluate_scores("churn", y, scores, ["probabilistic", "xgboost"], 60, 0.95, seed=2)
    assert ev.best_baseline == "recency"
    assert set(ev.differences) == {"probabilistic", "xgboost"}
    again = ev.compare("xgboost", "recency")
    assert again == ev.differences["xgboost"]
    metrics = set(ev.table.loc[ev.table["score"] == "probabilistic", "metric"])
    assert {"ece", "brier"} <= metrics  # candidates are calibrated: full metrics apply
