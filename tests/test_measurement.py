"""Measuring a campaign (`models.measurement`, `segments measure`) against simulated campaigns
whose effects are known (`synthetic.campaign`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.measurement import (
    MeasureRules,
    customer_outcomes,
    difference,
    measure,
    newcombe,
    summary_frame,
    welch,
    window_status,
)
from synthetic.campaign import CampaignSpec, example_export, outcome_events, simulate_campaign
from tests.campaign_coverage import coverage, measured_campaign

STRONG = CampaignSpec(
    purchase_effects={"At risk - high value": 0.15, "Champions": -0.12, "Hibernating": 0.0}
)


def test_outcomes_count_orders_net_revenue_and_churn_per_customer():
    population = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "segment": "s",
            "group": ["target", "control", "target"],
            "churn_eligible": [True, True, False],
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "x"],
            "event_type": ["purchase", "purchase", "refund", "page_view", "purchase"],
            "order_id": ["o1", "o2", "o1", None, "o9"],
            "amount": [30.0, 20.0, 5.0, np.nan, 99.0],
        }
    )
    out = customer_outcomes(population, events)
    assert out["orders"].tolist() == [2.0, 0.0, 0.0]
    assert out["revenue"].tolist() == [45.0, 0.0, 0.0]
    assert out["purchased"].tolist() == [1.0, 0.0, 0.0]
    assert out["churned"].tolist()[:2] == [0.0, 1.0] and np.isnan(out["churned"].iloc[2])


def test_intervals_match_known_values():
    # Newcombe (1998), table II: 56/70 vs 48/80, hybrid score interval 0.0524 to 0.3339
    low, high = newcombe((56 / 70, 0, 70), (48 / 80, 0, 80), 0.95)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    rng = np.random.default_rng(1)
    a, b = rng.gamma(0.5, 40, 60), rng.gamma(0.5, 30, 200)
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    got = welch((a.mean(), a.var(ddof=1), 60), (b.mean(), b.var(ddof=1), 200), 0.95)
    assert got == pytest.approx(list(expected), rel=1e-9)
    both = difference(a, b, 0.95, binary=False)
    assert both["lift"] == pytest.approx(a.mean() - b.mean())
    assert both["relative_lift"] == pytest.approx(a.mean() / b.mean() - 1)


def test_measured_lift_covers_the_injected_effect_and_finds_its_sign():
    result, injected, _ = measured_campaign(seed=5, n=20_000, spec=STRONG, share=0.5)
    verdicts = {}
    for segment in STRONG.purchase_effects:
        effect = result["segments"][segment]["metrics"]["purchase_rate"]
        low, high = effect["ci"]
        assert low <= injected.loc[segment, "uplift"] <= high, segment
        verdicts[segment] = effect["verdict"]
    assert verdicts == {
        "At risk - high value": "increase",
        "Champions": "decrease",  # sleeping dogs
        "Hibernating": "no detectable effect",
    }
    money = result["overall"]["incremental_revenue"]
    assert money["ci"][0] <= money["value"] <= money["ci"][1]


def test_the_effect_on_contacted_customers_undoes_partial_reach():
    spec = CampaignSpec(purchase_effects={"At risk - high value": 0.15}, reach=0.5)
    result, injected, frame = measured_campaign(seed=2, n=20_000, spec=spec, share=0.5)
    truth = injected.loc["At risk - high value", "uplift"]
    itt = result["segments"]["At risk - high value"]["metrics"]["purchase_rate"]
    assert itt["ci"][0] <= truth * 0.5 <= itt["ci"][1]  # intent to treat: half were reached
    contacted = set(frame.loc[frame["treated"], "customer_id"])
    rules = MeasureRules(cost_per_contact=0.5)
    again = measure(frame, contacted, rules, 30)["segments"]["At risk - high value"]
    assert again["contact_rate"] == pytest.approx(0.5, abs=0.03)
    assert again["contacted_control"] == 0
    per_contact = again["effect_on_contacted"]["purchase_rate"]
    assert per_contact["ci"][0] <= truth <= per_contact["ci"][1]
    assert per_contact["lift"] == pytest.approx(itt["lift"] / again["contact_rate"])
    cost = 0.5 * again["contacted"]
    money = again["incremental_revenue"]["value"]
    assert again["cost"] == cost and again["roi"]["value"] == pytest.approx((money - cost) / cost)


def _frame(n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "segment": "s",
            "group": np.where(np.arange(n) % 4 == 0, "control", "target"),
            "purchased": (rng.random(n) < 0.2).astype(float),
            "orders": rng.poisson(0.3, n).astype(float),
            "revenue": rng.gamma(0.3, 100, n),
            "churned": np.nan,
        }
    )


def test_too_early_and_too_small_say_so_instead_of_a_number():
    rules = MeasureRules(min_days=7, min_group_customers=50)
    assert "no events" in window_status(30, 0, rules)
    assert "shorter than campaign.min_days" in window_status(3, 10, rules)
    assert window_status(30, 10, rules) is None
    frame = _frame(150)  # about 38 control customers
    result = measure(frame, None, rules, 30)["overall"]
    assert result["status"] == "too small" and "metrics" not in result
    assert "fewer than 50" in result["note"]
    measured = measure(_frame(), None, rules, 30)["overall"]
    assert measured["metrics"]["churn_rate"]["status"] == "too early"
    row = summary_frame({"overall": measured, "segments": {"s": result}}).iloc[1]
    assert row["status"] == "too small" and row["purchase rate lift"] == ""


def test_events_of_a_simulated_campaign_give_the_drawn_outcomes():
    export = example_export(3000, seed=4).assign(group="target")
    export.loc[export.index[::10], "group"] = "control"
    truth, outcomes, events = simulate_campaign(
        export, CampaignSpec(days=20), np.full(3000, 50.0), 9
    )
    assert (
        events["event_time"]
        .between(pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-01-21", tz="UTC"))
        .all()
    )
    assert events["order_id"].is_unique and (events["amount"] > 0).all()
    population = export[["customer_id", "segment", "group"]].assign(churn_eligible=False)
    measured = customer_outcomes(population, events)
    np.testing.assert_array_equal(measured["orders"], outcomes["orders"])
    np.testing.assert_allclose(measured["revenue"], outcomes["revenue"], atol=0.01 * 8)
    assert not outcomes.loc[~export["marketing_consent"].to_numpy(), "treated"].any()
    assert not outcomes.loc[(export["group"] == "control").to_numpy(), "treated"].any()
    assert set(truth["kind"]) == {"persuadable", "sleeping dog", "sure thing", "lost cause"}
    assert outcome_events(outcomes.head(0), "2026-01-01", 20, np.random.default_rng(0)).empty


@pytest.mark.slow
def test_intervals_cover_the_injected_effect_and_zero_over_40_seeds():
    injected = coverage(range(40), 20_000, CampaignSpec())
    none = coverage(range(40, 80), 20_000, CampaignSpec(purchase_effects={}))
    for result in (injected, none):
        for metric, share in result["coverage"].items():
            assert 0.90 <= share <= 0.99, (metric, result)
