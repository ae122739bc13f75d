"""Tiers, lifecycle stages, named segments and classic RFM groups from scores and features.

Every customer lands in exactly one named segment: the rule table is ordered, the first matching
rule wins, and its last rule must match everyone (checked when params are read).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.targets import TARGETS, Target

VALUE_TIERS = ("vip", "high", "medium", "low")
# How shop platforms label predicted spend (e.g. "predicted spend tier"): HIGH / MEDIUM / LOW.
VALUE_LEVEL = {"vip": "HIGH", "high": "HIGH", "medium": "MEDIUM", "low": "LOW"}


@dataclass(frozen=True)
class TierRules:
    churn_high: float = 0.6  # calibrated churn probability >= this: high risk
    churn_medium: float = 0.3
    propensity_high: float = 0.5
    propensity_medium: float = 0.2
    value_shares: tuple[float, float, float] = (0.05, 0.15, 0.30)  # vip, high, medium; rest low
    new_customer_days: int = 90
    lapsed_days: int = 180


@dataclass(frozen=True)
class SegmentRule:
    name: str
    when: dict[str, list[str]] = field(default_factory=dict)  # column -> allowed values

    def matches(self, frame: pd.DataFrame) -> pd.Series:
        mask = pd.Series(True, index=frame.index)
        for column, allowed in self.when.items():
            mask &= frame[column].isin(allowed)
        return mask


def _threshold_tier(p: pd.Series, high: float, medium: float) -> pd.Series:
    """high / medium / low by threshold; "n/a" where the model does not apply (missing)."""
    tiers = np.select([p.isna(), p >= high, p >= medium], ["n/a", "high", "medium"], "low")
    return pd.Series(tiers, index=p.index)


def value_tier(predicted_cltv: pd.Series, shares: tuple[float, float, float]) -> pd.Series:
    """Top 5% VIP, next 15% high, next 30% medium, rest low (ties broken by customer order)."""
    rank = predicted_cltv.rank(ascending=False, method="first") / len(predicted_cltv)
    edges = np.cumsum(shares)
    tiers = np.select(
        [rank <= edges[0], rank <= edges[1], rank <= edges[2]], VALUE_TIERS[:3], "low"
    )
    return pd.Series(tiers, index=predicted_cltv.index)


def lifecycle(features: pd.DataFrame, rules: TierRules) -> pd.Series:
    """prospect (never bought), new, lapsed (no order for a long while) or active."""
    orders = features["orders_total"].fillna(0)
    stage = np.select(
        [
            orders == 0,
            features["days_since_first_order"] <= rules.new_customer_days,
            features["days_since_last_order"] > rules.lapsed_days,
        ],
        ["prospect", "new", "lapsed"],
        "active",
    )
    return pd.Series(stage, index=features.index)


def target_tier(entry: Target, score: pd.Series, rules: TierRules) -> pd.Series:
    """A target's tier of each score by its rule: thresholds from ``rules``, or value shares."""
    if entry.tier_rule == "threshold":
        high, medium = (getattr(rules, f"{entry.name}_{level}") for level in ("high", "medium"))
        return _threshold_tier(score, high, medium)
    if entry.tier_rule == "value_shares":
        return value_tier(score, rules.value_shares)
    raise ValueError(f"target {entry.name}: unknown tier rule {entry.tier_rule!r}")


def assign_tiers(scores: pd.DataFrame, features: pd.DataFrame, rules: TierRules) -> pd.DataFrame:
    """Each target's tier by its rule (`target_tier`), the value level, and the lifecycle."""
    out = scores.copy()
    for entry in (t for t in TARGETS.values() if t.tier_rule is not None):
        out[entry.tier_column] = target_tier(entry, out[entry.score_column], rules)
        if entry.tier_rule == "value_shares":
            out["value_level"] = out[entry.tier_column].map(VALUE_LEVEL)
    out["lifecycle"] = lifecycle(features, rules).to_numpy()
    return out


def assign_segments(tiers: pd.DataFrame, rules: list[SegmentRule]) -> pd.Series:
    """Name of the first rule each customer matches (exactly one per customer)."""
    segment = pd.Series(pd.NA, index=tiers.index, dtype="string")
    for rule in rules:
        segment = segment.mask(segment.isna() & rule.matches(tiers), rule.name)
    if segment.isna().any():
        raise ValueError(
            f"{int(segment.isna().sum())} customers match no segment rule; "
            "the last rule must have no conditions (a catch-all)"
        )
    return segment


# Classic RFM groups by recency score and the mean of frequency and monetary scores (1-5 each).
_RFM_GROUPS = (
    ("Champions", (5, 5), (4, 5)),
    ("Loyal", (3, 5), (4, 5)),
    ("Potential loyalist", (4, 5), (2, 3)),
    ("New customers", (5, 5), (1, 1)),
    ("Promising", (4, 4), (1, 1)),
    ("Need attention", (3, 3), (2, 3)),
    ("About to sleep", (3, 3), (1, 2)),
    ("Cannot lose them", (1, 2), (5, 5)),
    ("At risk", (1, 2), (3, 4)),
    ("Hibernating", (2, 2), (1, 2)),
    ("Lost", (1, 1), (1, 2)),
)


def rfm_groups(features: pd.DataFrame) -> pd.Series:
    """Classic RFM group per customer, kept for continuity with RFM-based reporting."""

    def quintile(values: pd.Series) -> pd.Series:
        return np.ceil(values.rank(pct=True, method="average") * 5).clip(1, 5)

    buyers = features["orders_total"].fillna(0) > 0
    r = quintile(-features["days_since_last_order"].where(buyers))
    fm = np.round(
        (
            quintile(features["orders_total"].where(buyers))
            + quintile(features["spend_total"].where(buyers))
        )
        / 2
    )
    group = pd.Series("Other", index=features.index, dtype=object)
    assigned = pd.Series(False, index=features.index)
    for name, (r_low, r_high), (fm_low, fm_high) in _RFM_GROUPS:
        hit = buyers & ~assigned & r.between(r_low, r_high) & fm.between(fm_low, fm_high)
        group[hit], assigned = name, assigned | hit
    group[~buyers] = "No purchase yet"
    return group
