"""The fourth target, days to the next order: censored labels, its candidates, its baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.definitions import label_table
from features.engine import execute
from features.targets import spec
from models.baselines import baseline_scores
from models.probabilistic import RFM_INPUTS, summarize, target_prediction
from models.scorers import ProbabilisticScorer
from models.selection import make_scorer
from models.survival import AFTRegressor, concordance_index, median_calibration
from tests.test_features import AS_OF, RULES, tables  # noqa: F401 (fixture)
from tests.test_scorers import PARAMS, _customers

H = 90


def test_label_is_days_to_the_next_order_or_inf_when_censored(tables):  # noqa: F811
    con, events, customers = tables
    labels = execute(con, label_table(events, customers, AS_OF, {"next_order": H}, RULES))
    days = labels.set_index("customer_id")["next_order"]
    assert days["A"] == pytest.approx(9.0)  # o3 on 2024-03-10
    assert days["B"] == pytest.approx(19.0)  # o4 on 2024-03-20
    assert days["C"] == np.inf  # no order within the horizon: censored
    assert labels["churn"].isna().all()  # targets without a horizon stay empty


def test_a_shorter_horizon_censors_an_order_beyond_it(tables):  # noqa: F811
    con, events, customers = tables
    labels = execute(con, label_table(events, customers, AS_OF, {"next_order": 10}, RULES))
    days = labels.set_index("customer_id")["next_order"]
    assert days["A"] == pytest.approx(9.0) and days["B"] == np.inf


def _waits(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Exponential waits whose median is the BG/NBD one (non-buyers: long), censored at H."""
    rng = np.random.default_rng(seed)
    Z = frame[list(RFM_INPUTS)].to_numpy(float)
    median = np.nan_to_num(target_prediction(PARAMS, "days", H, Z), nan=4 * H)
    wait = rng.exponential(median / np.log(2))
    return np.where(wait <= H, np.maximum(wait, 1e-3), np.inf)


def test_probabilistic_candidate_calibrates_its_median_and_explains_exactly():
    train, valid = _customers(10_000, 1), _customers(10_000, 2)
    model = ProbabilisticScorer(target="next_order", bgnbd_params=PARAMS.to_dict(), horizon_days=H)
    model.fit(train, _waits(train, 3), eval_set=(valid, _waits(valid, 4)))
    test = _customers(10_000, 5)
    y, days = _waits(test, 6), model.predict(test)
    assert (days > 0).all()
    assert median_calibration(y, days, H) == pytest.approx(0.5, abs=0.05)  # ~1,000 judged
    assert concordance_index(y, days) > 0.6
    values, base = model.explain(test)
    np.testing.assert_allclose(values.sum(axis=1) + base, model.reason_value(days), atol=1e-9)


def test_customers_the_bgnbd_cannot_place_wait_longest():
    frame = _customers(400, 7)
    model = ProbabilisticScorer(target="next_order", bgnbd_params=PARAMS.to_dict(), horizon_days=H)
    model.fit(frame, _waits(frame, 8))
    buyer = summarize(frame[list(RFM_INPUTS)].to_numpy(float)).buyer
    days = model.predict(frame)
    assert days[~buyer].min() >= days[buyer].max()


def test_baselines_point_the_way_of_a_wait():
    frame = _customers(2000, 9)
    frame["spend_90d"] = frame["spend_365d"] / 4
    y = _waits(frame, 10)
    scores = baseline_scores(frame, "next_order", H, PARAMS)
    assert set(scores) == {*spec("next_order").baselines, "bgnbd"}
    buyer = frame["orders_total"] > 0
    # Prospects (no order to count from) wait longest under every simple score.
    for name in ("recency", "frequency", "rfm_score"):
        assert scores[name][~buyer.to_numpy()].min() >= scores[name][buyer.to_numpy()].max()
    assert concordance_index(y, scores["bgnbd"]) > concordance_index(y, -scores["bgnbd"])


def test_the_free_candidate_is_an_aft_model_at_the_target_horizon():
    model = make_scorer("next_order", "xgboost", {"max_depth": 3}, seed=1, horizon_days=H)
    assert isinstance(model, AFTRegressor) and model.horizon_days == H
    assert model.max_depth == 3 and model.random_state == 1


def test_its_bgnbd_median_is_its_own_input_but_no_other_targets():
    from models.frames import feature_columns

    frame = _customers(10, 11)
    column = spec("next_order").prior_column
    assert column in frame
    assert column in feature_columns(frame, "next_order")
    assert column not in feature_columns(frame, "churn")
    assert column in feature_columns(frame)  # scoring: what any target may read
