"""Point-in-time feature and label definitions, written once in Ibis and run on any backend.

Features of a snapshot use only events with ``event_time < as_of``; labels use only events in
``[as_of, as_of + horizon)``. Time arithmetic is done on epoch seconds, so DuckDB and Spark agree
to the second whatever their session time zone. Nothing here executes: functions build expressions.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _

from features.contract import EVENT_TYPES, MONETARY_EVENT_TYPES

DAY_S = 86_400
ACTIVITY_TYPES = tuple(t for t in EVENT_TYPES if t not in MONETARY_EVENT_TYPES)


@dataclass(frozen=True)
class FeatureRules:
    order_windows_days: tuple[int, ...] = (7, 30, 90, 365)
    activity_windows_days: tuple[int, ...] = (30, 90)
    churn_lookback_days: int = 365
    attribute_columns: tuple[str, ...] = ("country", "acquisition_channel")


def _ts(moment: pd.Timestamp) -> ir.TimestampScalar:
    return ibis.timestamp(moment.tz_convert("UTC").tz_localize(None).isoformat(), timezone="UTC")


def _epoch(moment: pd.Timestamp) -> int:
    return int(moment.tz_convert("UTC").timestamp())


def history(events: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """Events strictly before the cutoff, with their age in days at the cutoff."""
    before = events.filter(events.event_time < _ts(as_of))
    age_s = _epoch(as_of) - before.event_time.epoch_seconds()
    return before.mutate(age_days=age_s.cast("float64") / DAY_S)


def orders_before(past: ir.Table) -> ir.Table:
    """One row per order: its age, value, items and lines (purchases are order lines)."""
    lines = past.filter(past.event_type == "purchase")
    return lines.group_by(["customer_id", "order_id"]).aggregate(
        age_days=_.age_days.min(),
        value=_.amount.sum(),
        items=_.quantity.sum(),
        lines=_.count(),
    )


def order_features(orders: ir.Table, rules: FeatureRules) -> ir.Table:
    windows = {}
    for w in rules.order_windows_days:
        windows[f"orders_{w}d"] = _.count(where=_.age_days < w)
        windows[f"spend_{w}d"] = _.value.sum(where=_.age_days < w)
    return orders.group_by("customer_id").aggregate(
        orders_total=_.count(),
        spend_total=_.value.sum(),
        avg_order_value=_.value.mean(),
        max_order_value=_.value.max(),
        avg_items_per_order=_.items.mean(),
        avg_lines_per_order=_.lines.mean(),
        days_since_last_order=_.age_days.min(),
        days_since_first_order=_.age_days.max(),
        **windows,
    )


def interval_features(orders: ir.Table) -> ir.Table:
    """Inter-order interval statistics (days between consecutive orders)."""
    by_customer = ibis.window(group_by="customer_id", order_by=ibis.desc("age_days"))
    gaps = orders.mutate(gap=_.age_days.lag().over(by_customer) - _.age_days)
    gaps = gaps.filter(gaps.gap.notnull())
    return gaps.group_by("customer_id").aggregate(
        mean_interorder_days=_.gap.mean(),
        std_interorder_days=_.gap.std(how="pop"),
        max_interorder_days=_.gap.max(),
    )


def refund_features(past: ir.Table) -> ir.Table:
    refunds = past.filter(past.event_type == "refund")
    return refunds.group_by("customer_id").aggregate(
        refunds_total=_.order_id.nunique(),
        refund_amount_total=_.amount.sum(),
        refunds_90d=_.order_id.nunique(where=_.age_days < 90),
    )


def category_features(past: ir.Table) -> ir.Table:
    """Breadth and concentration (Herfindahl index) of purchased categories."""
    lines = past.filter((past.event_type == "purchase") & past.category.notnull())
    per_category = lines.group_by(["customer_id", "category"]).aggregate(n=_.count())
    totals = per_category.group_by("customer_id").aggregate(total=_.n.sum())
    shares = per_category.join(totals, "customer_id").mutate(
        share_sq=(_.n.cast("float64") / _.total) ** 2
    )
    return shares.group_by("customer_id").aggregate(
        categories_bought=_.category.nunique(),
        category_concentration=_.share_sq.sum(),
    )


def activity_features(past: ir.Table, rules: FeatureRules) -> ir.Table:
    metrics = {}
    for kind in ACTIVITY_TYPES:
        is_kind = _.event_type == kind
        for w in rules.activity_windows_days:
            metrics[f"{kind}_{w}d"] = _.count(where=is_kind & (_.age_days < w))
        metrics[f"days_since_last_{kind}"] = _.age_days.min(where=is_kind)
    metrics["active_days_30d"] = past.event_time.date().nunique(where=past.age_days < 30)
    return past.group_by("customer_id").aggregate(**metrics)


def population(events: ir.Table, customers: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """Customers known at the cutoff: signed up or seen in an event before it."""
    seen = history(events, as_of).group_by("customer_id").aggregate(first_event=_.event_time.min())
    known = customers.filter(customers.first_seen < _ts(as_of)).select("customer_id")
    ids = known.union(seen.select("customer_id"), distinct=True)
    return ids.mutate(as_of=_ts(as_of))


def _safe_ratio(numerator, denominator):
    return ibis.ifelse(denominator > 0, numerator.cast("float64") / denominator, ibis.null())


def _count_columns(table: ir.Table) -> list[str]:
    """Counts and sums that are 0, not unknown, when a customer has no matching events."""
    prefixes = ("orders_", "spend_", "refund", "categories_") + ACTIVITY_TYPES
    return [c for c in table.columns if c.startswith(prefixes) or c == "active_days_30d"]


def _derived(table: ir.Table) -> ir.Table:
    return table.mutate(
        net_spend_total=_.spend_total - _.refund_amount_total,
        refund_rate=_safe_ratio(_.refund_amount_total, _.spend_total),
        order_trend_30_90=_.orders_30d - _.orders_90d / 3.0,
        spend_trend_90_365=_.spend_90d - _.spend_365d / 4.0,
        recency_over_interval=_safe_ratio(_.days_since_last_order, _.mean_interorder_days),
        email_click_rate_90d=_safe_ratio(_.email_click_90d, _.email_open_90d),
        cart_adds_per_order_90d=_safe_ratio(_.add_to_cart_90d, _.orders_90d),
    )


def feature_table(
    events: ir.Table, customers: ir.Table, as_of: pd.Timestamp, rules: FeatureRules
) -> ir.Table:
    """All feature families for one cutoff: one row per known customer, keyed by id and as_of."""
    past = history(events, as_of)
    orders = orders_before(past)
    table = population(events, customers, as_of)
    for family in (
        order_features(orders, rules),
        interval_features(orders),
        refund_features(past),
        category_features(past),
        activity_features(past, rules),
    ):
        table = table.left_join(family, "customer_id").drop("customer_id_right")
    attributes = customers.select("customer_id", "first_seen", *rules.attribute_columns)
    table = table.left_join(attributes, "customer_id").drop("customer_id_right")
    tenure_s = _epoch(as_of) - table.first_seen.epoch_seconds()
    table = table.mutate(tenure_days=tenure_s.cast("float64") / DAY_S).drop("first_seen")
    table = table.fill_null({c: 0 for c in _count_columns(table)})
    return _derived(table).order_by("customer_id")


def label_table(
    events: ir.Table,
    customers: ir.Table,
    as_of: pd.Timestamp,
    horizons_days: dict[str, int],
    rules: FeatureRules,
) -> ir.Table:
    """Targets for one cutoff from events in ``[as_of, as_of + horizon)`` only.

    churn: among customers with an order in the ``churn_lookback_days`` before the cutoff, no order
    in the churn horizon. propensity: among all known customers, an order in its horizon.
    cltv: net spend (purchases minus refunds, floored at 0) in its horizon.
    """
    last_order = (
        history(events, as_of)
        .filter(_.event_type == "purchase")
        .group_by("customer_id")
        .aggregate(days_since_last_order=_.age_days.min())
    )
    table = population(events, customers, as_of).left_join(last_order, "customer_id")
    table = table.drop("customer_id_right")
    for target, horizon in horizons_days.items():
        table = table.left_join(_future(events, as_of, horizon, target), "customer_id")
        table = table.drop("customer_id_right")
    table = table.fill_null({c: 0 for c in table.columns if c.startswith("future_")})
    eligible = table.days_since_last_order.notnull() & (
        table.days_since_last_order <= rules.churn_lookback_days
    )
    targets = {
        "churn": lambda: ibis.ifelse(
            eligible, (table.future_orders_churn == 0).cast("int8"), ibis.null("int8")
        ),
        "propensity": lambda: (table.future_orders_propensity > 0).cast("int8"),
        "cltv": lambda: ibis.greatest(table.future_net_cltv, 0.0),
    }
    missing = {
        "churn": ibis.null("int8"),
        "propensity": ibis.null("int8"),
        "cltv": ibis.null("float64"),
    }
    columns = {t: targets[t]() if t in horizons_days else missing[t] for t in targets}
    return table.select("customer_id", "as_of", churn_eligible=eligible, **columns).order_by(
        "customer_id"
    )


def _future(events: ir.Table, as_of: pd.Timestamp, horizon_days: int, target: str) -> ir.Table:
    end = as_of + pd.Timedelta(days=horizon_days)
    window = events.filter((events.event_time >= _ts(as_of)) & (events.event_time < _ts(end)))
    purchase, refund = window.event_type == "purchase", window.event_type == "refund"
    return window.group_by("customer_id").aggregate(
        **{
            f"future_orders_{target}": window.order_id.nunique(where=purchase),
            f"future_net_{target}": window.amount.sum(where=purchase).fill_null(0)
            - window.amount.sum(where=refund).fill_null(0),
        }
    )
