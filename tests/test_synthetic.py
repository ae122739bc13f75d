"""The synthetic shop: determinism, schema, the event contract, dirt, and real latent signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.contract import (
    CUSTOMER_COLUMNS,
    EVENT_COLUMNS,
    EVENT_TYPES,
    MONETARY_EVENT_TYPES,
    SENSITIVE_CUSTOMER_COLUMNS,
)
from synthetic.shop import DIRTY_KINDS, ShopSpec, SyntheticShop, generate_shop

SPEC = ShopSpec(n_customers=2_000, dirty_fraction=0.01, duplicate_fraction=0.005)
SEED = 7
END = pd.Timestamp(SPEC.end, tz="UTC")
SORT_KEYS = ["event_time", "customer_id", "event_type", "order_id"]
LATENT_COLUMNS = [
    "customer_id",
    "is_buyer",
    "purchase_rate_per_day",
    "dropout_prob",
    "dropout_time",
    "mean_order_value",
    "refund_prob",
    "engagement",
    "favourite_category",
]


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return generate_shop(SPEC, seed=SEED)


@pytest.fixture(scope="module")
def clean(shop: SyntheticShop) -> pd.DataFrame:
    """Events without contract violations and without the appended duplicates."""
    events = shop.events
    ok = ~contract_violations(events, shop.customers.customer_id)
    return events[ok & ~events.duplicated()]


def contract_violations(events: pd.DataFrame, known_ids: pd.Series) -> pd.Series:
    """True for rows breaking a rule of the event contract (what ingest should quarantine)."""
    start = pd.Timestamp(SPEC.start, tz="UTC")
    money = events.event_type.isin(MONETARY_EVENT_TYPES)
    bad = ~events.customer_id.isin(set(known_ids)) | ~events.event_type.isin(EVENT_TYPES)
    bad |= events.event_time.isna() | (events.event_time < start) | (events.event_time >= END)
    positive_amount = (events.amount > 0) & np.isfinite(events.amount)
    bad |= money & (events.order_id.isna() | ~positive_amount)
    bad |= ~money & (events.order_id.notna() | events.amount.notna())
    bad |= events.quantity.notna() & ~(events.quantity > 0)
    return bad


# --- determinism and schema ------------------------------------------------------------------


def test_same_seed_gives_identical_frames(shop: SyntheticShop) -> None:
    again = generate_shop(SPEC, seed=SEED)
    pd.testing.assert_frame_equal(shop.events, again.events)
    pd.testing.assert_frame_equal(shop.customers, again.customers)
    pd.testing.assert_frame_equal(shop.latent, again.latent)


def test_different_seed_gives_different_frames(shop: SyntheticShop) -> None:
    other = generate_shop(SPEC, seed=SEED + 1)
    assert not shop.events.equals(other.events)
    assert not shop.latent.equals(other.latent)


def test_events_have_contract_columns_and_dtypes(shop: SyntheticShop) -> None:
    events = shop.events
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert str(events.event_time.dtype) == "datetime64[ns, UTC]"
    assert events.amount.dtype == np.float64 and events.quantity.dtype == np.float64
    for column in ("customer_id", "event_type", "order_id", "product_id", "category", "channel"):
        assert events[column].dtype == object, column
    assert events.index.equals(pd.RangeIndex(len(events)))
    quantities = events.quantity.dropna()
    assert (quantities == np.round(quantities)).all()


def test_events_are_sorted_stably(shop: SyntheticShop) -> None:
    resorted = shop.events.sort_values(SORT_KEYS, kind="stable", na_position="last")
    assert resorted.index.equals(pd.RangeIndex(len(resorted)))


def test_customers_are_unique_and_complete(shop: SyntheticShop, clean: pd.DataFrame) -> None:
    customers = shop.customers
    assert list(customers.columns) == [*CUSTOMER_COLUMNS, *SENSITIVE_CUSTOMER_COLUMNS]
    assert len(customers) == SPEC.n_customers and customers.customer_id.is_unique
    assert customers.customer_id.is_monotonic_increasing
    assert str(customers.first_seen.dtype) == "datetime64[ns, UTC]"
    assert customers.marketing_consent.dtype == bool
    assert 0.75 < customers.marketing_consent.mean() < 0.85
    first_event = clean.groupby("customer_id").event_time.min()
    first_seen = customers.set_index("customer_id").first_seen.loc[first_event.index]
    assert (first_seen <= first_event).all()


def test_latent_matches_customers(shop: SyntheticShop) -> None:
    latent = shop.latent
    assert list(latent.columns) == LATENT_COLUMNS
    assert latent.customer_id.equals(shop.customers.customer_id)
    assert str(latent.dropout_time.dtype) == "datetime64[ns, UTC]"
    assert latent.is_buyer.dtype == bool
    assert latent.is_buyer.mean() == pytest.approx(1 - SPEC.never_buy_share, abs=0.04)
    assert (latent.dropout_time.dropna() < END).all()
    assert latent.loc[~latent.is_buyer, "dropout_time"].isna().all()


# --- the contract, dirt and duplicates -------------------------------------------------------


def test_without_dirt_every_row_obeys_the_contract() -> None:
    spotless = ShopSpec(n_customers=500, dirty_fraction=0.0, duplicate_fraction=0.0)
    shop = generate_shop(spotless, seed=1)
    assert not contract_violations(shop.events, shop.customers.customer_id).any()
    assert not shop.events.duplicated().any()


def test_order_lines_share_time_customer_and_are_bought_only_by_buyers(clean) -> None:
    purchases = clean[clean.event_type == "purchase"]
    per_order = purchases.groupby("order_id").agg(
        times=("event_time", "nunique"), customers=("customer_id", "nunique")
    )
    assert (per_order.times == 1).all() and (per_order.customers == 1).all()
    assert purchases.product_id.notna().all() and purchases.category.notna().all()


def test_refunds_follow_their_purchase(clean: pd.DataFrame) -> None:
    bought = clean[clean.event_type == "purchase"].groupby("order_id").event_time.first()
    refunds = clean[clean.event_type == "refund"]
    assert len(refunds) > 0
    delay = refunds.event_time.array - bought.loc[refunds.order_id].array
    assert (delay >= pd.Timedelta(days=1)).all() and (delay <= pd.Timedelta(days=30)).all()


def test_dirty_and_duplicate_counts_match_fractions(shop: SyntheticShop) -> None:
    events = shop.events
    dirty = contract_violations(events, shop.customers.customer_id)
    n_duplicates = int(events[~dirty].duplicated().sum())
    n_clean = len(events) - int(dirty.sum()) - n_duplicates
    assert int(dirty.sum()) == round(SPEC.dirty_fraction * n_clean)
    assert n_duplicates == round(SPEC.duplicate_fraction * n_clean)


def test_every_kind_of_defect_appears(shop: SyntheticShop) -> None:
    events = shop.events
    purchase = events.event_type == "purchase"
    seen = {
        "null_customer_id": events.customer_id.isna(),
        "empty_customer_id": events.customer_id == "",
        "nat_event_time": events.event_time.isna(),
        "future_event_time": events.event_time >= END,
        "unknown_event_type": ~events.event_type.isin(EVENT_TYPES),
        "purchase_without_order_id": purchase & events.order_id.isna(),
        "purchase_without_amount": purchase & events.amount.isna(),
        "nonpositive_amount": events.amount <= 0,
        "inf_amount": np.isinf(events.amount),
        "nonpositive_quantity": events.quantity <= 0,
    }
    assert set(seen) == set(DIRTY_KINDS)
    per_kind = contract_violations(events, shop.customers.customer_id).sum() // len(DIRTY_KINDS)
    for kind, mask in seen.items():
        assert mask.sum() >= per_kind, kind


# --- latent signal ---------------------------------------------------------------------------


def test_churners_are_quieter_at_the_end(shop: SyntheticShop, clean: pd.DataFrame) -> None:
    latent = shop.latent.set_index("customer_id")
    established = shop.customers.set_index("customer_id").first_seen < END - pd.Timedelta(days=180)
    churned = latent.dropout_time < END - pd.Timedelta(days=60)
    alive = latent.is_buyer & latent.dropout_time.isna()
    recent = clean[clean.event_time >= END - pd.Timedelta(days=60)].customer_id.value_counts()
    recent = recent.reindex(latent.index, fill_value=0)
    churned_mean = recent[churned & established].mean()
    alive_mean = recent[alive & established].mean()
    assert churned_mean < 0.5 * alive_mean


def test_engagement_fades_in_the_month_before_dropout(shop, clean) -> None:
    latent = shop.latent.dropna(subset=["dropout_time"]).set_index("customer_id")
    first_seen = shop.customers.set_index("customer_id").first_seen.loc[latent.index]
    latent = latent[first_seen < latent.dropout_time - pd.Timedelta(days=150)]
    engaged = clean[clean.event_type.isin(["page_view", "email_open"])]
    engaged = engaged[engaged.customer_id.isin(latent.index)]
    days_before = (
        latent.dropout_time.loc[engaged.customer_id].array - engaged.event_time.array
    ) / pd.Timedelta(days=1)
    last_month = ((days_before > 0) & (days_before <= 30)).sum() / 30
    months_before = ((days_before > 30) & (days_before <= 150)).sum() / 120
    assert len(latent) > 50
    assert last_month < 0.75 * months_before


def test_observed_behaviour_tracks_latent_rate_and_spend(shop, clean) -> None:
    latent = shop.latent.set_index("customer_id")
    purchases = clean[clean.event_type == "purchase"]
    orders = purchases.groupby("order_id").agg(
        customer_id=("customer_id", "first"), value=("amount", "sum")
    )
    per_customer = orders.groupby("customer_id").value.agg(["size", "mean"])
    buyers = latent[latent.is_buyer]
    n_orders = per_customer["size"].reindex(buyers.index, fill_value=0)
    assert n_orders.corr(buyers.purchase_rate_per_day, method="spearman") > 0.3
    repeat = per_customer[per_customer["size"] >= 3]
    truth = latent.mean_order_value.loc[repeat.index]
    assert repeat["mean"].corr(truth, method="spearman") > 0.6
    assert set(purchases.customer_id) <= set(buyers.index)


def test_purchases_peak_in_november_and_december() -> None:
    # All customers exist from the start, so churn alone would make later months quieter.
    spec = ShopSpec(n_customers=2_000, existing_share=1.0, dirty_fraction=0, duplicate_fraction=0)
    events = generate_shop(spec, seed=3).events
    times = events.loc[events.event_type == "purchase", "event_time"]

    def per_day(first: str, last: str) -> float:
        start, stop = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC")
        return ((times >= start) & (times < stop)).sum() / ((stop - start).days)

    assert per_day("2024-11-01", "2025-01-01") > 1.2 * per_day("2024-09-01", "2024-11-01")
    hours = times.dt.hour
    assert hours.between(18, 21).mean() / 4 > 3 * hours.between(2, 5).mean() / 4
