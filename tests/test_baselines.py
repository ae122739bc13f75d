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
