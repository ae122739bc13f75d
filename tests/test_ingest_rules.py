"""One test per event-contract rule: a violating row lands in quarantine with the right reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract import MONETARY_EVENT_TYPES
from features.ingest import RULES, AmountOutlierRule, flag_amount_outliers
from synthetic.shop import ShopSpec, generate_shop
from tests.conftest import GOOD_PURCHASE, GOOD_VIEW, ingest_rows

VIOLATIONS = {
    "missing_customer_id": {**GOOD_PURCHASE, "customer_id": "   "},
    "control_characters": {**GOOD_PURCHASE, "customer_id": "c\x001"},
    "missing_event_time": {**GOOD_PURCHASE, "event_time": None},
    "unparseable_event_time": {**GOOD_PURCHASE, "event_time": "yesterday-ish"},
    "future_event_time": {**GOOD_PURCHASE, "event_time": "2030-01-01T00:00:00Z"},
    "missing_event_type": {**GOOD_PURCHASE, "event_type": None},
    "unknown_event_type": {**GOOD_PURCHASE, "event_type": "wishlist_add"},
    "missing_order_id": {**GOOD_PURCHASE, "order_id": ""},
    "wrong_type_amount": {**GOOD_PURCHASE, "amount": "12,50 EUR"},
    "missing_amount": {**GOOD_PURCHASE, "event_type": "refund", "amount": None},
    "non_finite_amount": {**GOOD_PURCHASE, "amount": "inf"},
    "non_positive_amount": {**GOOD_PURCHASE, "amount": "-5"},
    "unexpected_amount": {**GOOD_VIEW, "amount": "3.0"},
    "amount_outlier": {**GOOD_PURCHASE, "amount": "1e12"},
    "wrong_type_quantity": {**GOOD_PURCHASE, "quantity": "1.5"},
    "non_positive_quantity": {**GOOD_PURCHASE, "quantity": "0"},
}


def test_every_rule_has_a_violation_case():
    source_only = {"accounting_entry"}  # set by a source mapping, tested with Online Retail II
    assert set(VIOLATIONS) == {rule.reason for rule in RULES} - source_only


@pytest.mark.parametrize("reason", sorted(VIOLATIONS))
def test_violating_row_is_quarantined_with_reason(reason):
    # Rows without a customer id are quarantined only when the shop asks for it (see below).
    # A second good order: the outlier rule needs a typical amount to measure against.
    another = {**GOOD_PURCHASE, "order_id": "o2"}
    rows = [GOOD_PURCHASE, VIOLATIONS[reason], GOOD_VIEW, another]
    result = ingest_rows(rows, anonymous="reject")
    assert len(result.events) == 3
    assert result.quarantine["reason"].tolist() == [reason]
    row = result.quarantine.iloc[0]
    assert row["source_row"] == 1 and row["source_file"] == "events.csv"
    original = json.loads(row["original"])
    assert original == {k: VIOLATIONS[reason].get(k) for k in GOOD_PURCHASE}
    assert result.reconciles


def test_row_breaking_several_rules_lists_them_all_first_one_wins():
    bad = {**GOOD_PURCHASE, "customer_id": None, "amount": "-1", "quantity": "-2"}
    quarantine = ingest_rows([bad], anonymous="reject").quarantine
    assert quarantine.loc[0, "reason"] == "missing_customer_id"
    assert quarantine.loc[0, "all_reasons"] == (
        "missing_customer_id;non_positive_amount;non_positive_quantity"
    )
    # Keeping anonymous rows does not excuse their other faults: the next rule names the cause.
    kept = ingest_rows([bad], anonymous="keep")
    assert kept.quarantine.loc[0, "reason"] == "non_positive_amount"
    assert kept.quarantine.loc[0, "all_reasons"] == quarantine.loc[0, "all_reasons"]
    assert kept.anonymous_rows == 0


def test_rows_without_a_customer_id_are_anonymous_not_errors():
    guest = {**GOOD_PURCHASE, "customer_id": "  ", "order_id": "g1"}
    result = ingest_rows([GOOD_PURCHASE, guest, guest, GOOD_VIEW])
    assert result.quarantine.empty and len(result.events) == 2
    assert result.anonymous_rows == 1 and result.duplicates_removed == 1
    assert result.anonymous["order_id"].tolist() == ["g1"]
    assert result.anonymous["customer_id"].isna().all()
    assert result.anonymous["amount"].tolist() == [float(GOOD_PURCHASE["amount"])]
    assert result.reconciles
    rejected = ingest_rows([GOOD_PURCHASE, guest, GOOD_VIEW], anonymous="reject")
    assert rejected.anonymous is None
    assert rejected.quarantine["reason"].tolist() == ["missing_customer_id"]


def test_times_in_any_zone_are_stored_as_utc():
    rows = [
        {**GOOD_VIEW, "event_time": "2024-06-01T12:00:00+02:00"},
        {**GOOD_VIEW, "event_time": "2024-06-01 12:00:00"},  # naive: read in the source zone
        {**GOOD_VIEW, "customer_id": "c2", "event_time": "06/01/2024 12:00"},  # US-style export
    ]
    events = ingest_rows(rows, timezone="Europe/London").events
    assert str(events["event_time"].dt.tz) == "UTC"
    assert sorted(events["event_time"].dt.strftime("%H:%M")) == ["10:00", "11:00", "11:00"]


def test_exact_duplicates_are_removed_and_counted():
    result = ingest_rows([GOOD_PURCHASE, GOOD_PURCHASE, GOOD_VIEW, GOOD_PURCHASE])
    assert result.duplicates_removed == 2
    assert len(result.events) == 2 and result.quarantine.empty


def test_accepted_events_have_contract_dtypes():
    events = ingest_rows([GOOD_PURCHASE, GOOD_VIEW]).events
    assert list(events.columns) == list(GOOD_PURCHASE)
    expected = {
        "customer_id": "string",
        "event_time": "datetime64[ns, UTC]",
        "amount": "float64",
        "quantity": "Int64",
    }
    assert {c: str(events[c].dtype) for c in expected} == expected
    purchase = events[events["event_type"] == "purchase"].iloc[0]
    assert purchase["amount"] == pytest.approx(19.90) and purchase["quantity"] == 2
    assert events["event_time"].is_monotonic_increasing


GOOD_ROWS = st.sampled_from([GOOD_PURCHASE, GOOD_VIEW])
BAD_ROWS = st.sampled_from(list(VIOLATIONS.values()))
TIMES = st.datetimes(
    min_value=pd.Timestamp("2020-01-01").to_pydatetime(),
    max_value=pd.Timestamp("2024-12-31").to_pydatetime(),
)


@st.composite
def mixed_rows(draw):
    rows = []
    for _ in range(draw(st.integers(1, 40))):
        row = dict(draw(st.one_of(GOOD_ROWS, BAD_ROWS)))
        if draw(st.booleans()) and row.get("event_time") and "2030" not in row["event_time"]:
            row["event_time"] = draw(TIMES).isoformat()
        rows.append(row)
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_rows())
def test_random_mixes_always_reconcile(rows):
    result = ingest_rows(rows)
    assert result.reconciles
    kept = len(result.events) + result.anonymous_rows + len(result.quarantine)
    assert kept + result.duplicates_removed == len(rows)
    assert result.quarantine["source_row"].is_unique
    assert not result.events.duplicated().any()


def test_amount_outlier_rule_leaves_ordinary_orders_alone_and_catches_an_absurd_one():
    events = generate_shop(ShopSpec(n_customers=400), seed=3).events
    monetary = events["event_type"].isin(MONETARY_EVENT_TYPES)
    flagged, about = flag_amount_outliers(events["amount"], monetary, AmountOutlierRule())
    assert not flagged.any() and about["flagged"] == 0
    assert about["cutoff_amount"] > 1_000 * about["median_amount"]

    absurd = pd.concat([events["amount"], pd.Series([1e12])], ignore_index=True)
    flagged, about = flag_amount_outliers(
        absurd, pd.concat([monetary, pd.Series([True])]).reset_index(drop=True), AmountOutlierRule()
    )
    assert flagged.tolist() == [False] * len(events) + [True] and about["flagged"] == 1


def test_control_characters_name_the_id_column_at_fault_and_only_for_that_reason():
    rows = [
        {**GOOD_PURCHASE, "order_id": "o\x1b2"},
        {**GOOD_PURCHASE, "product_id": "p\u200b3", "order_id": "o3"},
        {**GOOD_PURCHASE, "customer_id": None, "order_id": "o\x074"},  # missing id comes first
    ]
    quarantine = ingest_rows(rows, anonymous="reject").quarantine
    assert quarantine["reason"].tolist() == [
        "control_characters",
        "control_characters",
        "missing_customer_id",
    ]
    assert quarantine["column"].tolist() == ["order_id", "product_id", "customer_id"]
