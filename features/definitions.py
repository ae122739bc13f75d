"""Point-in-time feature and label definitions, written once in Ibis and run on any backend.

Features of a snapshot use only events with ``event_time < as_of``; labels use only events in
``[as_of, as_of + horizon)``. Time arithmetic is done on epoch seconds, so DuckDB and Spark agree
to the second whatever their session time zone. Nothing here executes: functions build expressions.

Events are grouped and joined on ``customer_key`` and ``event_type_code``, the integer surrogates
the validated layer stores beside ``customer_id`` and ``event_type`` (see
`features.engine.with_surrogate_keys`): hashing integers instead of text roughly halves the cost of
the aggregation over every event. The id comes back from the customers table at the end.

A snapshot is four queries (`feature_queries`), each with at most one row per customer key (per
key and event type for activity). `features.engine.compute_features` runs them and places every
row at its key's slot in arrays: the keys are dense row numbers, so that assembly costs a few
array writes per row, where joining the families in the engine cost 13 hash joins and a sort of
the wide result (about a third of the snapshot on 20 M events).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _
from ibis.common.exceptions import IbisError

from features.contract import CUSTOMER_KEY, EVENT_TYPE_CODE, EVENT_TYPES, MONETARY_EVENT_TYPES
from features.targets import LABEL_DTYPE, TARGETS

DAY_S = 86_400
ACTIVITY_TYPES = tuple(t for t in EVENT_TYPES if t not in MONETARY_EVENT_TYPES)


@dataclass(frozen=True)
class FeatureRules:
    order_windows_days: tuple[int, ...] = (7, 30, 90, 365)
    activity_windows_days: tuple[int, ...] = (30, 90)
    churn_lookback_days: int = 365
    attribute_columns: tuple[str, ...] = ("country", "acquisition_channel")
    seasonal_window_days: int = 0  # > 0: orders and spend in the same window a year earlier


SEASONAL = ("orders_same_season_last_year", "spend_same_season_last_year")


def _ts(moment: pd.Timestamp) -> ir.TimestampScalar:
    return ibis.timestamp(moment.tz_convert("UTC").tz_localize(None).isoformat(), timezone="UTC")


def _epoch(moment: pd.Timestamp) -> int:
    return int(moment.tz_convert("UTC").timestamp())


def history(events: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """Events strictly before the cutoff.

    The filter is on the raw ``event_time`` column, so readers can skip Parquet row groups and
    files that hold only later events.
    """
    return events.filter(events.event_time < _ts(as_of))


@ibis.udf.scalar.builtin(name="epoch")
def _duckdb_epoch(moment: dt.Timestamp(timezone="UTC")) -> dt.float64:
    """DuckDB's EPOCH() of a TIMESTAMPTZ: seconds since 1970-01-01 UTC, from the stored value."""


def _epoch_seconds(moment: ir.TimestampValue) -> ir.IntegerValue:
    """Whole seconds since the epoch (Spark's epoch has no fraction; flooring makes DuckDB agree
    to the bit).

    Ibis compiles ``epoch_seconds`` as ``EPOCH(CAST(t AS TIMESTAMP))``; on DuckDB that cast of a
    time-zone-aware value is an ICU calendar call per value, about six times dearer than
    ``EPOCH(t)`` itself. So DuckDB gets its native function; other backends the portable expression.
    """
    try:
        backend = ibis.get_backend(moment)
    except IbisError:  # no backend to specialise for
        backend = None
    if getattr(backend, "name", None) == "duckdb" and moment.type().timezone is not None:
        return _duckdb_epoch(moment).floor()
    return moment.epoch_seconds().floor()


def _days_before(as_of: pd.Timestamp, moment: ir.TimestampValue) -> ir.FloatingValue:
    """Age in days of `moment` at the cutoff, from whole seconds."""
    return (_epoch(as_of) - _epoch_seconds(moment)).cast("float64") / DAY_S


def _within(moment, as_of: pd.Timestamp, days: int):
    """Predicate "fewer than `days` days before the cutoff" (age < days) on a timestamp column.

    Comparing timestamps instead of computed ages keeps the per-event work to one comparison.
    """
    return moment > _ts(as_of - pd.Timedelta(days=days))


def monetary_groups(past: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """Purchase and refund rows reduced to one row per customer, type, order and category.

    Orders, refunds and categories are all computed from this small table, so the events are
    read once for the three families. ``last`` is the latest row of the group, ``n`` the number
    of rows (order lines), ``n_90d`` the rows fewer than 90 days before the cutoff.
    """
    monetary = past.filter(past.event_type.isin(MONETARY_EVENT_TYPES))
    return monetary.group_by([CUSTOMER_KEY, "event_type", "order_id", "category"]).aggregate(
        last=_.event_time.max(),
        n=_.count(),
        n_90d=_.count(where=_within(_.event_time, as_of, 90)),
        value=_.amount.sum(),
        items=_.quantity.sum(),
    )


def orders_before(groups: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """One row per order: its age (at its latest line), value, items and lines.

    Purchases are order lines. ``gap`` is the days since the customer's previous order (null for
    the first), so one aggregation gives the order and the inter-order interval features.
    """
    lines = groups.filter(groups.event_type == "purchase")
    orders = lines.group_by([CUSTOMER_KEY, "order_id"]).aggregate(
        placed=_.last.max(), value=_.value.sum(), items=_.items.sum(), lines=_.n.sum()
    )
    orders = orders.mutate(age_days=_days_before(as_of, orders.placed))
    by_customer = ibis.window(group_by=CUSTOMER_KEY, order_by=ibis.desc("age_days"))
    return orders.mutate(gap=_.age_days.lag().over(by_customer) - _.age_days)


def order_features(orders: ir.Table, as_of: pd.Timestamp, rules: FeatureRules) -> ir.Table:
    """Frequency, monetary, recency, basket and inter-order interval features."""
    windows = {}
    for w in rules.order_windows_days:
        windows[f"orders_{w}d"] = _.count(where=_within(_.placed, as_of, w))
        windows[f"spend_{w}d"] = _.value.sum(where=_within(_.placed, as_of, w))
    if rules.seasonal_window_days:
        # The window the label looks at, a year earlier: [as_of - 365 d, as_of - 365 d + w).
        start = as_of - pd.Timedelta(days=365)
        end = start + pd.Timedelta(days=rules.seasonal_window_days)
        season = (_.placed >= _ts(start)) & (_.placed < _ts(end))
        windows[SEASONAL[0]] = _.count(where=season)
        windows[SEASONAL[1]] = _.value.sum(where=season)
    return orders.group_by(CUSTOMER_KEY).aggregate(
        orders_total=_.count(),
        spend_total=_.value.sum(),
        avg_order_value=_.value.mean(),
        max_order_value=_.value.max(),
        avg_items_per_order=_.items.mean(),
        avg_lines_per_order=_.lines.mean(),
        days_since_last_order=_.age_days.min(),
        days_since_first_order=_.age_days.max(),
        **windows,
        mean_interorder_days=_.gap.mean(),
        std_interorder_days=_.gap.std(how="pop"),
        max_interorder_days=_.gap.max(),
    )


def refund_features(groups: ir.Table) -> ir.Table:
    """Refunded orders (distinct order ids), refunded amount, refunded orders in 90 days."""
    refunds = groups.filter(groups.event_type == "refund")
    return refunds.group_by(CUSTOMER_KEY).aggregate(
        refunds_total=_.order_id.nunique(),
        refund_amount_total=_.value.sum(),
        refunds_90d=_.order_id.nunique(where=_.n_90d > 0),
    )


def category_features(groups: ir.Table) -> ir.Table:
    """Breadth and concentration (Herfindahl index, sum of squared shares) of bought categories."""
    lines = groups.filter((groups.event_type == "purchase") & groups.category.notnull())
    per_category = lines.group_by([CUSTOMER_KEY, "category"]).aggregate(n=_.n.sum())
    return per_category.group_by(CUSTOMER_KEY).aggregate(
        categories_bought=_.count(),
        category_concentration=(_.n * _.n).sum().cast("float64") / (_.n.sum() * _.n.sum()),
    )


def activity_by_type(past: ir.Table, as_of: pd.Timestamp, rules: FeatureRules) -> ir.Table:
    """Window counts and recency of every event type: one row per customer and event type code.

    A narrow aggregation on two integers, far cheaper per event than one wide conditional
    aggregation; the rows of the non-monetary types become one column group per type when the
    snapshot is assembled. Every event has a type, so the keys here are the customers seen
    before the cutoff.
    """
    windows = rules.activity_windows_days
    per_type = past.group_by([CUSTOMER_KEY, EVENT_TYPE_CODE]).aggregate(
        last=_.event_time.max(),
        **{f"n_{w}d": _.count(where=_within(_.event_time, as_of, w)) for w in windows},
    )
    recency = _days_before(as_of, per_type["last"])
    return per_type.mutate(days_since_last=recency).drop("last")


def purchase_features(groups: ir.Table, as_of: pd.Timestamp, rules: FeatureRules) -> ir.Table:
    """Order, refund and category features: one row per customer with a purchase or refund row.

    One query, so the purchase and refund groups are computed once for the three families.
    """
    families = [
        order_features(orders_before(groups, as_of), as_of, rules),
        refund_features(groups),
        category_features(groups),
    ]
    buyers = groups.select(CUSTOMER_KEY).distinct()
    table = _join_all(buyers, families, tag="purchase")
    names = [c for family in families for c in family.columns if c != CUSTOMER_KEY]
    return table.select(CUSTOMER_KEY, *names)


def active_days(past: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """Distinct calendar days (UTC) with any event in the 30 days before the cutoff.

    A UTC day is the whole number of days since the epoch: integer arithmetic, where ``.date()``
    would convert time zones per event."""
    recent = past.filter(_within(past.event_time, as_of, 30))
    day = (_epoch_seconds(recent.event_time) / DAY_S).floor()
    return recent.group_by(CUSTOMER_KEY).aggregate(active_days_30d=day.nunique())


def population(events: ir.Table, customers: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """Customers known at the cutoff: signed up or seen in an event before it."""
    seen = history(events, as_of).select(CUSTOMER_KEY).distinct()
    return _with_known(seen, customers, as_of).select(CUSTOMER_KEY, "as_of")


def _with_known(seen: ir.Table, customers: ir.Table, as_of: pd.Timestamp) -> ir.Table:
    """`seen` (one row per customer seen before the cutoff) plus a row for every other customer
    signed up before it: an outer join, so `seen` is computed once."""
    known = customers.filter(customers.first_seen < _ts(as_of)).select(CUSTOMER_KEY)
    table = seen.outer_join(known, CUSTOMER_KEY)
    right = f"{CUSTOMER_KEY}_right"
    keys = ibis.coalesce(table[CUSTOMER_KEY], table[right])
    table = table.mutate(**{CUSTOMER_KEY: keys}, as_of=_ts(as_of)).drop(right)
    return table.relocate(CUSTOMER_KEY, "as_of")


def _join_all(table: ir.Table, others: list[ir.Table], tag: str) -> ir.Table:
    """`table` left-joined on the key to each of `others`, as one join chain.

    Each right-hand key is renamed apart (``_<tag>_key_<i>``; the tag keeps nested chains apart),
    so no projection is needed between joins and the chain compiles to one SELECT: Ibis compiles
    a projection per join, or one over the whole chain, two to three times slower. Callers select
    the columns they return.
    """
    for i, other in enumerate(others):
        key = f"_{tag}_key_{i}"
        other = other.rename({key: CUSTOMER_KEY})
        table = table.left_join(other, table[CUSTOMER_KEY] == other[key])
    return table


def count_columns(columns: list[str]) -> list[str]:
    """Counts and sums that are 0, not unknown, when a customer has no matching events."""
    prefixes = ("orders_", "spend_", "refund", "categories_") + ACTIVITY_TYPES
    return [c for c in columns if c.startswith(prefixes) or c == "active_days_30d"]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator where the denominator is positive, else NaN (unknown)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator.astype(np.float64) / denominator, np.nan)


def derived_features(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Features derived from others; `c` maps a feature name to its assembled (zero-filled
    count) values, one per customer."""
    return {
        "net_spend_total": c["spend_total"] - c["refund_amount_total"],
        "refund_rate": _ratio(c["refund_amount_total"], c["spend_total"]),
        "order_trend_30_90": c["orders_30d"] - c["orders_90d"].astype(np.float64) / 3,
        "spend_trend_90_365": c["spend_90d"] - c["spend_365d"] / 4.0,
        "recency_over_interval": _ratio(c["days_since_last_order"], c["mean_interorder_days"]),
        "email_click_rate_90d": _ratio(c["email_click_90d"], c["email_open_90d"]),
        "cart_adds_per_order_90d": _ratio(c["add_to_cart_90d"], c["orders_90d"]),
    }


def base_columns(rules: FeatureRules) -> list[str]:
    """Key, then the families in catalogue order, then attributes; ``tenure_days`` and the
    `derived_features` follow."""
    orders = ["orders_total", "spend_total", "avg_order_value", "max_order_value"]
    orders += ["avg_items_per_order", "avg_lines_per_order"]
    orders += ["days_since_last_order", "days_since_first_order"]
    for w in rules.order_windows_days:
        orders += [f"orders_{w}d", f"spend_{w}d"]
    if rules.seasonal_window_days:
        orders += list(SEASONAL)
    orders += ["mean_interorder_days", "std_interorder_days", "max_interorder_days"]
    orders += ["refunds_total", "refund_amount_total", "refunds_90d"]
    orders += ["categories_bought", "category_concentration"]
    for kind in ACTIVITY_TYPES:
        orders += [f"{kind}_{w}d" for w in rules.activity_windows_days]
        orders.append(f"days_since_last_{kind}")
    return ["customer_id", "as_of", *orders, "active_days_30d", *rules.attribute_columns]


def customer_rows(customers: ir.Table, as_of: pd.Timestamp, rules: FeatureRules) -> ir.Table:
    """Every customer, ordered by key: id, attributes, tenure and whether signed up before the
    cutoff (customers seen in an event before it are known as well)."""
    signed_up = (customers.first_seen < _ts(as_of)).fill_null(False)
    return customers.select(
        CUSTOMER_KEY,
        "customer_id",
        *rules.attribute_columns,
        tenure_days=_days_before(as_of, customers.first_seen),
        signed_up=signed_up,
    ).order_by(CUSTOMER_KEY)


@dataclass(frozen=True)
class FeatureQueries:
    """The queries of one snapshot (see `feature_queries`); nothing is executed here."""

    customers: ir.Table  # `customer_rows`
    activity: ir.Table  # `activity_by_type`
    purchases: ir.Table  # `purchase_features`
    active_days: ir.Table  # `active_days`

    def as_dict(self) -> dict[str, ir.Table]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def feature_queries(
    events: ir.Table, customers: ir.Table, as_of: pd.Timestamp, rules: FeatureRules
) -> FeatureQueries:
    """All feature families for one cutoff, as four queries keyed by ``customer_key``.

    Two reads of the history: one narrow aggregation of every event (activity, and which
    customers were seen) and one of its purchase and refund rows (orders, refunds, categories),
    plus a read of the last 30 days only (active days). `features.engine.compute_features` runs
    them and assembles one row per known customer, keyed by id and as_of.
    """
    past = history(events, as_of)
    return FeatureQueries(
        customers=customer_rows(customers, as_of, rules),
        activity=activity_by_type(past, as_of, rules),
        purchases=purchase_features(monetary_groups(past, as_of), as_of, rules),
        active_days=active_days(past, as_of),
    )


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
        .group_by(CUSTOMER_KEY)
        .aggregate(last_order=_.event_time.max())
    )
    last_order = last_order.mutate(
        days_since_last_order=_days_before(as_of, last_order.last_order)
    ).drop("last_order")
    futures = [_future(events, as_of, h, target) for target, h in horizons_days.items()]
    table = _join_all(
        population(events, customers, as_of),
        [last_order, *futures, customers.select(CUSTOMER_KEY, "customer_id")],
        tag="label",
    )
    counts = ("future_orders_", "future_net_")  # none in the window: 0 (first order: null)
    future = {c: table[c].fill_null(0) for c in table.columns if c.startswith(counts)}
    eligible = table.days_since_last_order.notnull() & (
        table.days_since_last_order <= rules.churn_lookback_days
    )
    labels = _label_expressions(table, future, eligible, as_of)
    if missing := set(TARGETS) - set(labels):
        raise KeyError(f"no label expression for target(s) {sorted(missing)}")
    columns = {
        name: labels[name]() if name in horizons_days else ibis.null(LABEL_DTYPE[entry.task])
        for name, entry in TARGETS.items()
    }
    return table.select("customer_id", "as_of", churn_eligible=eligible, **columns).order_by(
        "customer_id"
    )


def _label_expressions(table: ir.Table, future: dict, eligible, as_of: pd.Timestamp) -> dict:
    """One label expression per registered target (features.targets), built on demand."""
    return {
        "churn": lambda: ibis.ifelse(
            eligible, (future["future_orders_churn"] == 0).cast("int8"), ibis.null("int8")
        ),
        "propensity": lambda: (future["future_orders_propensity"] > 0).cast("int8"),
        "cltv": lambda: ibis.greatest(future["future_net_cltv"], 0.0),
        "next_order": lambda: ibis.ifelse(  # +inf: no order within the horizon (censored)
            table["future_first_next_order"].isnull(),
            float("inf"),
            ibis.greatest(-_days_before(as_of, table["future_first_next_order"]), 1 / 1440),
        ),  # days, a minute at least
    }


def _future(events: ir.Table, as_of: pd.Timestamp, horizon_days: int, target: str) -> ir.Table:
    end = as_of + pd.Timedelta(days=horizon_days)
    window = events.filter((events.event_time >= _ts(as_of)) & (events.event_time < _ts(end)))
    purchase, refund = window.event_type == "purchase", window.event_type == "refund"
    columns = {
        f"future_orders_{target}": window.order_id.nunique(where=purchase),
        f"future_net_{target}": window.amount.sum(where=purchase).fill_null(0)
        - window.amount.sum(where=refund).fill_null(0),
    }
    if TARGETS[target].is_survival:  # only a wait reads when the first order came
        columns[f"future_first_{target}"] = window.event_time.min(where=purchase)
    return window.group_by(CUSTOMER_KEY).aggregate(**columns)
