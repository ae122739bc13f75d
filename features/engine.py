"""Execution of the Ibis definitions: DuckDB by default, Spark (local or cluster) on request."""

from __future__ import annotations

import tempfile
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis import _

from features.definitions import FeatureRules, feature_table, label_table
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


def tables_from_frames(con, events: pd.DataFrame, customers: pd.DataFrame):
    """Register in-memory frames as the events and customers tables (tests, small data)."""
    for name, frame in (("events", events), ("customers", customers)):
        _register(con, name, to_arrow(frame))
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
    return events, customers


def event_span(con, events: ir.Table) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last event time (UTC), computed by the backend."""
    span = con.to_pyarrow(events.aggregate(first=_.event_time.min(), last=_.event_time.max()))
    first, last = (span.column(c)[0].as_py() for c in ("first", "last"))
    return pd.Timestamp(first).tz_convert("UTC"), pd.Timestamp(last).tz_convert("UTC")


def execute(con, expr: ir.Table) -> pd.DataFrame:
    """Run an expression and return pandas with stable column order and row order."""
    frame = con.to_pyarrow(expr).to_pandas()
    if frame["customer_id"].is_monotonic_increasing:  # the expression's ORDER BY held
        return frame
    return frame.sort_values(["customer_id"], kind="stable").reset_index(drop=True)


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
    horizons = {name: target.horizon_days for name, target in plan.targets.items()}
    feature_frames, label_frames = [], []
    for as_of in plan.all_cutoffs():
        feature_frames.append(execute(con, feature_table(events, customers, as_of, rules)))
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
