"""The drift guard (`models.drift`): it refuses broken inputs and passes a shop that ages.

The cases are built from a small synthetic shop through the features engine: a reference snapshot
where a model would have been validated (its holdout cutoff) and a scoring snapshot months later,
either of healthy data or of data broken the way real feeds break.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.definitions import FeatureRules
from features.engine import compute_features, connect_duckdb, tables_from_frames
from features.ingest import finalize_events
from models.drift import (
    DriftRules,
    ageing_features,
    assess_model,
    decide,
    feature_psi,
    psi,
    refusal,
    window_profile,
)
from synthetic.shop import ShopSpec, generate_shop

RULES = FeatureRules()
AGEING = ageing_features(RULES)
LIMITS = DriftRules()
END = pd.Timestamp("2026-01-01", tz="UTC")
REFERENCE = pd.Timestamp("2025-07-01", tz="UTC")  # the holdout cutoff of the model being served
DAY = pd.Timedelta(days=1)
TRACKED = ["page_view", "product_view", "add_to_cart", "remove_from_cart", "checkout_start"]


def test_a_value_on_a_bin_edge_stays_on_its_side_under_last_bit_noise():
    """Sums of floats differ in their last bits between engine runs; a customer whose spend
    equals a bin edge (a value others share exactly) must not change the PSI."""
    expected = pd.Series(np.repeat([10.0, 20.0, 42.22, 50.0, 70.0], 20))
    actual = pd.Series([42.22] * 30 + [10.0] * 10)
    noisy = actual.copy()
    noisy[:30] = np.nextafter(42.22, 0.0)  # one ulp below the edge
    assert psi(expected, noisy) == psi(expected, actual)
    assert psi(expected, actual) > 0.1  # the shift itself is still seen


def test_identical_samples_have_no_drift_and_a_moved_sample_has_some():
    values = pd.Series(np.linspace(0, 100, 500))
    assert psi(values, values) == 0.0
    assert psi(values, values + 30) > 0.25


def test_a_feature_that_grows_with_time_is_compared_relative_to_the_snapshots_age():
    reference = pd.DataFrame({"tenure_days": np.linspace(0, 365, 400), "spend": np.arange(400.0)})
    aged = pd.DataFrame({"tenure_days": np.linspace(0, 730, 400), "spend": np.arange(400.0) * 2})
    values = feature_psi(reference, aged, ["tenure_days", "spend", "absent"], ["tenure_days"])
    assert list(values) == ["spend", "tenure_days"]  # worst first, unknown columns dropped
    assert values["tenure_days"] < 0.01 < psi(reference["tenure_days"], aged["tenure_days"])
    assert values["spend"] > 0.25


def test_the_window_profile_sums_the_last_window_of_the_feature_table():
    frame = pd.DataFrame(
        {
            "orders_30d": [0, 1, 2, 1],
            "spend_30d": [0.0, 10.0, 40.0, 30.0],
            "page_view_30d": [3, 0, 1, 0],
            "tenure_days": [10.0, 400.0, 50.0, 300.0],
        }
    )
    profile = window_profile(frame, LIMITS)
    assert profile["events"]["purchase"] == 4 and profile["events"]["page_view"] == 4
    assert profile["events"]["email_open"] is None  # no such column: not checked
    assert profile["buyers"] == 3 and profile["orders_per_buyer"] == pytest.approx(4 / 3)
    assert profile["median_order_amount"] == 20.0  # per buyer: 10, 20, 30
    assert profile["active"] == 4 and profile["new_share"] == 0.5  # tenure <= 90 days


# --- cases built from a synthetic shop -------------------------------------------------------


@pytest.fixture(scope="module")
def shop():
    spec = ShopSpec(n_customers=3000, dirty_fraction=0.0, duplicate_fraction=0.0)
    generated = generate_shop(spec, seed=5)
    return finalize_events(generated.events), generated.customers


def _features(events, customers, as_of) -> pd.DataFrame:
    con = connect_duckdb()
    return compute_features(con, *tables_from_frames(con, events, customers), as_of, RULES)


@pytest.fixture(scope="module")
def reference(shop):
    return _features(*shop, REFERENCE)


def _amounts_times_100(events, customers):
    """A currency or unit change: the last month's amounts in cents."""
    recent = (events["event_time"] >= END - 30 * DAY) & events["amount"].notna()
    return events.assign(amount=events["amount"].where(~recent, events["amount"] * 100)), customers


def _tracking_outage(events, customers):
    """No email or browsing events in the last 60 days (the tag or the mail feed broke)."""
    lost = events["event_type"].isin([*TRACKED, "email_open", "email_click"])
    return events[~(lost & (events["event_time"] >= END - 60 * DAY))], customers


def _rekeyed(events, customers, since=END - 60 * DAY):
    """Half the customers under new ids from ``since`` on (an id change upstream); the customer
    table has the new ids with the old attributes, first seen at their first new event."""
    half = set(np.sort(customers["customer_id"].unique())[::2])
    moved = events["customer_id"].isin(half) & (events["event_time"] >= since)
    ids = events["customer_id"].astype(object).where(~moved, "N" + events["customer_id"])
    events = events.assign(customer_id=ids.astype(events["customer_id"].dtype))
    first = events[moved].groupby("customer_id")["event_time"].min()
    renamed = customers.set_index("customer_id").loc[first.index.str[1:]].reset_index()
    renamed = renamed.assign(customer_id=first.index.to_numpy(), first_seen=first.to_numpy())
    return events, pd.concat([customers, renamed], ignore_index=True)


def _rekeyed_history(events, customers):
    """Half the customers under new ids over their whole history (a re-keyed backfill): the
    old ids are gone from the customer table too."""
    events, customers = _rekeyed(events, customers, since=events["event_time"].min())
    return events, customers[customers["customer_id"].isin(events["customer_id"])]


def _orders_loaded_twice(events, customers):
    """The last month's order feed replayed with fresh order ids (browsing untouched)."""
    again = events[(events["event_type"] == "purchase") & (events["event_time"] >= END - 30 * DAY)]
    again = again.assign(order_id="R" + again["order_id"])
    return pd.concat([events, again], ignore_index=True).sort_values("event_time"), customers


def _judge(reference: pd.DataFrame, current: pd.DataFrame) -> dict:
    columns = [c for c in reference.columns if c not in ("customer_id", "as_of")]
    assessed = assess_model("cltv", (reference, current), columns, AGEING, None, LIMITS)
    return decide({"cltv": assessed}, LIMITS, allow=False)


@pytest.mark.parametrize(
    ("broken", "check"),
    [
        (_amounts_times_100, "order_amount"),
        (_tracking_outage, "volume"),
        (_rekeyed, "new_customers"),
        (_rekeyed_history, "missing_customers"),
        (_orders_loaded_twice, "orders_per_buyer"),
    ],
)
def test_broken_inputs_are_refused_naming_the_check(shop, reference, broken, check):
    drift = _judge(reference, _features(*broken(*shop), END))
    refused = refusal(drift)
    assert refused is not None and refused["check"].split(":")[0] == check, drift["over_limit"]
    assert str(refused["limit"]) in refused["cause"].replace("%", "") or refused["limit"] < 1
    assert refused["hint"]


@pytest.mark.parametrize("months", [1, 6])
def test_a_shop_that_ages_passes(shop, reference, months):
    drift = _judge(reference, _features(*shop, REFERENCE + pd.DateOffset(months=months)))
    assert refusal(drift) is None, drift["over_limit"]
    assert "days_since_first_order" in drift["cltv"]["time_relative"]


def test_a_year_of_ageing_passes_where_raw_tenure_would_have_refused(shop):
    """The default data's situation: a model validated a year before the scoring date."""
    year_before = _features(*shop, END - pd.DateOffset(years=1))
    current = _features(*shop, END)
    drift = _judge(year_before, current)
    assert refusal(drift) is None, drift["over_limit"]
    raw = psi(year_before["days_since_first_order"], current["days_since_first_order"])
    assert raw > 0.25 > drift["cltv"]["psi"]["days_since_first_order"]


def test_shifted_predictions_refuse_and_the_operator_may_allow_them():
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(400)], "x": np.arange(400.0)})
    scores = (np.linspace(0, 1, 400), np.linspace(0.6, 1, 400))
    assessed = {"churn": assess_model("churn", (frame, frame), ["x"], [], scores, LIMITS)}
    refused = refusal(decide(assessed, LIMITS, allow=False))
    assert refused["check"] == "predictions" and "holdout predictions" in refused["cause"]
    allowed = decide(assessed, LIMITS, allow=True)
    assert allowed["over_limit"] == ["churn:predictions"] and refusal(allowed) is None
    steady = (scores[0], scores[0][::-1])
    calm = {"churn": assess_model("churn", (frame, frame), ["x"], [], steady, LIMITS)}
    assert refusal(decide(calm, LIMITS, allow=False)) is None


def test_a_few_new_customers_in_a_small_shop_are_not_an_id_change():
    """Ratios of small counts are noise: 3 new customers among 30 active against 1 of 30."""
    tenure = {"reference": [10.0] + [400.0] * 29, "current": [10.0] * 3 + [400.0] * 27}
    frames = [
        pd.DataFrame({"customer_id": range(30), "orders_30d": 1, "tenure_days": days})
        for days in tenure.values()
    ]
    assessed = {"cltv": assess_model("cltv", tuple(frames), [], [], None, LIMITS)}
    drift = decide(assessed, LIMITS, allow=False)
    assert drift["cltv"]["data"]["current"]["new_share"] == 0.1 and refusal(drift) is None


def test_the_most_specific_cause_comes_first():
    reference = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(200)],
            "orders_30d": [1] * 100 + [0] * 100,
            "spend_30d": [*np.linspace(10.0, 100.0, 100), *[0.0] * 100],
        }
    )
    current = reference.assign(spend_30d=reference["spend_30d"] * 100)
    assessed = {"cltv": assess_model("cltv", (reference, current), ["spend_30d"], [], None, LIMITS)}
    drift = decide(assessed, LIMITS, allow=False)
    assert drift["over_limit"] == ["cltv:order_amount", "cltv:feature:spend_30d"]
    assert "100.00x" in refusal(drift)["cause"] and "limit 1.5x" in refusal(drift)["cause"]
