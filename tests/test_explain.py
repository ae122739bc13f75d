"""Per-customer SHAP reasons: exact, additive, signed, rendered from the catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.estimators import MISSING, CalibratedXGBClassifier, TweedieCLTVRegressor
from models.explain import contributions, reference_contributions, top_reasons


def _data(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "days_since_last_order": rng.exponential(60, n),
            "orders_total": rng.poisson(3, n).astype(float),
            "support_ticket_30d": rng.poisson(0.2, n).astype(float),
            "country": rng.choice(["FR", "DE", "ES"], n),
        }
    )
    X.loc[rng.random(n) < 0.1, "days_since_last_order"] = np.nan
    logit = (
        0.02 * X["days_since_last_order"].fillna(200)
        - 0.3 * X["orders_total"]
        + X["support_ticket_30d"]
    )
    churn = (rng.random(n) < 1 / (1 + np.exp(-(logit - 1)))).astype(int)
    value = rng.gamma(1, 20, n) * X["orders_total"].to_numpy() * (rng.random(n) < 0.5)
    return X, churn, value


@pytest.fixture(scope="module")
def models():
    X, churn, value = _data()
    half = len(X) // 2
    classifier = CalibratedXGBClassifier(n_estimators=60, max_depth=4).fit(
        X[:half], churn[:half], eval_set=(X[half:], churn[half:])
    )
    regressor = TweedieCLTVRegressor(n_estimators=60, max_depth=4).fit(
        X[:half], value[:half], eval_set=(X[half:], value[half:])
    )
    return X, classifier, regressor


@pytest.mark.parametrize("which", ["classifier", "regressor"])
def test_contributions_plus_base_reproduce_the_raw_margin(models, which):
    X, classifier, regressor = models
    model = classifier if which == "classifier" else regressor
    values, base = contributions(model, X)
    assert list(values.columns) == list(X.columns)
    np.testing.assert_allclose(values.sum(axis=1) + base, model.raw_margin(X), atol=1e-4)


@pytest.mark.parametrize("which", ["classifier", "regressor"])
def test_contributions_equal_xgboost_pred_contribs_with_missing_values(models, which):
    X, classifier, regressor = models
    model = classifier if which == "classifier" else regressor
    rows = X.head(400).copy()
    rows.loc[rows.index[::3], "support_ticket_30d"] = np.nan
    rows.loc[rows.index[::5], "country"] = "unseen in training"
    assert rows.isna().any().any()
    values, base = contributions(model, rows)
    expected, expected_base = reference_contributions(model, rows)
    np.testing.assert_allclose(values.to_numpy(), expected.to_numpy(), atol=1e-5)
    np.testing.assert_allclose(base, expected_base, atol=1e-5)


def test_contributions_equal_shap_tree_explainer(models):
    import shap

    X, classifier, _ = models
    values, _ = contributions(classifier, X.head(200))
    explainer = shap.TreeExplainer(classifier.trees_)
    expected = explainer.shap_values(classifier.encode(X.head(200)))
    np.testing.assert_allclose(values.to_numpy(), expected, atol=1e-4)


def test_top_reasons_are_the_largest_signed_contributions_with_phrases(models):
    X, classifier, _ = models
    values, _ = contributions(classifier, X.head(50))

    def render(feature, value):
        return f"{feature}={value}"

    reasons = top_reasons(values, X.head(50), render, k=2, prefix="churn")
    row = values.iloc[0]
    order = row.abs().sort_values(ascending=False, kind="stable").index
    assert reasons.loc[0, "churn_reason_1_feature"] == order[0]
    assert reasons.loc[0, "churn_reason_2_feature"] == order[1]
    assert reasons.loc[0, "churn_reason_1_contribution"] == pytest.approx(row[order[0]], abs=1e-6)
    raw = X.iloc[0][order[0]]
    expected_value = None if pd.isna(raw) else (f"{raw:.6g}" if isinstance(raw, float) else raw)
    assert reasons.loc[0, "churn_reason_1_value"] == expected_value
    assert reasons.loc[0, "churn_reason_1_phrase"].startswith(f"{order[0]}=")
    assert (
        reasons["churn_reason_1_contribution"].abs() >= reasons["churn_reason_2_contribution"].abs()
    ).all()


def test_unknown_category_is_missing_not_an_error(models):
    X, classifier, _ = models
    odd = X.head(3).assign(country=["XX", None, "FR"])
    encoded = classifier.encode(odd)
    assert (encoded["country"] == MISSING).tolist() == [True, True, False]
    assert np.isfinite(classifier.predict_proba(odd)).all()


def test_reasons_in_chunks_equal_reasons_in_one_pass(models, monkeypatch):
    from models import scoring

    X, classifier, _ = models

    def render(feature, value):
        return f"{feature}={value}"

    whole = scoring.explain_target("churn", classifier, X.head(250), render, 3)
    monkeypatch.setattr(scoring, "EXPLAIN_CHUNK_ROWS", 40)
    chunked = scoring.explain_target("churn", classifier, X.head(250), render, 3)
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked.index.equals(X.head(250).index)
