"""Assembly of a snapshot's queries by customer key (`engine.compute_features`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from features.contract import CUSTOMER_KEY
from features.definitions import FeatureRules, base_columns
from features.engine import (
    _register,
    compute_features,
    connect_duckdb,
    tables_from_frames,
    to_arrow,
    with_surrogate_keys,
)
from features.ingest import finalize_events
from synthetic.shop import ShopSpec, generate_shop

RULES = FeatureRules()
AS_OF = pd.Timestamp("2025-06-01", tz="UTC")


@pytest.fixture(scope="module")
def shop():
    generated = generate_shop(ShopSpec(n_customers=150, dirty_fraction=0.0), seed=3)
    events = finalize_events(generated.events.drop_duplicates().reset_index(drop=True))
    return events, generated.customers


def keyed_tables(con, shop, renumber):
    """The shop registered with its customer keys passed through `renumber` (an array map)."""
    events, customers = with_surrogate_keys(to_arrow(shop[0]), to_arrow(shop[1]))
    for name, table in (("events", events), ("customers", customers)):
        keys = pa.array(renumber(table[CUSTOMER_KEY].to_numpy()), pa.int32())
        table = table.set_column(table.schema.get_field_index(CUSTOMER_KEY), CUSTOMER_KEY, keys)
        _register(con, name, table)
    return con.table("events"), con.table("customers")


def test_keys_that_are_not_row_numbers_are_looked_up(shop):
    """Ingest numbers customers 0..n-1 and the key is then the row; any other numbering (an
    offset, gaps) gives the same table."""
    con = connect_duckdb()
    expected = compute_features(con, *keyed_tables(con, shop, lambda k: k), AS_OF, RULES)
    for renumber in (lambda k: k + 1000, lambda k: 7 * k + 3):
        con = connect_duckdb()
        actual = compute_features(con, *keyed_tables(con, shop, renumber), AS_OF, RULES)
        pd.testing.assert_frame_equal(actual, expected)
    assert expected["orders_total"].gt(0).any() and expected["page_view_90d"].gt(0).any()


def test_an_event_whose_key_is_not_a_customer_is_an_error(shop):
    con = connect_duckdb()
    events, customers = keyed_tables(con, shop, lambda k: 2 * k)
    odd = events.mutate(**{CUSTOMER_KEY: (events[CUSTOMER_KEY] + 1).cast("int32")})
    with pytest.raises(ValueError, match=r"customer_key \d+ is not in the customers table"):
        compute_features(con, odd, customers, AS_OF, RULES)


def test_before_any_event_or_sign_up_the_table_is_empty_with_every_column(shop):
    con = connect_duckdb()
    events, customers = tables_from_frames(con, *shop)
    first = min(shop[0]["event_time"].min(), shop[1]["first_seen"].min())
    table = compute_features(con, events, customers, first, RULES)
    assert len(table) == 0
    assert list(table.columns[: len(base_columns(RULES))]) == base_columns(RULES)
    assert table["orders_total"].dtype == np.int64
    assert table["days_since_last_order"].dtype == np.float64


def test_customers_known_only_by_sign_up_have_zero_counts_and_unknown_recency(shop):
    con = connect_duckdb()
    events, customers = tables_from_frames(con, *shop)
    table = compute_features(con, events, customers, AS_OF, RULES).set_index("customer_id")
    active = set(pc.unique(to_arrow(shop[0][shop[0]["event_time"] < AS_OF])["customer_id"]))
    signed_up = set(shop[1].loc[shop[1]["first_seen"] < AS_OF, "customer_id"])
    quiet = sorted(signed_up - {str(c) for c in active})
    assert quiet, "the fixture should have customers who signed up and did nothing yet"
    rows = table.loc[quiet]
    assert (
        (rows[["orders_total", "spend_total", "page_view_90d", "active_days_30d"]] == 0).all().all()
    )
    assert rows[["days_since_last_order", "days_since_last_page_view"]].isna().all().all()
    assert rows["tenure_days"].notna().all()
    assert set(table.index) == signed_up | {str(c) for c in active}
