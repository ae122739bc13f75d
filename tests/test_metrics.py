"""Oracle tests for the evaluation metrics and their bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from models.metrics import (
    aggregate_bias_pct,
    bootstrap_indices,
    decile_mape,
    expected_calibration_error,
    metric_with_interval,
    normalized_gini,
    paired_difference,
    top10_value_share,
    top_decile_lift,
)

RNG = np.random.default_rng(0)
VALUE = RNG.gamma(0.5, 100, size=5000) * (RNG.random(5000) < 0.4)


def test_perfect_ranking_has_normalized_gini_one_and_random_about_zero():
    assert normalized_gini(VALUE, VALUE) == pytest.approx(1.0)
    assert normalized_gini(VALUE, VALUE * 3 + 1) == pytest.approx(1.0)  # only the order counts
    random = [normalized_gini(VALUE, RNG.random(len(VALUE))) for _ in range(20)]
    assert abs(np.mean(random)) < 0.03
    assert normalized_gini(VALUE, -VALUE) == pytest.approx(-1.0, abs=0.05)


def test_perfect_calibration_has_zero_ece_and_miscalibration_does_not():
    p = RNG.random(200_000)
    y = (RNG.random(len(p)) < p).astype(float)
    assert expected_calibration_error(y, p) < 0.01
    assert expected_calibration_error(y, np.clip(p + 0.2, 0, 1)) > 0.15
    assert expected_calibration_error(np.array([0, 1, 1, 0.0]), np.array([0, 1, 1, 0.0])) == 0


def test_lift_value_share_bias_and_decile_error():
    y = np.r_[np.ones(100), np.zeros(900)]
    assert top_decile_lift(y, y) == pytest.approx(10.0)
    assert top10_value_share(VALUE, VALUE) > top10_value_share(VALUE, RNG.random(len(VALUE)))
    assert aggregate_bias_pct(VALUE, VALUE * 1.1) == pytest.approx(10.0)
    assert decile_mape(VALUE, VALUE) == pytest.approx(0.0)


def test_bootstrap_interval_contains_the_estimate_and_identical_scores_differ_by_zero():
    y = (RNG.random(2000) < 0.3).astype(float)
    score = y + RNG.normal(0, 1, len(y))
    indices = bootstrap_indices(len(y), 200, seed=1)
    result = metric_with_interval(roc_auc_score, y, score, indices)
    assert result["ci_low"] < result["value"] < result["ci_high"]
    assert result["value"] == pytest.approx(roc_auc_score(y, score))
    same = paired_difference(roc_auc_score, y, score, score, indices)
    assert same == {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    better = paired_difference(roc_auc_score, y, y + RNG.normal(0, 0.3, len(y)), score, indices)
    assert better["ci_low"] > 0
