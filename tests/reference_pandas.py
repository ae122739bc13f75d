"""A plain pandas implementation of `engine.compute_features` for one cutoff.

It exists as a test oracle and as the baseline of `scripts/bench_features.py`: written
independently of the Ibis definitions (straightforward vectorised group-bys, one family at a
time), it must give the same columns and values. Use the Ibis definitions for real work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.definitions import ACTIVITY_TYPES, DAY_S, SEASONAL, FeatureRules


def _age_days(times: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Days before the cutoff from whole seconds, as the Ibis definitions count them."""
    return (as_of - times.dt.floor("s")).dt.total_seconds() / DAY_S


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator).where(denominator > 0)


def _orders(past: pd.DataFrame) -> pd.DataFrame:
    """One row per order: its age (latest line), value, items and lines."""
    lines = past[past["event_type"] == "purchase"]
    by = lines.astype({"quantity": "float64"}).groupby(["customer_id", "order_id"], sort=False)
    orders = {
        "age_days": by["age_days"].min(),
        "value": by["amount"].sum(),
        "items": by["quantity"].sum(min_count=1),  # unknown, not 0, when no line has a quantity
        "lines": by.size(),
    }
    return pd.DataFrame(orders).reset_index()


def _order_features(orders: pd.DataFrame, rules: FeatureRules) -> pd.DataFrame:
    by = orders.groupby("customer_id", sort=False)
    table = by.agg(
        orders_total=("value", "size"),
        spend_total=("value", "sum"),
        avg_order_value=("value", "mean"),
        max_order_value=("value", "max"),
        avg_items_per_order=("items", "mean"),
        avg_lines_per_order=("lines", "mean"),
        days_since_last_order=("age_days", "min"),
        days_since_first_order=("age_days", "max"),
    )
    for w in rules.order_windows_days:
        recent = orders[orders["age_days"] < w].groupby("customer_id", sort=False)["value"]
        table[f"orders_{w}d"] = recent.size()
        table[f"spend_{w}d"] = recent.sum()
    if rules.seasonal_window_days:
        age = orders["age_days"]
        season = (age <= 365) & (age > 365 - rules.seasonal_window_days)
        seasonal = orders[season].groupby("customer_id", sort=False)["value"]
        table[SEASONAL[0]] = seasonal.size()
        table[SEASONAL[1]] = seasonal.sum()
    return table


def _interval_features(orders: pd.DataFrame) -> pd.DataFrame:
    ordered = orders.sort_values(["customer_id", "age_days"], ascending=[True, False])
    gaps = ordered.groupby("customer_id", sort=False)["age_days"].diff().mul(-1).dropna()
    by = gaps.groupby(ordered.loc[gaps.index, "customer_id"], sort=False)
    return pd.DataFrame(
        {
            "mean_interorder_days": by.mean(),
            "std_interorder_days": by.std(ddof=0),
            "max_interorder_days": by.max(),
        }
    )


def _refund_features(past: pd.DataFrame) -> pd.DataFrame:
    refunds = past[past["event_type"] == "refund"]
    by = refunds.groupby("customer_id", sort=False)
    table = by.agg(refunds_total=("order_id", "nunique"), refund_amount_total=("amount", "sum"))
    recent = refunds[refunds["age_days"] < 90].groupby("customer_id", sort=False)
    table["refunds_90d"] = recent["order_id"].nunique()
    return table


def _category_features(past: pd.DataFrame) -> pd.DataFrame:
    lines = past[(past["event_type"] == "purchase") & past["category"].notna()]
    counts = lines.groupby(["customer_id", "category"], sort=False).size()
    shares = counts / counts.groupby(level="customer_id", sort=False).transform("sum")
    by = (shares**2).groupby(level="customer_id", sort=False)
    return pd.DataFrame({"categories_bought": by.size(), "category_concentration": by.sum()})


def _activity_features(past: pd.DataFrame, rules: FeatureRules) -> pd.DataFrame:
    columns = {}
    for kind in ACTIVITY_TYPES:
        of_kind = past[past["event_type"] == kind]
        for w in rules.activity_windows_days:
            recent = of_kind[of_kind["age_days"] < w]
            columns[f"{kind}_{w}d"] = recent.groupby("customer_id", sort=False).size()
        columns[f"days_since_last_{kind}"] = of_kind.groupby("customer_id")["age_days"].min()
    last_30d = past[past["age_days"] < 30]
    days = last_30d["event_time"].dt.tz_convert("UTC").dt.floor("D")
    columns["active_days_30d"] = days.groupby(last_30d["customer_id"]).nunique()
    return pd.DataFrame(columns)


def _population(past: pd.DataFrame, customers: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    known = customers.loc[customers["first_seen"] < as_of, "customer_id"]
    ids = pd.Index(pd.concat([known, past["customer_id"]]).unique(), name="customer_id")
    return pd.DataFrame({"as_of": as_of}, index=ids)


def _count_columns(columns) -> list[str]:
    prefixes = ("orders_", "spend_", "refund", "categories_") + ACTIVITY_TYPES
    return [c for c in columns if c.startswith(prefixes) or c == "active_days_30d"]


def _derived(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(
        net_spend_total=table["spend_total"] - table["refund_amount_total"],
        refund_rate=_ratio(table["refund_amount_total"], table["spend_total"]),
        order_trend_30_90=table["orders_30d"] - table["orders_90d"] / 3.0,
        spend_trend_90_365=table["spend_90d"] - table["spend_365d"] / 4.0,
        recency_over_interval=_ratio(table["days_since_last_order"], table["mean_interorder_days"]),
        email_click_rate_90d=_ratio(table["email_click_90d"], table["email_open_90d"]),
        cart_adds_per_order_90d=_ratio(table["add_to_cart_90d"], table["orders_90d"]),
    )


def reference_feature_table(
    events: pd.DataFrame, customers: pd.DataFrame, as_of: pd.Timestamp, rules: FeatureRules
) -> pd.DataFrame:
    """The feature table of `engine.compute_features` for one cutoff, sorted by customer_id."""
    as_of = pd.Timestamp(as_of).tz_convert("UTC").as_unit("us")
    past = events[events["event_time"] < as_of]
    past = past.assign(age_days=_age_days(past["event_time"], as_of))
    orders = _orders(past)
    families = [
        _order_features(orders, rules),
        _interval_features(orders),
        _refund_features(past),
        _category_features(past),
        _activity_features(past, rules),
    ]
    table = _population(past, customers, as_of).join(families, how="left")
    attributes = customers.set_index("customer_id")[["first_seen", *rules.attribute_columns]]
    table = table.join(attributes, how="left")
    table["tenure_days"] = _age_days(table.pop("first_seen"), as_of)
    counts = _count_columns(table.columns)
    table[counts] = table[counts].fillna(0)
    table = table.astype({c: np.float64 for c in counts if c.startswith(("spend_", "refund_"))})
    table = table.astype({c: np.int64 for c in counts if not c.startswith(("spend_", "refund_"))})
    return _derived(table).sort_index().reset_index()
