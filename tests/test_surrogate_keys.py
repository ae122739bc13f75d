"""The validated layer's integer surrogates (customer_key, event_type_code) and their encoding."""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features import definitions
from features.contract import CUSTOMER_KEY, EVENT_TYPE_CODE, EVENT_TYPES
from features.engine import connect_duckdb, load_tables, to_arrow, with_surrogate_keys
from features.ingest import finalize_events
from pipelines.io import write_events_by_month
from synthetic.shop import ShopSpec, generate_shop


def _tables(ids: list[str], event_ids: list[str], types: list[str]):
    events = pa.table({"customer_id": event_ids, "event_type": types})
    return events, pa.table({"customer_id": ids, "country": ["FR"] * len(ids)})


def test_customers_are_numbered_in_id_order_and_events_carry_their_numbers():
    types = ["refund", *EVENT_TYPES[2:5]]
    events, customers = _tables(["c", "a", "b"], ["b", "c", "a", "b"], types)
    keyed_events, keyed_customers = with_surrogate_keys(events, customers, first_key=10)

    assert keyed_customers["customer_id"].to_pylist() == ["a", "b", "c"]
    assert keyed_customers[CUSTOMER_KEY].to_pylist() == [10, 11, 12]
    assert keyed_customers[CUSTOMER_KEY].type == pa.int32()
    assert keyed_events[CUSTOMER_KEY].to_pylist() == [11, 12, 10, 11]
    codes = keyed_events[EVENT_TYPE_CODE].to_pylist()
    assert [EVENT_TYPES[c] for c in codes] == keyed_events["event_type"].to_pylist()
    assert keyed_events[EVENT_TYPE_CODE].type == pa.int8()


def test_an_event_of_an_unknown_customer_or_type_is_an_error_with_an_example():
    events, customers = _tables(["a"], ["a", "zz"], ["purchase", "purchase"])
    with pytest.raises(ValueError, match=r"1 rows have a customer_id .* e\.g\. 'zz'"):
        with_surrogate_keys(events, customers)
    events, customers = _tables(["a"], ["a"], ["teleport"])
    with pytest.raises(ValueError, match="event_type 'teleport' is not in the contract"):
        with_surrogate_keys(events, customers)


def test_duplicate_customer_ids_cannot_be_numbered():
    events, customers = _tables(["a", "a"], ["a"], ["purchase"])
    with pytest.raises(ValueError, match="unique and not null"):
        with_surrogate_keys(events, customers)


def test_month_files_delta_encode_key_and_time_and_keep_text_in_dictionaries(tmp_path):
    shop = generate_shop(ShopSpec(n_customers=200, dirty_fraction=0.0), seed=5)
    events = to_arrow(finalize_events(shop.events.drop_duplicates().reset_index(drop=True)))
    events, _ = with_surrogate_keys(events, to_arrow(shop.customers))
    write_events_by_month(events, tmp_path / "events")

    file = sorted((tmp_path / "events").rglob("*.parquet"))[0]
    row_group = pq.ParquetFile(file).metadata.row_group(0)
    encodings = {
        row_group.column(i).path_in_schema: row_group.column(i).encodings
        for i in range(row_group.num_columns)
    }
    assert "DELTA_BINARY_PACKED" in encodings[CUSTOMER_KEY]
    assert "DELTA_BINARY_PACKED" in encodings["event_time"]
    assert "RLE_DICTIONARY" in encodings["customer_id"]
    assert "RLE_DICTIONARY" in encodings[EVENT_TYPE_CODE]


def test_a_layer_written_before_the_keys_is_refused_with_the_way_out(tmp_path):
    shop = generate_shop(ShopSpec(n_customers=20, dirty_fraction=0.0), seed=1)
    events = finalize_events(shop.events.drop_duplicates().reset_index(drop=True))
    write_events_by_month(events, tmp_path / "events")
    pq.write_table(pa.table({"customer_id": ["x"]}), tmp_path / "customers.parquet")
    with pytest.raises(ValueError, match=r"no column 'customer_key'.*dvc repro ingest"):
        load_tables(connect_duckdb(), tmp_path)


def test_duckdb_epoch_seconds_agree_with_the_portable_expression():
    """The DuckDB-only EPOCH() shortcut floors to the same whole seconds as Ibis's generic
    expression, before 1970, at fractions of a second and at the epoch itself."""
    moments = pd.to_datetime(
        ["1969-12-31 23:59:59.250", "1970-01-01 00:00:00", "2024-02-29 12:00:00.999999"],
        utc=True,
        format="ISO8601",
    )
    con = connect_duckdb()
    con.con.register("moments", to_arrow(pd.DataFrame({"t": moments})))
    table = con.table("moments")
    fast = definitions._epoch_seconds(table.t)
    sql = str(ibis.to_sql(table.select(fast.name("s")), dialect="duckdb")).lower()
    assert "epoch(" in sql and "as timestamp)" not in sql  # no time-zone conversion per value
    result = con.execute(table.select(fast=fast, portable=table.t.epoch_seconds().floor()))
    assert result["fast"].tolist() == result["portable"].tolist() == [-1, 0, 1709208000]
