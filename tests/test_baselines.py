"""Baselines are oriented like their targets and never produce invalid probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.baselines import baseline_scores, rfm_score


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "days_since_last_order": [5.0, 200.0, np.nan],
            "orders_total": [10, 1, 0],
            "spend_total": [900.0, 20.0, 0.0],
            "spend_90d": [300.0, 0.0, 0.0],
            "spend_365d": [900.0, 20.0, 0.0],
            "bgnbd_p_no_order_churn": [0.1, 0.9, np.nan],
            "bgnbd_p_no_order_propensity": [0.5, 0.95, np.nan],
            "bgnbd_expected_value": [500.0, 10.0, np.nan],
        }
    )


def test_orientation_matches_each_target():
    X = _features()
    churn = baseline_scores(X.head(2), "churn", 90)
    assert all(score[1] > score[0] for score in churn.values())  # the lapsed buyer is riskier
    propensity = baseline_scores(X, "propensity", 30)
    assert all(score[0] > score[1] >= score[2] for score in propensity.values())
    value = baseline_scores(X, "cltv", 365)
    assert value["last_period_spend"][0] == 900.0  # a value prediction, scaled to the horizon


def test_missing_probabilities_become_zero_not_negative():
    scores = baseline_scores(_features(), "propensity", 30)
    assert scores["bgnbd"][2] == 0.0 and (scores["bgnbd"] >= 0).all()
    assert baseline_scores(_features(), "cltv", 365)["bgnbd_gamma_gamma"][2] == 0.0


def test_rfm_score_ranges_from_3_to_15_for_buyers_and_0_otherwise():
    score = rfm_score(_features())
    assert score.tolist()[2] == 0 and all(3 <= s <= 15 for s in score[:2])


def test_bgnbd_baseline_is_judged_at_the_holdout_horizon_when_parameters_are_given():
    from models.probabilistic import RFM_INPUTS, BGNBDParams, target_prediction

    params = BGNBDParams(r=0.7, alpha=40.0, a=0.8, b=5.0, p=6.0, q=3.0, v=20.0)
    X = pd.DataFrame(
        {
            "orders_total": [1.0, 3.0, 0.0],
            "days_since_last_order": [10.0, 50.0, np.nan],
            "days_since_first_order": [100.0, 300.0, np.nan],
            "avg_order_value": [20.0, 35.0, np.nan],
            "spend_total": [20.0, 105.0, 0.0],
            "spend_90d": [20.0, 0.0, 0.0],
            "spend_365d": [20.0, 105.0, 0.0],
            "bgnbd_expected_value": [1.0, 2.0, np.nan],  # computed at a shorter horizon
        }
    )
    scores = baseline_scores(X, "cltv", 365, params)
    expected = target_prediction(params, "value", 365, X[list(RFM_INPUTS)].to_numpy(float))
    np.testing.assert_allclose(scores["bgnbd_gamma_gamma"][:2], expected[:2])
    assert scores["bgnbd_gamma_gamma"][2] == 0.0  # no order yet: ranks lowest
