"""Tiers, lifecycle, the ordered segment rule table and RFM groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.segmentation import (
    SegmentRule,
    TierRules,
    assign_segments,
    assign_tiers,
    rfm_groups,
    value_tier,
)
from pipelines.config import ScoreParams, load_params
from tests.conftest import REPO

RULES = TierRules()


def _customers(n: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    orders = rng.poisson(2, n) * (rng.random(n) < 0.7)
    last = np.where(orders > 0, rng.uniform(1, 400, n), np.nan)
    features = pd.DataFrame(
        {
            "orders_total": orders,
            "days_since_last_order": last,
            "days_since_first_order": np.where(orders > 0, last + rng.uniform(0, 300, n), np.nan),
            "spend_total": orders * rng.gamma(2, 40, n),
        }
    )
    churn = np.where(orders > 0, rng.random(n), np.nan)
    scores = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "churn_probability": churn,
            "purchase_probability": rng.random(n),
            "predicted_cltv": rng.gamma(0.5, 100, n),
        }
    )
    return scores, features


def test_thresholds_and_value_shares():
    scores, features = _customers()
    tiers = assign_tiers(scores, features, RULES)
    churn = tiers["churn_probability"]
    assert (tiers.loc[churn >= 0.6, "churn_tier"] == "high").all()
    assert (tiers.loc[churn.between(0.3, 0.6, inclusive="left"), "churn_tier"] == "medium").all()
    assert (tiers.loc[churn.isna(), "churn_tier"] == "n/a").all()
    shares = tiers["value_tier"].value_counts(normalize=True)
    assert shares["vip"] == pytest.approx(0.05) and shares["high"] == pytest.approx(0.15)
    assert shares["medium"] == pytest.approx(0.30) and shares["low"] == pytest.approx(0.50)
    vip_floor = tiers.loc[tiers["value_tier"] == "vip", "predicted_cltv"].min()
    assert vip_floor >= tiers.loc[tiers["value_tier"] == "high", "predicted_cltv"].max()
    assert set(tiers["value_level"]) == {"HIGH", "MEDIUM", "LOW"}
    assert set(tiers["lifecycle"]) <= {"prospect", "new", "active", "lapsed"}
    assert (tiers.loc[features["orders_total"] == 0, "lifecycle"] == "prospect").all()


def test_default_rule_table_gives_every_customer_exactly_one_segment():
    params = load_params(REPO / "params.yaml")
    scores, features = _customers(5000, seed=3)
    tiers = assign_tiers(scores, features, params.score.tiers)
    segment = assign_segments(tiers, params.score.segments)
    assert segment.notna().all() and len(segment) == len(tiers)
    first_rule = params.score.segments[0]
    assert (segment[first_rule.matches(tiers)] == first_rule.name).all()  # first match wins
    assert segment.nunique() >= 6


def test_rule_table_without_catch_all_is_rejected():
    rules = [{"name": "Champions", "when": {"value_tier": ["vip"]}}]
    with pytest.raises(ValidationError, match="catch-all"):
        ScoreParams.model_validate(
            {**load_params(REPO / "params.yaml").score.model_dump(), "segments": rules}
        )
    tiers = pd.DataFrame({"value_tier": ["vip", "low"]})
    with pytest.raises(ValueError, match="1 customers match no segment rule"):
        assign_segments(tiers, [SegmentRule("Champions", {"value_tier": ["vip"]})])


def test_value_tier_is_stable_under_ties():
    tiers = value_tier(pd.Series([5.0] * 20), (0.05, 0.15, 0.30))
    assert tiers.tolist() == ["vip"] + ["high"] * 3 + ["medium"] * 6 + ["low"] * 10


def test_rfm_groups_cover_buyers_and_mark_non_buyers():
    _, features = _customers()
    groups = rfm_groups(features)
    assert (groups[features["orders_total"] == 0] == "No purchase yet").all()
    best = features["orders_total"].idxmax()
    assert groups[features["orders_total"] > 0].ne("No purchase yet").all()
    assert groups[best] in {"Champions", "Loyal", "Cannot lose them", "At risk", "Other"}
