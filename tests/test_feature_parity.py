"""The Ibis feature table on DuckDB equals the independent pandas reference on a synthetic shop."""

from __future__ import annotations

import pandas as pd
import pytest

from features.definitions import FeatureRules
from features.engine import compute_features, connect_duckdb, tables_from_frames
from features.ingest import finalize_events
from synthetic.shop import ShopSpec, generate_shop
from tests.reference_pandas import reference_feature_table

RULES = FeatureRules()
SEASONAL_RULES = FeatureRules(seasonal_window_days=90)
CUTOFFS = ["2024-04-01", "2025-01-01T12:30:00", "2026-01-01"]  # early, mid-day, after all events


@pytest.fixture(scope="module")
def shop():
    spec = ShopSpec(n_customers=300, dirty_fraction=0.0, duplicate_fraction=0.0)
    generated = generate_shop(spec, seed=11)
    return finalize_events(generated.events), generated.customers


@pytest.fixture(scope="module")
def tables(shop):
    con = connect_duckdb()
    events, customers = tables_from_frames(con, *shop)
    return con, events, customers


@pytest.mark.parametrize("rules", [RULES, SEASONAL_RULES], ids=["default", "seasonal"])
@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_duckdb_feature_table_equals_pandas_reference(shop, tables, cutoff, rules):
    as_of = pd.Timestamp(cutoff, tz="UTC")
    con, events, customers = tables
    actual = compute_features(con, events, customers, as_of, rules)
    expected = reference_feature_table(*shop, as_of, rules)
    if rules.seasonal_window_days:
        assert actual["orders_same_season_last_year"].gt(0).any() or cutoff < "2025"
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) > 0
    pd.testing.assert_frame_equal(
        actual.sort_values("customer_id", ignore_index=True),
        expected.sort_values("customer_id", ignore_index=True),
        check_dtype=False,
        rtol=1e-9,
        atol=1e-9,
    )
