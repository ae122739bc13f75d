"""What a campaign added: outcomes after an export in its target and control groups, compared.

Intent to treat: every customer the campaign could reach (consenting, so in the activation
population) counts in the group the export drew, contacted or not. Each outcome is compared as a
difference of means, with Newcombe's hybrid score interval for rates (purchase, churn) and Welch's
t interval for means (orders, revenue); the relative lift's interval comes from the log of the
ratio (delta method). Revenue per customer is heavy-tailed, so its interval
is approximate in small groups; `scripts/bench_measurement.py` checks its coverage on simulated
campaigns. With the list of customers actually contacted, the effect on them is the
intent-to-treat effect divided by the contact rate of the target group (control customers are
never contacted), the Bloom estimator; its interval scales the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from scipy import stats

from models.control import TARGET

OUTCOMES = {  # outcome column -> metric name in the result, and whether it is a 0/1 outcome
    "purchased": ("purchase_rate", True),
    "orders": ("orders_per_customer", False),
    "revenue": ("revenue_per_customer", False),
    "churned": ("churn_rate", True),
}
CONTACT_METRICS = ("purchase_rate", "revenue_per_customer")


@dataclass(frozen=True)
class MeasureRules:
    confidence: float = 0.95
    min_days: int = 7  # a shorter window is too early to say anything
    min_group_customers: int = 50  # fewer in either group: too small to measure
    churn_horizon_days: int = 90  # churn is only measured once the window is this long
    cost_per_contact: float | None = None


def window_status(window_days: int, events_after: int, rules: MeasureRules) -> str | None:
    """Why it is too early to measure (None: it is not)."""
    if events_after == 0:
        return "no events after the export's as-of date yet"
    if window_days < rules.min_days:
        return f"the window is {window_days} days, shorter than campaign.min_days={rules.min_days}"
    return None


def customer_outcomes(population: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """``population`` (customer_id, segment, group, churn_eligible) with each customer's outcomes
    in the window ``events`` cover: purchased, orders, net revenue and churned (no order; only for
    customers the churn model covers)."""
    purchases = events[events["event_type"] == "purchase"]
    refunds = events[events["event_type"] == "refund"]
    orders = purchases.groupby("customer_id")["order_id"].nunique()
    spend = purchases.groupby("customer_id")["amount"].sum()
    spend = spend.sub(refunds.groupby("customer_id")["amount"].sum(), fill_value=0.0)
    ids = population["customer_id"]
    n_orders = ids.map(orders).fillna(0).astype(float).to_numpy()
    return population.assign(
        purchased=(n_orders > 0).astype(float),
        orders=n_orders,
        revenue=ids.map(spend).fillna(0.0).astype(float).to_numpy(),
        churned=np.where(population["churn_eligible"], (n_orders == 0).astype(float), np.nan),
    )


def difference(treated: np.ndarray, control: np.ndarray, confidence: float, binary: bool) -> dict:
    """Means in each group, their difference with an interval (Newcombe's hybrid score interval
    for a 0/1 outcome, Welch's t interval otherwise) and the relative lift."""
    treated, control = treated[~np.isnan(treated)], control[~np.isnan(control)]
    n_t, n_c = len(treated), len(control)
    if min(n_t, n_c) < 2:
        return {"status": "too small", "note": "fewer than 2 customers in a group it applies to"}
    m_t, m_c = float(treated.mean()), float(control.mean())
    v_t, v_c = float(treated.var(ddof=1)), float(control.var(ddof=1))
    interval = newcombe if binary else welch
    out = {"target": m_t, "control": m_c, "lift": m_t - m_c}
    out |= {"ci": interval((m_t, v_t, n_t), (m_c, v_c, n_c), confidence)}
    out |= {"relative_lift": None, "relative_ci": None}
    if m_t > 0 and m_c > 0:
        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        log_se = np.sqrt(v_t / (n_t * m_t**2) + v_c / (n_c * m_c**2))
        out["relative_lift"] = m_t / m_c - 1
        out["relative_ci"] = [
            float(np.exp(np.log(m_t / m_c) + s * z * log_se) - 1) for s in (-1, 1)
        ]
    return out | {"verdict": verdict(out["ci"])}


def welch(treated: tuple, control: tuple, confidence: float) -> list[float]:
    """Welch's interval of a difference of means from (mean, variance, n) per group, with the
    Welch-Satterthwaite degrees of freedom."""
    (m_t, v_t, n_t), (m_c, v_c, n_c) = treated, control
    a, b = v_t / n_t, v_c / n_c
    if a + b == 0:
        return [m_t - m_c, m_t - m_c]
    df = (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * np.sqrt(a + b))
    return [m_t - m_c - half, m_t - m_c + half]


def wilson(p: float, n: int, z: float) -> tuple[float, float]:
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def newcombe(treated: tuple, control: tuple, confidence: float) -> list[float]:
    """Newcombe's hybrid score interval of a difference of proportions (his method 10), which
    keeps its coverage when a group has few events, unlike the Wald interval."""
    (p_t, _, n_t), (p_c, _, n_c) = treated, control
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    (l_t, u_t), (l_c, u_c) = wilson(p_t, n_t, z), wilson(p_c, n_c, z)
    low = p_t - p_c - np.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = p_t - p_c + np.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    return [float(low), float(high)]


def verdict(ci: list[float]) -> str:
    if ci[0] > 0:
        return "increase"
    return "decrease" if ci[1] < 0 else "no detectable effect"


def scaled(effect: dict, factor: float) -> dict:
    """An effect's lift and interval times ``factor`` (e.g. per contacted customer)."""
    ci = sorted(v * factor for v in effect["ci"])
    return {"lift": effect["lift"] * factor, "ci": ci, "verdict": verdict(ci)}


def measure_group(frame: pd.DataFrame, contacted: set | None, rules: MeasureRules, window_days):
    """One segment's (or everyone's) comparison; counts only when a group is too small."""
    is_target = (frame["group"] == TARGET).to_numpy()
    n_target, n_control = int(is_target.sum()), int((~is_target).sum())
    result = {"target": n_target, "control": n_control}
    if min(n_target, n_control) < rules.min_group_customers:
        note = f"fewer than {rules.min_group_customers} customers in a group"
        return result | {"status": "too small", "note": note}
    metrics = {}
    for column, (name, binary) in OUTCOMES.items():
        values = frame[column].to_numpy(dtype=float)
        metrics[name] = difference(values[is_target], values[~is_target], rules.confidence, binary)
    if window_days < rules.churn_horizon_days:
        note = f"the window ({window_days} days) is shorter than the churn horizon"
        metrics["churn_rate"] = {
            "status": "too early",
            "note": f"{note} ({rules.churn_horizon_days})",
        }
    reached = _reached(frame, is_target, contacted)
    result |= {"status": "measured", "metrics": metrics, **reached}
    if reached["contact_rate"]:
        rate = reached["contact_rate"]
        result["effect_on_contacted"] = {m: scaled(metrics[m], 1 / rate) for m in CONTACT_METRICS}
    return result | money(metrics["revenue_per_customer"], n_target, reached["contacted"], rules)


def _reached(frame: pd.DataFrame, is_target: np.ndarray, contacted: set | None) -> dict:
    """How many target customers were contacted (all of them, without a list) and their share;
    contacted control customers are counted, as a sign the hold-out leaked."""
    if contacted is None:
        return {"contacted": int(is_target.sum()), "contact_rate": None}
    hit = frame["customer_id"].isin(contacted).to_numpy()
    return {
        "contacted": int((hit & is_target).sum()),
        "contact_rate": float((hit & is_target).sum() / is_target.sum()),
        "contacted_control": int((hit & ~is_target).sum()),
    }


def money(revenue_lift: dict, n_target: int, n_contacted: int, rules: MeasureRules) -> dict:
    """Incremental revenue of the whole target group and, with a cost per contact, the ROI."""
    total = scaled(revenue_lift, n_target)
    out = {"incremental_revenue": {"value": total["lift"], "ci": total["ci"]}}
    if rules.cost_per_contact is not None and n_contacted > 0:
        cost = rules.cost_per_contact * n_contacted
        roi = [(v - cost) / cost for v in (total["lift"], *total["ci"])]
        out |= {"cost": cost, "roi": {"value": roi[0], "ci": roi[1:], "note": "on revenue"}}
    return out


def measure(outcomes: pd.DataFrame, contacted: set | None, rules: MeasureRules, window_days: int):
    """Per segment (name order) and overall: groups, lifts with intervals, money."""
    parts = [("(all)", outcomes), *outcomes.groupby("segment", sort=True)]
    results = {}
    for name, frame in parts:
        results[str(name)] = measure_group(frame, contacted, rules, window_days)
    return {"overall": results.pop("(all)"), "segments": results}


def _interval(effect: dict | None, digits: int, key: str = "lift") -> str:
    if not effect or key not in effect:
        return (effect or {}).get("status", "")
    low, high = effect["ci"]
    return f"{effect[key]:+,.{digits}f} [{low:+,.{digits}f}, {high:+,.{digits}f}]"


def summary_frame(result: dict) -> pd.DataFrame:
    """One row per segment (overall first): groups, and each lift as ``lift [low, high]``, or
    why there is no number; the effect per contacted customer and the ROI when known."""
    rows = []
    for name, part in [("(all)", result["overall"]), *result["segments"].items()]:
        metrics = part.get("metrics", {})
        contacted = part.get("effect_on_contacted", {})
        rows.append(
            {
                "segment": name,
                "target": part["target"],
                "control": part["control"],
                "status": part["status"],
                "purchase rate lift": _interval(metrics.get("purchase_rate"), 3),
                "per contacted": _interval(contacted.get("purchase_rate"), 3),
                "revenue per customer lift": _interval(metrics.get("revenue_per_customer"), 2),
                "incremental revenue": _interval(part.get("incremental_revenue"), 0, "value"),
                "ROI": _interval(part.get("roi"), 2, "value"),
            }
        )
    frame = pd.DataFrame(rows)
    return frame.loc[:, (frame != "").any()]  # no column of blanks (no contact list, no cost)
