"""A campaign with known effects, simulated on an export: ground truth for measurement and uplift.

Each customer of the export gets two potential outcomes over the campaign window: without contact,
a purchase with the probability the export predicted (rescaled to the window); with contact, that
probability moved by an effect whose segment mean is set per segment (`CampaignSpec`) and which,
within a segment, is largest for customers who were undecided: ``uplift = c * p0 * (1 - p0)``. So
the effect is driven by what an uplift model can observe (segment, predicted purchase
probability) and the four classic kinds appear:

- persuadables: undecided customers in a segment with a positive effect;
- sure things: customers who buy anyway (p0 high), barely moved;
- lost causes: customers who will not buy (p0 low), barely moved;
- sleeping dogs: customers of a segment with a negative effect, whom contact puts off.

Buyers place ``1 + Poisson(extra_orders)`` orders of Gamma-distributed value around their own
mean order value (times ``1 + spend effect`` when contacted). Only consenting ``target``
customers can be contacted, and each is with probability ``reach``. `campaign_truth` holds the
potential outcomes (the injected effects), `draw_outcomes` one seeded draw per customer (fast:
no events), `outcome_events` the purchases as contract events after the export's as-of.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.contract import EVENT_COLUMNS

# Effects on the probability of buying in the window, by the default segments (params.yaml):
# at-risk and lapsed customers are persuadable, champions are sleeping dogs, the rest unmoved.
DEFAULT_PURCHASE_EFFECTS = {
    "At risk - high value": 0.06,
    "At risk": 0.04,
    "Win back": 0.05,
    "Likely first purchase": 0.03,
    "Promising new": 0.03,
    "Champions": -0.04,
    "Loyal": 0.0,
    "Prospects": 0.0,
    "Hibernating": 0.0,
}
# Effects to learn targeting from (`models.uplift`): larger, and the sleeping dogs are the likeliest
# buyers (champions, loyal), so ranking by purchase probability contacts them first while the
# persuadables are the mid-propensity at-risk and lapsed customers. The default effects, a few
# points, are the size real campaigns have; learning who they persuade needs far more customers
# than a 10% control group of the default shop holds (reports/bench_uplift.json).
HETEROGENEOUS_PURCHASE_EFFECTS = {
    "At risk - high value": 0.12,
    "At risk": 0.10,
    "Win back": 0.10,
    "Likely first purchase": 0.06,
    "Promising new": 0.05,
    "Champions": -0.10,
    "Loyal": -0.05,
    "Prospects": 0.0,
    "Hibernating": 0.0,
}
ORDER_VALUE_SHAPE = 4.0  # Gamma shape of one order's value around the customer's mean


@dataclass(frozen=True)
class CampaignSpec:
    """days: length of the window after the as-of; purchase_effects: segment -> mean change of
    the purchase probability of contacted customers (others 0); spend_effects: segment ->
    relative change of their order values; reach: share of activation customers contacted;
    baseline_horizon_days: horizon of the export's purchase_probability."""

    days: int = 30
    purchase_effects: dict[str, float] = field(default_factory=lambda: DEFAULT_PURCHASE_EFFECTS)
    spend_effects: dict[str, float] = field(default_factory=dict)
    reach: float = 1.0
    baseline_horizon_days: int = 30
    extra_orders: float = 0.3
    persuadable_min_uplift: float = 0.02


def campaign_truth(segments: pd.DataFrame, spec: CampaignSpec, order_value) -> pd.DataFrame:
    """Per customer: purchase probability and expected revenue without (0) and with (1) contact,
    their differences (the injected effects) and the customer's kind."""
    p = segments["purchase_probability"].astype(float).fillna(0.0).clip(0.0, 1.0 - 1e-9)
    p0 = 1 - (1 - p) ** (spec.days / spec.baseline_horizon_days)
    spread = p0 * (1 - p0)
    effect = segments["segment"].map(spec.purchase_effects).astype(float).fillna(0.0)
    mean_spread = spread.groupby(segments["segment"].to_numpy()).transform("mean")
    p1 = (p0 + effect / mean_spread.clip(lower=1e-9) * spread).clip(0.0, 1.0)
    spend = 1 + segments["segment"].map(spec.spend_effects).astype(float).fillna(0.0)
    per_buyer = (1 + spec.extra_orders) * np.asarray(order_value, dtype=float)
    truth = pd.DataFrame(
        {"customer_id": segments["customer_id"], "segment": segments["segment"], "p0": p0}
        | {"p1": p1, "order_value": order_value, "spend_factor": spend}
    )
    truth["uplift"] = p1 - p0
    truth["revenue0"], truth["revenue1"] = p0 * per_buyer, p1 * per_buyer * spend
    truth["revenue_uplift"] = truth["revenue1"] - truth["revenue0"]
    truth["kind"] = _kinds(truth, spec.persuadable_min_uplift)
    return truth


def _kinds(truth: pd.DataFrame, threshold: float) -> np.ndarray:
    return np.select(
        [truth["uplift"] >= threshold, truth["uplift"] <= -threshold, truth["p0"] >= 0.5],
        ["persuadable", "sleeping dog", "sure thing"],
        "lost cause",
    )


def contacted(segments: pd.DataFrame, reach: float, rng: np.random.Generator) -> np.ndarray:
    """Who the campaign reached: consenting target customers, each with probability ``reach``."""
    eligible = segments["marketing_consent"].fillna(False).to_numpy(dtype=bool)
    eligible &= (segments["group"] == "target").to_numpy()
    return eligible & (rng.random(len(segments)) < reach)


def draw_outcomes(truth: pd.DataFrame, treated: np.ndarray, extra_orders: float, rng):
    """One draw of each customer's orders and revenue in the window."""
    n = len(truth)
    p = np.where(treated, truth["p1"], truth["p0"])
    orders = np.where(rng.random(n) < p, 1 + rng.poisson(extra_orders, n), 0)
    mean = truth["order_value"].to_numpy(float) * np.where(treated, truth["spend_factor"], 1.0)
    shape = ORDER_VALUE_SHAPE * np.maximum(orders, 1)
    revenue = np.where(orders > 0, rng.gamma(shape, mean / ORDER_VALUE_SHAPE), 0.0)
    return pd.DataFrame(
        {"customer_id": truth["customer_id"].to_numpy(), "treated": treated}
        | {"orders": orders, "revenue": revenue}
    )


def outcome_events(outcomes: pd.DataFrame, start: str, days: int, rng) -> pd.DataFrame:
    """The drawn orders as purchase events (contract columns) in ``[start, start + days)``."""
    buyers = outcomes[outcomes["orders"] > 0]
    customer = np.repeat(buyers["customer_id"].to_numpy(), buyers["orders"])
    owner = np.repeat(np.arange(len(buyers)), buyers["orders"])
    weight = rng.gamma(ORDER_VALUE_SHAPE, 1.0, len(owner))
    share = weight / np.bincount(owner, weights=weight)[owner]
    amount = np.round(buyers["revenue"].to_numpy()[owner] * share, 2).clip(min=0.01)
    offset = pd.to_timedelta(np.round(rng.uniform(0, days * 86_400e6, len(owner))), unit="us")
    events = pd.DataFrame(
        {
            "customer_id": customer,
            "event_time": pd.Timestamp(start, tz="UTC") + offset,
            "event_type": "purchase",
            "order_id": [f"campaign-{start}-{i:07d}" for i in range(len(owner))],
            "amount": amount,
            "quantity": 1,
            "product_id": None,
            "category": None,
            "channel": "web",
        }
    )
    return events[list(EVENT_COLUMNS)].sort_values("event_time", kind="stable", ignore_index=True)


def simulate_campaign(segments: pd.DataFrame, spec: CampaignSpec, order_value, seed: int):
    """Truth, outcomes and events of one campaign on an export (``segments`` with ``group``,
    ``marketing_consent``, ``as_of``), seeded."""
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    truth = campaign_truth(segments, spec, order_value)
    treated = contacted(segments, spec.reach, rngs[0])
    outcomes = draw_outcomes(truth, treated, spec.extra_orders, rngs[1])
    start = str(segments["as_of"].iloc[0])[:10]
    return truth, outcomes, outcome_events(outcomes, start, spec.days, rngs[2])


def example_export(n: int, seed: int) -> pd.DataFrame:
    """An export-like frame without models (tests, benchmarks): segments of unequal size with
    their own purchase probabilities, predicted value, churn scores and 80% consent."""
    rng = np.random.default_rng(seed)
    names = list(DEFAULT_PURCHASE_EFFECTS)
    sizes = np.array([12, 10, 2, 6, 2, 7, 1, 40, 20], dtype=float)
    mean_rate = np.array([0.37, 0.2, 0.27, 0.24, 0.44, 0.68, 0.55, 0.05, 0.03])
    code = rng.choice(len(names), n, p=sizes / sizes.sum())
    rate = rng.beta(4 * mean_rate[code], 4 * (1 - mean_rate[code]))
    prospect = np.isin(np.array(names)[code], ["Prospects", "Likely first purchase"])
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(n)],
            "as_of": "2026-01-01",
            "churn_probability": np.where(prospect, np.nan, 1 - rate),
            "purchase_probability": rate,
            "predicted_cltv": rate * rng.gamma(3.0, 70.0 / 3.0, n) * 6,
            "segment": np.array(names)[code],
            "marketing_consent": rng.random(n) < 0.8,
        }
    )
