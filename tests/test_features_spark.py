"""The same Ibis definitions give identical feature and label tables on Spark and on DuckDB."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from features.definitions import label_table
from features.engine import (
    compute_features,
    connect_duckdb,
    connect_spark,
    execute,
    tables_from_frames,
)
from features.ingest import finalize_events
from synthetic.shop import ShopSpec, generate_shop
from tests.test_features import AS_OF, HORIZONS, RULES, tiny_customers, tiny_events

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="PySpark needs `java` on PATH"),
]

SHOP_CUTOFFS = (pd.Timestamp("2024-09-01", tz="UTC"), pd.Timestamp("2025-06-01", tz="UTC"))
KINDS = ("features", "labels")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """One local session for the module; `connect_spark()` adopts it and applies its settings.

    Static options must be set before the session exists: tables go to a temporary warehouse,
    not to ./spark-warehouse, and the console progress bar is off.
    """
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    con = connect_spark()  # getOrCreate: the session above, pinned to UTC by connect_spark
    session.conf.set("spark.sql.shuffle.partitions", "1")  # tiny data: one task per shuffle
    yield con
    session.stop()


def run_definitions(con, events: pd.DataFrame, customers: pd.DataFrame, cutoffs) -> dict:
    """Feature and label tables per cutoff on one backend, keyed by (cutoff, kind)."""
    events_table, customers_table = tables_from_frames(con, events, customers)
    results = {}
    for as_of in cutoffs:
        tables = (events_table, customers_table, as_of)
        results[as_of, "features"] = compute_features(con, *tables, RULES)
        results[as_of, "labels"] = execute(con, label_table(*tables, HORIZONS, RULES))
    return results


def on_both_backends(spark, events, customers, cutoffs) -> dict[str, dict]:
    return {
        "duckdb": run_definitions(connect_duckdb(), events, customers, cutoffs),
        "spark": run_definitions(spark, events, customers, cutoffs),
    }


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted by customer; numbers and flags as float64, timestamps UTC ns, text as string."""
    out = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            out[column] = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        elif pd.api.types.is_datetime64_dtype(values):
            out[column] = values.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")
        elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype("float64")
        else:
            out[column] = values.astype("string")
    return out


def assert_same_table(duckdb_frame: pd.DataFrame, spark_frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        normalised(spark_frame),
        normalised(duckdb_frame),
        rtol=1e-9,
        atol=0.0,
        obj="left: Spark, right: DuckDB",
    )


@pytest.fixture(scope="module")
def tiny_results(spark):
    return on_both_backends(spark, tiny_events(), tiny_customers(), [AS_OF])


@pytest.fixture(scope="module")
def shop_results(spark):
    spec = ShopSpec(n_customers=200, dirty_fraction=0, duplicate_fraction=0)
    shop = generate_shop(spec, seed=3)
    return on_both_backends(spark, finalize_events(shop.events), shop.customers, SHOP_CUTOFFS)


@pytest.mark.parametrize("kind", KINDS)
def test_tiny_fixture_is_identical_on_spark_and_duckdb(tiny_results, kind):
    assert_same_table(tiny_results["duckdb"][AS_OF, kind], tiny_results["spark"][AS_OF, kind])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("as_of", SHOP_CUTOFFS, ids=lambda t: t.strftime("%Y-%m-%d"))
def test_synthetic_shop_is_identical_on_spark_and_duckdb(shop_results, as_of, kind):
    duckdb_frame = shop_results["duckdb"][as_of, kind]
    assert len(duckdb_frame) > 50  # a real population, so agreement is not vacuous
    assert_same_table(duckdb_frame, shop_results["spark"][as_of, kind])


def test_synthetic_shop_exercises_every_label(shop_results):
    labels = shop_results["duckdb"][SHOP_CUTOFFS[-1], "labels"]
    assert labels["churn_eligible"].any() and labels["churn"].notna().any()
    assert labels["propensity"].eq(1).any() and labels["cltv"].gt(0).any()
