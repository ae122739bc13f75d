"""Scoring policy on hand-built frames: who is scored for a target (its population), and who goes
to activation files (consent, and not held out as control)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from features.definitions import FeatureRules
from models.activation import activation_lists, with_consent
from models.population import in_population, within_population

RULES = FeatureRules(churn_lookback_days=365)


def test_churn_scores_only_customers_with_an_order_in_the_lookback():
    features = pd.DataFrame({"days_since_last_order": [10.0, 365.0, 366.0, np.nan]})
    assert in_population("churn", features, RULES).tolist() == [True, True, False, False]
    assert in_population("propensity", features, RULES) is None  # every known customer
    predictions = {"churn": np.array([0.1, 0.2, 0.3, 0.4]), "propensity": np.ones(4)}
    scored = within_population(predictions, features, RULES)
    np.testing.assert_array_equal(scored["churn"], [0.1, 0.2, np.nan, np.nan])
    assert scored["propensity"] is predictions["propensity"]


def _segments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "segment": ["Win back", "Loyal", "Win back", "Loyal"],
            "churn_tier": ["high", "low", "n/a", "low"],
            "propensity_tier": ["low", "high", "medium", "low"],
            "value_level": ["LOW", "HIGH", "LOW", "MEDIUM"],
            "expected_next_order_date": pd.to_datetime(["2026-01-05"] * 4),
            "predicted_cltv": [1.0, 2.0, 3.0, 4.0],
            "uplift_tier": ["high", "negative", "n/a", "low"],
        }
    )


def test_consent_is_joined_and_unknown_stays_missing():
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "marketing_consent": [1, 0, 1]})
    consent = with_consent(_segments(), customers)["marketing_consent"]
    assert consent.tolist() == [True, False, True, pd.NA]


def test_activation_lists_hold_consenting_target_customers_per_segment_in_name_order():
    segments = pd.concat([_segments(), _segments().iloc[[1]].assign(customer_id="e")])
    segments = segments.reset_index(drop=True).assign(
        marketing_consent=pd.array([True, False, True, pd.NA, True], dtype="boolean"),
        group=["target", "target", "target", "target", "control"],  # e: consents, held out
    )
    lists, excluded = activation_lists(segments)
    assert list(lists) == ["Win back"] and excluded == 2
    columns = ["customer_id", "segment", "churn_tier", "propensity_tier", "value_level"]
    expected = segments.loc[[0, 2], [*columns, "expected_next_order_date", "uplift_tier"]]
    assert_frame_equal(lists["Win back"], expected)
