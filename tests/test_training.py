"""A candidate's settings and fits on hand-built folds (models.training)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from models.frames import Split
from models.training import fit_simple, xgboost_settings


def test_tuned_settings_are_completed_per_target():
    tuned = {"max_depth": 3}
    churn = xgboost_settings("churn", tuned, max_rounds=50, monotone=True, calibration="platt")
    assert churn == {
        "max_depth": 3,
        "n_estimators": 50,
        "monotone_constraints": {"days_since_last_order": 1, "orders_total": -1},
        "calibration": "platt",
    }
    cltv = xgboost_settings("cltv", tuned, max_rounds=50, monotone=False, calibration="platt")
    assert cltv == {"max_depth": 3, "n_estimators": 50}  # a value is not calibrated


class _Logistic(LogisticRegression):
    def fit(self, X, y, eval_set=None):  # the candidates' signature
        return super().fit(X, y)


def _split(n: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n)})
    y = pd.Series((X["a"] + rng.normal(scale=0.5, size=n) > 0).astype(int))
    return Split(X, y, pd.DataFrame({"customer_id": range(n)}))


def test_a_simple_candidate_reports_each_fold_and_is_fitted_on_the_latest():
    splits = [(_split(200, 0), _split(100, 1)), (_split(200, 2), _split(100, 3))]
    entry = fit_simple("churn", splits, lambda settings: _Logistic())
    assert len(entry["fold_validation"]) == 2
    assert entry["best_validation"] == pytest.approx(np.mean(entry["fold_validation"]), abs=1e-6)
    latest = _Logistic().fit(splits[0][0].X, splits[0][0].y)
    assert entry["model"].coef_ == pytest.approx(latest.coef_)
