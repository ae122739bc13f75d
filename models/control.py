"""Control groups and power: who is held out of a campaign, and what it could show.

Every export puts each customer in ``target`` or ``control`` from a salted hash, so the split is
reproducible by anyone holding the salt and unpredictable to anyone else:

- ``fresh``: a new split per export, hash(salt, as_of, customer_id), stratified exactly by segment
  (within each segment, the ``round(share * n)`` customers with the smallest hash are control);
- ``persistent``: one universal control group, hash(salt, customer_id) < share, the same in every
  export and every segment until the salt changes, so those customers see no campaign at all.

Power is computed before the campaign, from each segment's group sizes and the predicted rate
and variance of the outcome: the minimum detectable effect (MDE) at 80% power and a 5% two-sided
level, ``(z_{1-a/2} + z_{power}) * sd * sqrt(1/n_target + 1/n_control)``.
"""

from __future__ import annotations

import hashlib
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd

from features.targets import EXPECTED_VALUE, NO_ORDER, ORDER, TARGETS, Target

TARGET, CONTROL = "target", "control"
ALPHA, POWER = 0.05, 0.80  # two-sided level and power of the MDE (issue 15: 80% power, 5% level)
Mode = Literal["fresh", "persistent"]


def outcome_targets() -> dict[str, Target]:
    """The targets whose predictions describe a campaign's outcomes, by what they predict: an
    order in the window (``order``), the spend (``value``), no order (``no_order``: churn)."""
    wanted = (ORDER, EXPECTED_VALUE, NO_ORDER)
    return {t.orientation: t for t in TARGETS.values() if t.orientation in wanted}


def derive_salt(salt: str, purpose: str) -> str:
    """A salt for one purpose from another salt: knowing one says nothing about the other."""
    return hashlib.sha256(f"{purpose}\0{salt}".encode()).hexdigest()


def unit_hash(salt: str, customer_ids: pd.Series, *parts: str) -> np.ndarray:
    """A uniform number in [0, 1) per customer from sha256(salt, parts, customer_id)."""
    prefix = "\0".join((salt, *parts, "")).encode()
    values = [
        int.from_bytes(hashlib.sha256(prefix + str(c).encode()).digest()[:8], "big")
        for c in customer_ids
    ]
    return np.asarray(values, dtype=np.float64) / 2.0**64


def assign_groups(
    segments: pd.DataFrame, salt: str, as_of: str, share: float, mode: Mode
) -> pd.Series:
    """``target`` or ``control`` per customer (index of ``segments``): ``share`` of each segment
    (``fresh``) or of everyone (``persistent``) in control."""
    if mode == "persistent":
        control = unit_hash(salt, segments["customer_id"], "universal") < share
        return pd.Series(np.where(control, CONTROL, TARGET), index=segments.index)
    draw = pd.Series(unit_hash(salt, segments["customer_id"], as_of), index=segments.index)
    rank = draw.groupby(segments["segment"].to_numpy()).rank(method="first")
    size = draw.groupby(segments["segment"].to_numpy()).transform("size")
    control = rank <= np.round(share * size)
    return pd.Series(np.where(control, CONTROL, TARGET), index=segments.index)


def group_counts(segments: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Customers per segment and group (both groups always named)."""
    table = pd.crosstab(segments["segment"], segments["group"])
    table = table.reindex(columns=[TARGET, CONTROL], fill_value=0)
    return {str(s): {g: int(n) for g, n in row.items()} for s, row in table.iterrows()}


def minimum_detectable_effect(sd: float, n_target: int, n_control: int) -> float:
    """Smallest true difference in means a two-sided test at `ALPHA` detects with `POWER`."""
    if min(n_target, n_control) < 1:
        return float("inf")
    return float(_z_sum() * sd * np.sqrt(1 / n_target + 1 / n_control))


def _z_sum() -> float:
    return NormalDist().inv_cdf(1 - ALPHA / 2) + NormalDist().inv_cdf(POWER)


def rate_mde(rate: float, n_target: int, n_control: int) -> float:
    """The MDE of a rise in a purchase rate: the difference whose own spread, a rate of ``rate``
    in control and ``rate + MDE`` in target, makes it detectable with `POWER` (a fixed point;
    the spread under no effect alone would promise more power than the test has)."""
    mde = minimum_detectable_effect(np.sqrt(rate * (1 - rate)), n_target, n_control)
    for _ in range(50):
        if not np.isfinite(mde) or rate + mde >= 1:
            return mde
        raised = rate + mde
        mde = _z_sum() * np.sqrt(rate * (1 - rate) / n_control + raised * (1 - raised) / n_target)
    return float(mde)


def predicted_outcomes(
    segments: pd.DataFrame, horizon_ratio: float, order_value_cv: float
) -> pd.DataFrame:
    """Per customer, the predicted purchase rate in the measurement window (the propensity
    horizon) and the mean and second moment of revenue in it: spend = CLTV scaled to the window,
    and, given a purchase, spread with coefficient of variation ``order_value_cv``."""
    columns = {k: t.score_column for k, t in outcome_targets().items()}
    rate = segments[columns[ORDER]].astype(float).fillna(0.0).clip(1e-3, 1.0)
    revenue = segments[columns[EXPECTED_VALUE]].astype(float).fillna(0.0).clip(lower=0)
    revenue *= horizon_ratio
    second_moment = revenue**2 * (1 + order_value_cv**2) / rate
    return pd.DataFrame(
        {"segment": segments["segment"], "group": segments["group"], "rate": rate}
        | {"revenue": revenue, "revenue_sq": second_moment}
    )


def power_table(
    segments: pd.DataFrame, horizons: dict[str, int], max_relative_mde: float, order_value_cv: float
) -> pd.DataFrame:
    """Per segment (and overall): group sizes, predicted purchase rate and revenue per customer
    over the purchase target's horizon (a window of that length), their MDE in absolute and
    relative terms, and whether the purchase-rate MDE is within ``max_relative_mde``.
    ``segments``: the customers a campaign may reach; ``horizons``: days per target."""
    targets = outcome_targets()
    horizon_days = horizons[targets[ORDER].name]
    horizon_ratio = horizon_days / horizons[targets[EXPECTED_VALUE].name]
    outcomes = predicted_outcomes(segments, horizon_ratio, order_value_cv)
    rows = [_power_row(name, frame) for name, frame in outcomes.groupby("segment", sort=True)]
    rows.append(_power_row("(all)", outcomes))
    table = pd.DataFrame(rows).assign(horizon_days=horizon_days)
    table["measurable"] = table["mde_purchase_rate_relative"] <= max_relative_mde
    return table


def _power_row(name: str, frame: pd.DataFrame) -> dict:
    n_target = int((frame["group"] == TARGET).sum())
    n_control = int((frame["group"] == CONTROL).sum())
    rate = float(frame["rate"].mean())
    revenue = float(frame["revenue"].mean())
    revenue_sd = float(np.sqrt(max(frame["revenue_sq"].mean() - revenue**2, 0.0)))
    mde_rate = rate_mde(rate, n_target, n_control)
    mde_revenue = minimum_detectable_effect(revenue_sd, n_target, n_control)
    return {
        "segment": name,
        "target": n_target,
        "control": n_control,
        "predicted_purchase_rate": rate,
        "mde_purchase_rate": mde_rate,
        "mde_purchase_rate_relative": mde_rate / rate,
        "predicted_revenue_per_customer": revenue,
        "mde_revenue_per_customer": mde_revenue,
        "mde_revenue_relative": mde_revenue / revenue if revenue > 0 else float("inf"),
    }
