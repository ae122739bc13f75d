"""Candidate scorers: the closed-form BG/NBD matches pymc-marketing, every scorer's reasons are
exact and additive, and the boosted-from-prior model starts from (and stays near) its prior."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.bgnbd import bgnbd_features, fit_bgnbd, fit_gamma_gamma, fit_params, rfm_summary
from models.probabilistic import (
    RFM_INPUTS,
    BGNBDParams,
    exact_shapley,
    expected_orders,
    expected_spend,
    horizon_ratio,
    p_no_order,
    summarize,
)
from models.scorers import (
    PersistenceScorer,
    PriorBoostedClassifier,
    PriorBoostedRegressor,
    ProbabilisticScorer,
    RFMScorer,
    prior_from_columns,
)

PARAMS = BGNBDParams(r=0.7, alpha=40.0, a=0.8, b=5.0, p=6.0, q=3.0, v=20.0)
HORIZONS = {"churn": 90, "propensity": 30, "cltv": 365, "next_order": 90}


def _customers(n: int, seed: int) -> pd.DataFrame:
    """Feature rows shaped like the feature table: buyers with a history, and prospects."""
    rng = np.random.default_rng(seed)
    orders = rng.poisson(2.0, n).astype(float)
    first = rng.uniform(20, 700, n)
    last = first * rng.uniform(0, 1, n) ** 2
    aov = rng.gamma(2.0, 15.0, n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "orders_total": orders,
            "days_since_last_order": np.where(orders > 0, last, np.nan),
            "days_since_first_order": np.where(orders > 0, first, np.nan),
            "avg_order_value": np.where(orders > 0, aov, np.nan),
            "spend_total": orders * aov,
            "spend_365d": np.where(last < 365, orders * aov * rng.uniform(0.3, 1, n), 0.0),
            "email_click_30d": rng.poisson(0.5, n).astype(float),
        }
    )
    columns, _ = bgnbd_features(frame, HORIZONS, params=PARAMS)
    return frame.join(columns.drop(columns="customer_id"))


def _labels(frame: pd.DataFrame, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    churn_p = frame["bgnbd_p_no_order_churn"].fillna(0.9).to_numpy()
    buy_p = 1 - frame["bgnbd_p_no_order_propensity"].fillna(0.97).to_numpy()
    value = frame["bgnbd_expected_value"].fillna(2.0).to_numpy() * rng.gamma(1.0, 1.0, len(frame))
    return {
        "churn": (rng.random(len(frame)) < churn_p).astype(int),
        "propensity": (rng.random(len(frame)) < buy_p).astype(int),
        "cltv": value * (rng.random(len(frame)) < 0.6) / 0.6,  # unbiased around the prior
    }


@pytest.fixture(scope="module")
def data():
    train, valid = _customers(4000, 1), _customers(3000, 2)
    return train, _labels(train, 3), valid, _labels(valid, 4)


@pytest.mark.slow
def test_closed_forms_equal_pymc_marketing():
    frame = _customers(1500, 5)
    summary = rfm_summary(frame)
    params = fit_params(summary)
    bg, gg = fit_bgnbd(summary), fit_gamma_gamma(summary)
    data = summary[["customer_id", "frequency", "recency", "T"]]
    s = summarize(frame.loc[frame["orders_total"] > 0, list(RFM_INPUTS)].to_numpy(float))
    theirs = {
        "p_no_order": bg.expected_probability_no_purchase(t=90, data=data),
        "orders": bg.expected_purchases(data=data, future_t=365),
        "spend": gg.expected_customer_spend(data=summary.drop(columns=["recency", "T"])),
    }
    ours = {
        "p_no_order": p_no_order(params, s, 90),
        "orders": expected_orders(params, s, 365),
        "spend": expected_spend(params, s),
    }
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], np.ravel(value.mean(("chain", "draw"))), rtol=1e-9)


def test_exact_shapley_is_additive_and_fair():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(50, 4))
    reference = np.array([0.5, -1.0, 2.0, 0.0])

    def f(z):
        return 2 * z[:, 0] + z[:, 1] * z[:, 2] + np.maximum(z[:, 3], 0)

    phi, base = exact_shapley(f, Z, reference)
    np.testing.assert_allclose(phi.sum(axis=1) + base, f(Z), atol=1e-12)
    np.testing.assert_allclose(phi[:, 0], 2 * (Z[:, 0] - reference[0]), atol=1e-12)
    # The interaction z1*z2 is shared equally between its two inputs.
    inter = Z[:, 1] * Z[:, 2] - reference[1] * reference[2]
    np.testing.assert_allclose(phi[:, 1] + phi[:, 2], inter, atol=1e-12)
    # An input the function ignores gets exactly zero.
    phi, _ = exact_shapley(lambda z: z[:, 0] ** 2, Z, reference)
    assert np.all(phi[:, 1:] == 0)


def test_horizon_ratio_rescales_to_the_longer_horizon():
    frame = _customers(300, 6)
    Z = frame[list(RFM_INPUTS)].to_numpy(float)
    s = summarize(Z)
    ratio = horizon_ratio(PARAMS, "value", 365, 90, Z)
    buyers = s.buyer
    expected = expected_orders(PARAMS, s, 365) / expected_orders(PARAMS, s, 90)
    np.testing.assert_allclose(ratio[buyers], expected[buyers])
    assert (ratio[buyers] > 1).all() and (ratio[~buyers] == 1).all()
    no_order = horizon_ratio(PARAMS, "no_order", 365, 90, Z)
    assert ((no_order[buyers] > 0) & (no_order[buyers] <= 1)).all()


@pytest.mark.parametrize("target", ["churn", "propensity", "cltv"])
def test_probabilistic_scorer_reasons_add_up_and_match_its_prior(data, target):
    train, y_train, valid, y_valid = data
    rows = valid[valid["orders_total"] > 0] if target == "churn" else valid
    y = y_valid[target][rows.index]
    scorer = ProbabilisticScorer(
        target=target, bgnbd_params=PARAMS.to_dict(), horizon_days=HORIZONS[target]
    ).fit(train, y_train[target], eval_set=(rows, y))
    values, base = scorer.explain(rows)
    assert list(values.columns) == list(RFM_INPUTS)
    explained = scorer._explained(rows[list(RFM_INPUTS)].to_numpy(float))
    np.testing.assert_allclose(values.sum(axis=1) + base, explained, atol=1e-9)
    # Fixed parameters and the per-cutoff columns agree when both come from the same fit.
    prior = prior_from_columns(target, rows)
    own = np.isfinite(prior)
    from models.probabilistic import target_prediction

    fixed = target_prediction(PARAMS, scorer_kind(target), HORIZONS[target], rows[list(RFM_INPUTS)])
    np.testing.assert_allclose(fixed[own], prior[own], rtol=1e-12)
    if target == "cltv":
        prediction = scorer.predict(rows)
        assert prediction.sum() == pytest.approx(float(np.sum(y)), rel=1e-6)
    else:
        p = scorer.predict_proba(rows)[:, 1]
        assert ((p > 0) & (p < 1)).all()
        buyer = rows["orders_total"].to_numpy() > 0
        if (~buyer).any():  # no order yet: ranked last, as by the BG/NBD baseline
            assert p[~buyer].max() <= p[buyer].min() + 1e-12


def scorer_kind(target: str) -> str:
    from features.targets import spec

    return spec(target).orientation


@pytest.mark.parametrize("target", ["churn", "propensity", "cltv"])
def test_rfm_scorer_is_monotone_in_the_right_direction_and_additive(data, target):
    train, y_train, valid, y_valid = data
    scorer = RFMScorer(target=target).fit(train, y_train[target], eval_set=(valid, y_valid[target]))
    values, base = scorer.explain(valid)
    predicted = scorer.predict_proba(valid)[:, 1] if target != "cltv" else scorer.predict(valid)
    np.testing.assert_allclose(values.sum(axis=1) + base, predicted, atol=1e-9)
    score = scorer.score(valid[list(scorer.inputs)].to_numpy(float))
    order = np.argsort(score, kind="stable")
    step = np.diff(predicted[order])
    assert (step <= 1e-12).all() if target == "churn" else (step >= -1e-12).all()
    assert (score[valid["orders_total"].to_numpy() == 0] == 0).all()


def test_persistence_scales_last_period_spend_to_the_validation_total(data):
    train, y_train, valid, y_valid = data
    scorer = PersistenceScorer(target="cltv", horizon_days=365).fit(
        train, y_train["cltv"], eval_set=(valid, y_valid["cltv"])
    )
    predicted = scorer.predict(valid)
    assert predicted.sum() == pytest.approx(y_valid["cltv"].sum(), rel=1e-9)
    np.testing.assert_allclose(predicted, scorer.scale_ * valid["spend_365d"].to_numpy())
    values, base = scorer.explain(valid)
    np.testing.assert_allclose(values["spend_365d"] + base, predicted, atol=1e-9)


@pytest.mark.parametrize("target", ["churn", "cltv"])
def test_boosted_from_prior_starts_at_the_prior_and_explains_exactly(data, target):
    train, y_train, valid, y_valid = data
    buyers = (lambda f: f[f["orders_total"] > 0]) if target == "churn" else (lambda f: f)
    X, Xv = buyers(train), buyers(valid)
    y, yv = y_train[target][X.index], y_valid[target][Xv.index]
    features = [*RFM_INPUTS, "spend_total", "spend_365d", "email_click_30d"]
    kind = PriorBoostedClassifier if target == "churn" else PriorBoostedRegressor
    model = kind(
        target=target,
        bgnbd_params=PARAMS.to_dict(),
        horizon_days=HORIZONS[target],
        n_estimators=40,
        max_depth=3,
    )
    model.fit(X[features + [c for c in X if c.startswith("bgnbd_")]], y, eval_set=(Xv, yv))
    Zv = Xv[list(RFM_INPUTS)].to_numpy(float)
    # Labels drawn from the prior itself: the trees' correction stays small.
    assert np.abs(model.correction(Xv)).mean() < 0.25
    np.testing.assert_allclose(model.raw_margin(Xv), model.prior_margin(Zv) + model.correction(Xv))
    values, base = model.explain(Xv)
    np.testing.assert_allclose(values.sum(axis=1) + base, model.raw_margin(Xv), atol=1e-4)


@pytest.mark.parametrize("target", ["churn", "propensity", "cltv"])
def test_served_at_a_longer_horizon_rescales_by_bgnbd_and_still_explains_exactly(data, target):
    from features.targets import spec
    from models.horizon import HORIZON_REASON, ServedAtHorizon, rescale
    from models.probabilistic import target_prediction

    train, y_train, valid, y_valid = data
    rows = valid[valid["orders_total"] > 0] if target == "churn" else valid
    y = y_valid[target][rows.index]
    inner = ProbabilisticScorer(target=target, bgnbd_params=PARAMS.to_dict(), horizon_days=30).fit(
        train, y_train[target], eval_set=(rows, y)
    )
    served = ServedAtHorizon(
        model=inner,
        target=target,
        bgnbd_params=PARAMS.to_dict(),
        served_days=120,
        trained_days=30,
    ).fitted()
    Z = rows[list(RFM_INPUTS)].to_numpy(float)
    short = inner.predict(rows) if target == "cltv" else inner.predict_proba(rows)[:, 1]
    long = served.predict(rows) if target == "cltv" else served.predict_proba(rows)[:, 1]
    buyers = rows["orders_total"].to_numpy() > 0
    kind = spec(target).orientation
    ratio = target_prediction(PARAMS, kind, 120, Z) / target_prediction(PARAMS, kind, 30, Z)
    if target == "cltv":
        np.testing.assert_allclose(long[buyers], short[buyers] * ratio[buyers], rtol=1e-9)
        np.testing.assert_allclose(long[~buyers], short[~buyers] * 4, rtol=1e-9)
    elif target == "churn":
        assert (long <= short + 1e-12).all()  # more time to order: less likely to have none
    else:
        assert (long >= short - 1e-12).all() and (long <= 1).all()
    values, base = served.explain(rows)
    assert HORIZON_REASON in values
    np.testing.assert_allclose(
        values.sum(axis=1) + base, inner.reason_value(long), rtol=1e-7, atol=1e-7
    )
    same = rescale(target, short, Z, PARAMS, 30, 30)
    np.testing.assert_array_equal(same, short)


def test_monotone_constraints_hold_for_the_boosted_model(data):
    from features.targets import spec

    train, y_train, valid, y_valid = data
    X, Xv = train[train["orders_total"] > 0], valid[valid["orders_total"] > 0]
    model = PriorBoostedClassifier(
        target="churn",
        bgnbd_params=PARAMS.to_dict(),
        horizon_days=90,
        n_estimators=40,
        max_depth=3,
        monotone_constraints=spec("churn").monotone,
    )
    features = [*RFM_INPUTS, "spend_total", "email_click_30d"]
    bgnbd = [c for c in X if c.startswith("bgnbd_")]
    model.fit(
        X[features + bgnbd], y_train["churn"][X.index], eval_set=(Xv, y_valid["churn"][Xv.index])
    )
    row = Xv.iloc[[0] * 50].copy()
    row["days_since_last_order"] = np.linspace(1, 600, 50)
    row["days_since_first_order"] = 700.0  # recency stays within the customer's age
    correction = model.correction(row)
    assert (np.diff(correction) >= -1e-6).all()  # the trees never lower churn as recency grows
