"""Execution of the Ibis definitions: DuckDB by default, Spark (local or cluster) on request."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis import _

from features.contract import CUSTOMER_KEY, EVENT_TYPE_CODE, EVENT_TYPES
from features.definitions import (
    ACTIVITY_TYPES,
    FeatureQueries,
    FeatureRules,
    base_columns,
    count_columns,
    derived_features,
    feature_queries,
    label_table,
)
from features.snapshots import SnapshotPlan


def connect_duckdb(threads: int | None = None, memory_limit: str | None = None):
    """A DuckDB connection pinned to UTC (timestamps are compared and shifted in UTC).

    Results are sorted explicitly, so DuckDB need not preserve insertion order: that lets it
    stream and aggregate in parallel with less memory. Memory beyond ``memory_limit`` (default:
    80% of RAM) spills to a temporary directory instead of failing.
    """
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET preserve_insertion_order = false")
    if threads:
        con.raw_sql(f"SET threads = {int(threads)}")
    if memory_limit:
        con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    return con


def connect_spark(session=None):
    """An Ibis PySpark backend on the given session, or a local one pinned to UTC."""
    if session is None:
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master("local[2]")
            .appName("segments-features")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="spark-warehouse-"))
            .getOrCreate()
        )
    return ibis.pyspark.connect(session)


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Arrow table with timestamps at microsecond precision (portable to DuckDB, Spark, Ibis)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
            micro = pa.timestamp("us", tz=field.type.tz)
            micros = table.column(i).cast(micro, safe=False)  # sub-microseconds dropped
            table = table.set_column(i, field.name, micros)
    return table


def with_surrogate_keys(
    events: pa.Table, customers: pa.Table, first_key: int = 0
) -> tuple[pa.Table, pa.Table]:
    """Customers sorted by id and numbered from ``first_key``; events with their customer's number
    (``customer_key``) and their type's position in the contract (``event_type_code``).

    Every event's customer must be in ``customers`` (ingest builds customers from the events).
    """
    customers = customers.drop_columns([c for c in customers.column_names if c == CUSTOMER_KEY])
    customers = customers.sort_by("customer_id")
    ids = customers["customer_id"].cast(pa.string())
    if ids.null_count or len(pc.unique(ids)) != len(ids):
        raise ValueError("customers: customer_id must be unique and not null to number customers")
    keys = pa.array(np.arange(first_key, first_key + len(ids), dtype=np.int32))
    customers = customers.add_column(1, CUSTOMER_KEY, keys)
    position = pc.index_in(events["customer_id"].cast(pa.string()), value_set=ids)
    if position.null_count:
        missing = pc.filter(events["customer_id"], pc.is_null(position))
        raise ValueError(
            f"events: {missing.length():,} rows have a customer_id that is not in customers, "
            f"e.g. {missing[0].as_py()!r}"
        )
    types = pa.array(EVENT_TYPES, pa.string())
    codes = pc.index_in(events["event_type"].cast(pa.string()), value_set=types)
    if codes.null_count:
        unknown = pc.filter(events["event_type"], pc.is_null(codes))
        raise ValueError(f"events: event_type {unknown[0].as_py()!r} is not in the contract")
    events = events.drop_columns(
        [c for c in events.column_names if c in (CUSTOMER_KEY, EVENT_TYPE_CODE)]
    )
    event_keys = pc.add(position.cast(pa.int32()), pa.scalar(first_key, pa.int32()))
    events = events.add_column(1, CUSTOMER_KEY, event_keys)
    events = events.add_column(
        events.schema.get_field_index("event_type") + 1, EVENT_TYPE_CODE, codes.cast(pa.int8())
    )
    return events, customers


def tables_from_frames(con, events: pd.DataFrame, customers: pd.DataFrame):
    """Register in-memory frames as the events and customers tables (tests, small data).

    Customers that appear only in events are added to the customers table without attributes (as
    ingest does), so every event has a ``customer_key``.
    """
    extra = pd.Index(events["customer_id"].dropna().unique()).difference(customers["customer_id"])
    if len(extra):
        ids = pd.Series(extra, dtype=customers["customer_id"].dtype)
        customers = pd.concat([customers, pd.DataFrame({"customer_id": ids})], ignore_index=True)
    keyed_events, keyed_customers = with_surrogate_keys(to_arrow(events), to_arrow(customers))
    for name, table in (("events", keyed_events), ("customers", keyed_customers)):
        _register(con, name, table)
    return con.table("events"), con.table("customers")


def _register(con, name: str, table: pa.Table) -> None:
    if con.name == "duckdb":  # ibis 12's create_table of in-memory data fails on duckdb >= 1.5
        con.con.register(name, table)
    else:  # a temporary view: nothing is written to a Spark warehouse folder
        con._session.createDataFrame(table.to_pandas()).createOrReplaceTempView(name)


def load_tables(con, validated_dir: Path) -> tuple[ir.Table, ir.Table]:
    """Validated events (hive-partitioned Parquet, read lazily) and the customers table."""
    folder = Path(validated_dir)
    events = con.read_parquet(str(folder / "events" / "**" / "*.parquet"), table_name="events")
    if "event_month" in events.columns:
        events = events.drop("event_month")
    customers = con.read_parquet(str(folder / "customers.parquet"), table_name="customers")
    needed = {"events": (CUSTOMER_KEY, EVENT_TYPE_CODE), "customers.parquet": (CUSTOMER_KEY,)}
    for name, table in (("events", events), ("customers.parquet", customers)):
        for column in needed[name]:
            if column not in table.columns:
                raise ValueError(
                    f"{folder / name}: no column {column!r}; this validated layer was written "
                    "before surrogate keys were added. Re-run ingest (`dvc repro ingest`)."
                )
    return events, customers


def event_span(con, events: ir.Table) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last event time (UTC), computed by the backend."""
    span = con.to_pyarrow(events.aggregate(first=_.event_time.min(), last=_.event_time.max()))
    first, last = (span.column(c)[0].as_py() for c in ("first", "last"))
    return pd.Timestamp(first).tz_convert("UTC"), pd.Timestamp(last).tz_convert("UTC")


def execute(con, expr: ir.Table) -> pd.DataFrame:
    """Run an expression and return pandas with stable column order and row order."""
    return _sorted_by_id(con.to_pyarrow(expr).to_pandas())


def _sorted_by_id(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` in customer_id order; usually it already is (an ORDER BY, or keys numbered in id
    order), and then it is returned as is."""
    if frame["customer_id"].is_monotonic_increasing:
        return frame
    return frame.sort_values(["customer_id"], kind="stable").reset_index(drop=True)


def compute_features(
    con, events: ir.Table, customers: ir.Table, as_of: pd.Timestamp, rules: FeatureRules
) -> pd.DataFrame:
    """The feature table of one cutoff: one row per known customer, sorted by customer_id."""
    return assemble_features(con, feature_queries(events, customers, as_of, rules), as_of, rules)


def assemble_features(
    con, queries: FeatureQueries, as_of: pd.Timestamp, rules: FeatureRules
) -> pd.DataFrame:
    """Run a snapshot's queries and write each row into per-customer arrays at its customer's slot.

    Customers are known at the cutoff when they signed up before it or have an event before it
    (a row in ``activity``); each known customer gets a slot, in key order (= id order). Counts
    and sums of customers without a row are 0; other features are unknown (NaN).
    """
    people = con.to_pyarrow(queries.customers)
    keys = people[CUSTOMER_KEY].to_numpy()
    activity = con.to_pyarrow(queries.activity)
    seen = _rows(keys, activity[CUSTOMER_KEY].to_numpy())
    known = people["signed_up"].to_numpy(zero_copy_only=False).astype(bool)  # a copy
    known[seen] = True
    slot_of_row = np.cumsum(known) - 1
    n = int(known.sum())
    counts = set(count_columns(base_columns(rules)))
    values = _activity_values(activity, slot_of_row[seen], n, rules, counts)
    for query in (queries.purchases, queries.active_days):
        table = con.to_pyarrow(query)  # customers with events before the cutoff: all known
        slots = slot_of_row[_rows(keys, table[CUSTOMER_KEY].to_numpy())]
        for name in table.column_names[1:]:
            count = name in counts
            values[name] = _placed(_numbers(table[name], count), slots, n, count)

    values["tenure_days"] = _numbers(people["tenure_days"], count=False)[known]
    derived = derived_features(values)
    values |= derived
    head = people.filter(pa.array(known))
    stamp = np.datetime64(as_of.tz_convert("UTC").tz_localize(None), "us")
    columns = {
        "customer_id": head["customer_id"],
        "as_of": pa.array(np.full(n, stamp), pa.timestamp("us", tz="UTC")),
        **{c: head[c] for c in rules.attribute_columns},
        **values,
    }
    order = [*base_columns(rules), "tenure_days", *derived]
    return _sorted_by_id(pa.table({name: columns[name] for name in order}).to_pandas())


def _activity_values(
    activity: pa.Table, slots: np.ndarray, n: int, rules: FeatureRules, counts: set[str]
) -> dict[str, np.ndarray]:
    """Per activity type, its window counts and days since the last one, at each customer's
    slot (``slots``: the slot of each ``activity`` row, which is one (key, type) pair)."""
    values: dict[str, np.ndarray] = {}
    codes = activity[EVENT_TYPE_CODE].to_numpy()
    per_type = {  # n_<w>d counts and days_since_last, per (key, type) row
        c: _numbers(activity[c], count=c != "days_since_last") for c in activity.column_names[2:]
    }
    for kind in ACTIVITY_TYPES:
        mine = codes == EVENT_TYPES.index(kind)
        names = {f"n_{w}d": f"{kind}_{w}d" for w in rules.activity_windows_days}
        names["days_since_last"] = f"days_since_last_{kind}"
        for column, name in names.items():
            values[name] = _placed(per_type[column][mine], slots[mine], n, name in counts)
    return values


def _rows(customer_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Rows of `keys` in the customers' keys (ascending). Ingest numbers customers 0..n-1, so
    there a key is its row; any other numbering is looked up."""
    n = len(customer_keys)
    if n and int(customer_keys[-1]) - int(customer_keys[0]) == n - 1:  # consecutive
        rows = keys - customer_keys[0]
        bad = (rows < 0) | (rows >= n)
    else:
        rows = np.searchsorted(customer_keys, keys)
        found = customer_keys[np.minimum(rows, n - 1)] == keys if n else rows < 0
        bad = ~found
    if bad.any():
        raise ValueError(f"customer_key {keys[bad][0]} is not in the customers table")
    return rows


def _numbers(values: pa.ChunkedArray, count: bool) -> np.ndarray:
    """A count with nulls as 0 (its own integer or float type), or any other number as float64
    with nulls as NaN."""
    if count:
        return pc.fill_null(values, 0).to_numpy()
    return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)


def _placed(given: np.ndarray, slots: np.ndarray, n: int, count: bool) -> np.ndarray:
    """`n` values: `given` at `slots`; elsewhere 0 for a count, NaN otherwise."""
    out = np.zeros(n, given.dtype) if count else np.full(n, np.nan)
    out[slots] = given
    return out


def build_snapshots(
    con,
    events: ir.Table,
    customers: ir.Table,
    plan: SnapshotPlan,
    rules: FeatureRules,
    on_cutoff=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows for every cutoff and label rows for every cutoff whose windows are observed.

    ``on_cutoff(as_of)`` is called after each cutoff (progress reporting)."""
    feature_frames, label_frames = [], []
    for as_of in plan.all_cutoffs():
        feature_frames.append(compute_features(con, events, customers, as_of, rules))
        horizons = {name: target.label_days(as_of) for name, target in plan.targets.items()}
        observed = {
            t: h for t, h in horizons.items() if as_of + pd.Timedelta(days=h) <= plan.scoring
        }
        if observed:
            label_frames.append(
                execute(con, label_table(events, customers, as_of, observed, rules))
            )
        if on_cutoff is not None:
            on_cutoff(as_of)
    return pd.concat(feature_frames, ignore_index=True), pd.concat(label_frames, ignore_index=True)
