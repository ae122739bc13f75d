"""The real Online Retail II sample imports with the counts its SOURCE.md implies."""

from __future__ import annotations

import pandas as pd
import pytest

from features.ingest import SOURCE_FILE, SOURCE_ROW, validate_events
from features.sources import (
    build_customers,
    map_online_retail_ii,
    online_retail_customer_attributes,
)
from pipelines.source_files import read_source

REFERENCE = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(scope="module")
def imported(request):
    path = request.getfixturevalue("online_retail_path")
    raw, _ = read_source(path)
    mapped = map_online_retail_ii(raw)
    original = raw.drop(columns=[SOURCE_FILE, SOURCE_ROW])
    return original, validate_events(mapped, original, REFERENCE, "Europe/London")


def test_every_row_is_accounted_for(imported):
    raw, result = imported
    assert result.rows_read == len(raw) == 34_766
    assert result.reconciles


def test_guest_rows_without_customer_id_are_anonymous(imported):
    raw, result = imported
    # SOURCE.md: 601 rows have no Customer ID; 11 of them repeat an earlier row exactly.
    assert result.anonymous_rows == 601 - 11 == 590
    assert "missing_customer_id" not in set(result.quarantine["reason"])
    assert result.anonymous["customer_id"].isna().all()
    guests = raw[raw["Customer ID"].isna()]
    assert set(result.anonymous["order_id"]) == set(guests["Invoice"])


def test_price_zero_and_bookkeeping_lines_are_quarantined_deliberately(imported):
    raw, result = imported
    by_reason = result.quarantine["reason"].value_counts().to_dict()
    has_id = raw["Customer ID"].notna()
    assert by_reason["non_positive_amount"] == int(((raw["Price"] == "0.0") & has_id).sum()) == 9
    assert by_reason["accounting_entry"] == int(((raw["StockCode"] == "ADJUST") & has_id).sum())
    assert set(by_reason) == {"non_positive_amount", "accounting_entry"}


def test_cancellations_become_refunds_and_duplicates_are_counted(imported):
    raw, result = imported
    events = result.events
    cancelled = raw["Invoice"].str.startswith("C") & raw["Customer ID"].notna()
    cancelled &= raw["StockCode"] != "ADJUST"
    kept = ~raw[cancelled].duplicated()
    assert (events["event_type"] == "refund").sum() == int(kept.sum())
    assert (events.loc[events["event_type"] == "refund", "amount"] > 0).all()
    # SOURCE.md: 515 exact duplicate rows (11 of them anonymous), each counted once.
    assert result.duplicates_removed == 515


def test_naive_uk_times_are_converted_to_utc(imported):
    raw, result = imported
    first = result.events.iloc[0]
    assert str(first["event_time"]) == "2009-12-01 09:28:00+00:00"  # GMT in winter
    july = raw[raw["InvoiceDate"].str.startswith("2011-07") & raw["Customer ID"].notna()].iloc[0]
    event = result.events[result.events["order_id"] == july["Invoice"]].iloc[0]
    summer_time = pd.Timestamp(july["InvoiceDate"], tz="UTC") - pd.Timedelta(hours=1)
    assert event["event_time"] == summer_time  # BST is one hour ahead of UTC


def test_countries_go_to_the_customers_table(imported, online_retail_path):
    raw, result = imported
    attributes = online_retail_customer_attributes(read_source(online_retail_path)[0])
    customers, quarantine = build_customers(result.events, attributes)
    assert len(customers) == 262 and customers["customer_id"].is_unique
    assert quarantine.empty
    assert customers["country"].notna().all()
    assert set(customers["country"]) <= set(raw["Country"].unique())
