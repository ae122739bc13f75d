"""Days to the next order: concordance, median calibration, the AFT model, the BG/NBD median.

Labels: days to the next order within the horizon H, +inf when there is none (censored at H).
"""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone

from models.metrics import bootstrap_indices, metric_with_interval
from models.probabilistic import (
    RFM_INPUTS,
    BGNBDParams,
    Summary,
    bgnbd_median_days,
    p_no_order,
    summarize,
)
from models.survival import (
    AFTRegressor,
    concordance_index,
    kaplan_meier_median,
    median_calibration,
    median_calibration_table,
)
from models.tuning import PruningCallback

H = 90.0
# The AFT models train on one thread: with two OpenMP threads on two cores that other jobs keep
# busy, every boosting round waits for a descheduled thread (100x slower, any objective).
PARAMS = BGNBDParams(r=0.8, alpha=60.0, a=0.6, b=2.5)


def brute_force_concordance(y: np.ndarray, predicted: np.ndarray) -> float:
    """Harrell's C over all n^2 ordered pairs, straight from the definition."""
    predicted = np.where(np.isnan(predicted), np.inf, predicted)
    comparable = np.isfinite(y)[:, None] & (y[:, None] < y[None, :])
    score = (predicted[:, None] < predicted[None, :]) + 0.5 * (predicted[:, None] == predicted)
    return score[comparable].sum() / comparable.sum() if comparable.any() else np.nan


def simulate(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Exponential waiting times whose rate depends on two of three features, censored at H."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({c: rng.normal(size=n) for c in ("frequent", "lapsed", "noise")})
    rate = np.exp(-3.5 + 1.0 * X["frequent"] - 0.8 * X["lapsed"]).to_numpy()
    days = rng.exponential(1 / rate)
    return X, np.where(days <= H, days, np.inf), np.log(2) / rate


# --- concordance ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_concordance_equals_the_brute_force_definition_with_censoring_ties_and_nan(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    y = rng.integers(1, 8, n).astype(float)  # whole days: many ties
    y[rng.random(n) < rng.uniform(0, 0.6)] = np.inf
    predicted = rng.integers(0, 6, n).astype(float)
    predicted[rng.random(n) < 0.1] = np.nan
    predicted[rng.random(n) < 0.1] = np.inf
    expected = brute_force_concordance(y, predicted)
    assert concordance_index(y, predicted) == pytest.approx(expected, nan_ok=True, abs=1e-12)


def test_concordance_on_continuous_data_equals_brute_force():
    rng = np.random.default_rng(7)
    y = np.where(rng.random(800) < 0.3, np.inf, rng.exponential(30, 800))
    predicted = np.where(np.isfinite(y), y, 200) * rng.lognormal(0, 1, 800)
    expected = brute_force_concordance(y, predicted)
    assert concordance_index(y, predicted) == pytest.approx(expected, abs=1e-12)


def test_concordance_edge_cases():
    y = np.array([3.0, 10.0, 40.0, np.inf, np.inf])
    assert np.isnan(concordance_index(np.full(4, np.inf), [1.0, 2.0, 3.0, 4.0]))
    assert np.isnan(concordance_index([5.0, 5.0], [1.0, 2.0]))  # equal days: not comparable
    assert concordance_index(y, [1.0, 2.0, 3.0, 100.0, 100.0]) == 1.0
    assert concordance_index(y, [100.0, 50.0, 3.0, 2.0, 1.0]) == 0.0
    assert concordance_index(y, np.full(5, 7.0)) == 0.5
    assert concordance_index(y, [1.0, 2.0, 3.0, np.nan, np.nan]) == 1.0  # NaN is the longest
    # 9 comparable pairs: 3 vs 10 tied (one half), each observed day vs the censored 1 discordant
    assert concordance_index(y, [2.0, 2.0, 5.0, 1.0, 9.0]) == pytest.approx(5.5 / 9)


def test_concordance_rejects_labels_outside_the_convention():
    for bad in (np.nan, 0.0, -3.0):
        with pytest.raises(ValueError, match="days to next order"):
            concordance_index(np.array([1.0, bad]), np.array([1.0, 2.0]))


def test_concordance_works_with_the_bootstrap_of_models_metrics():
    rng = np.random.default_rng(3)
    y = np.where(rng.random(500) < 0.4, np.inf, rng.exponential(30, 500))
    predicted = np.where(np.isfinite(y), y, 120) + rng.normal(0, 30, 500)
    result = metric_with_interval(concordance_index, y, predicted, bootstrap_indices(500, 50, 1))
    assert 0.5 < result["ci_low"] < result["value"] < result["ci_high"] < 1


# --- median calibration --------------------------------------------------------------------------


def test_true_median_is_calibrated_and_a_biased_one_is_not():
    rng = np.random.default_rng(11)
    median = rng.lognormal(3, 1, 40_000)
    days = rng.exponential(median / np.log(2))
    y = np.where(days <= H, days, np.inf)
    assert median_calibration(y, median, H) == pytest.approx(0.5, abs=0.015)
    # half the median: P(T <= m / 2) = 1 - 2^-1/2 = 0.29; twice: 0.75
    assert median_calibration(y, median / 2, H) == pytest.approx(1 - 2**-0.5, abs=0.015)
    assert median_calibration(y, median * 2, H) == pytest.approx(0.75, abs=0.015)
    table = median_calibration_table(y, median, H, bins=4)
    assert table["customers"].sum() == (median <= H).sum()
    assert table["ordered_by_prediction"].between(0.45, 0.55).all()
    assert table["predicted_days_high"].max() <= H


def test_median_calibration_judges_only_predictions_within_the_horizon():
    y = np.array([5.0, np.inf, 50.0, np.inf])
    assert median_calibration(y, [10.0, 20.0, 100.0, np.nan], H) == 0.5
    assert np.isnan(median_calibration(y, [100.0, 200.0, 300.0, np.nan], H))
    assert median_calibration_table(y, [100.0, 200.0, 300.0, np.nan], H).empty


def test_kaplan_meier_median_without_censoring_is_the_sample_median():
    values = np.array([4.0, 1.0, 3.0, 2.0, 5.0])
    assert kaplan_meier_median(values, np.ones(5, bool)) == 3.0
    # censoring at 2 moves the median up: S = 0.8, 0.8 (censored), 0.533, 0.267
    assert kaplan_meier_median(values, values != 2.0) == 4.0
    assert kaplan_meier_median(values, np.zeros(5, bool)) == 0.0  # never reaches one half


# --- AFT model -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aft():
    X, y, true_median = simulate(6000, seed=0)
    train, valid, test = slice(0, 3000), slice(3000, 4500), slice(4500, None)
    model = AFTRegressor(horizon_days=H, n_estimators=300, n_jobs=1)  # 2 busy cores: see below
    model.fit(X[train], y[train], eval_set=(X[valid], y[valid]))
    return model, X, y, true_median, (train, valid, test)


def test_aft_ranks_and_calibrates_held_out_customers(aft):
    model, X, y, true_median, (_, _, test) = aft
    predicted = model.predict(X[test])
    assert (predicted > 0).all()
    c_index = concordance_index(y[test], predicted)
    assert c_index > 0.7
    assert c_index > concordance_index(y[test], true_median[test]) - 0.02  # near the oracle's
    assert median_calibration(y[test], predicted, H) == pytest.approx(0.5, abs=0.1)
    assert model.score(X[test], y[test]) == c_index


def test_aft_reasons_add_up_to_the_log_predicted_median(aft):
    model, X, *_ = aft
    rows = X.head(500).copy()
    rows.loc[rows.index[::4], "noise"] = np.nan
    values, base = model.explain(rows)
    assert list(values.columns) == list(X.columns)
    explained = model.reason_value(model.predict(rows))
    np.testing.assert_allclose(values.sum(axis=1) + base, explained, rtol=0, atol=1e-6)
    # the float64 margin is XGBoost's own float32 one, summed more precisely
    margin32 = model.trees_.predict(model.dmatrix(rows), output_margin=True)
    np.testing.assert_allclose(model.raw_margin(rows), margin32, rtol=0, atol=1e-4)


def test_aft_is_deterministic_given_random_state_and_clones(aft):
    model, X, y, _, (train, valid, test) = aft
    again = clone(model).fit(X[train], y[train], eval_set=(X[valid], y[valid]))
    np.testing.assert_array_equal(again.predict(X[test]), model.predict(X[test]))
    assert again.get_params() == model.get_params()
    other = clone(model).set_params(random_state=1)
    other.fit(X[train], y[train], eval_set=(X[valid], y[valid]))
    assert not np.array_equal(other.predict(X[test]), model.predict(X[test]))


def test_aft_reports_the_validation_loss_to_optuna_pruning_and_takes_constraints():
    X, y, _ = simulate(1500, seed=1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trial = optuna.create_study(direction="maximize").ask()
    model = AFTRegressor(
        n_estimators=40, early_stopping_rounds=None, monotone_constraints={"lapsed": 1}, n_jobs=1
    )
    model.fit(X[:1000], y[:1000], eval_set=(X[1000:], y[1000:]), callbacks=[PruningCallback(trial)])
    reported = trial.study.trials[0].intermediate_values
    assert sorted(reported) == [0, 25] and all(v < 0 for v in reported.values())  # -nloglik
    assert model.best_iteration_ == 39  # no early stopping: every tree
    grid = pd.DataFrame({"frequent": 0.0, "lapsed": np.linspace(-3, 3, 50), "noise": 0.0})
    assert (np.diff(model.predict(grid)) >= 0).all()


def test_aft_rejects_labels_beyond_the_horizon_and_unknown_distributions():
    X, y, _ = simulate(200, seed=2)
    with pytest.raises(ValueError, match="horizon_days=30"):
        AFTRegressor(horizon_days=30).fit(X, y)
    with pytest.raises(ValueError, match="aft_distribution"):
        AFTRegressor(aft_distribution="extreme").fit(X, y)


# --- BG/NBD median -------------------------------------------------------------------------------


def _summary(orders, since_last, since_first) -> Summary:
    Z = np.column_stack([orders, since_last, since_first, np.full(len(orders), 20.0)])
    return summarize(Z.astype(float))


def test_bgnbd_median_is_where_p_no_order_is_one_half():
    rng = np.random.default_rng(5)
    since_first = rng.uniform(10, 700, 2000)
    s = _summary(rng.integers(1, 15, 2000), since_first * rng.uniform(0, 1, 2000), since_first)
    days = bgnbd_median_days(PARAMS, s, horizon_days=H, cap_days=3650)
    below = days < 3650
    assert below.sum() > 100 and (~below).sum() > 100  # both regimes are exercised
    np.testing.assert_allclose(p_no_order(PARAMS, s, days)[below], 0.5, atol=1e-4)
    assert (p_no_order(PARAMS, s, 3650)[~below] >= 0.5).all()


def test_bgnbd_median_grows_with_recency_caps_the_gone_and_skips_non_buyers():
    since_last = np.array([1.0, 30.0, 60.0, 90.0, 299.0])
    s = _summary(np.full(5, 6), since_last, np.full(5, 300.0))
    days = bgnbd_median_days(PARAMS, s, horizon_days=H, cap_days=365)
    assert (np.diff(days[:4]) > 0).all() and days[3] < 365
    assert days[-1] == 365  # lapsed for 299 of 300 days: likely gone
    non_buyers = _summary(np.array([0.0, np.nan]), np.array([np.nan, 5.0]), np.array([5.0, 5.0]))
    assert np.isnan(bgnbd_median_days(PARAMS, non_buyers, H, 365)).all()
    with pytest.raises(ValueError, match="cap_days"):
        bgnbd_median_days(PARAMS, s, horizon_days=H, cap_days=30)
    assert list(RFM_INPUTS)[1] == "days_since_last_order"  # what _summary's column order assumes
