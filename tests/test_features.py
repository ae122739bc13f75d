"""Point-in-time features and labels on a tiny hand-written shop, with hand-computed answers."""

from __future__ import annotations

import pandas as pd
import pytest

from features.catalogue import KEY_COLUMNS, build_catalogue
from features.definitions import FeatureRules, label_table
from features.engine import compute_features, connect_duckdb, execute, tables_from_frames
from features.ingest import finalize_events

AS_OF = pd.Timestamp("2024-03-01", tz="UTC")
HORIZONS = {"churn": 90, "propensity": 30, "cltv": 60}
RULES = FeatureRules()


def _event(customer, time, kind, order=None, amount=None, quantity=None, category=None):
    return {
        "customer_id": customer,
        "event_time": pd.Timestamp(time, tz="UTC"),
        "event_type": kind,
        "order_id": order,
        "amount": amount,
        "quantity": quantity,
        "product_id": None,
        "category": category,
        "channel": "web",
    }


def tiny_events() -> pd.DataFrame:
    rows = [
        _event("A", "2024-01-10", "purchase", "o1", 10.0, 1, "home"),
        _event("A", "2024-01-10", "purchase", "o1", 20.0, 2, "toys"),
        _event("A", "2024-02-09", "purchase", "o2", 30.0, 1, "home"),
        _event("A", "2024-02-15", "refund", "o2", 5.0),
        _event("A", "2024-02-20", "page_view"),
        _event("A", "2024-02-25", "email_open"),
        _event("A", "2024-02-25 00:05", "email_click"),
        _event("A", "2024-02-28", "support_ticket"),
        _event("A", "2024-03-10", "purchase", "o3", 50.0, 1, "home"),  # after the cutoff
        _event("B", "2024-02-01", "page_view"),
        _event("B", "2024-03-20", "purchase", "o4", 15.0, 1, "toys"),
        _event("D", "2024-03-05", "page_view"),  # first seen after the cutoff
        _event("A", "2024-06-01", "purchase", "o5", 99.0, 1, "home"),  # beyond every horizon
    ]
    return finalize_events(pd.DataFrame(rows))


def tiny_customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D"],
            "first_seen": pd.to_datetime(
                ["2024-01-10", "2024-02-01", "2024-02-15", "2024-03-05"], utc=True
            ),
            "country": ["FR", "DE", "FR", "ES"],
            "acquisition_channel": ["organic", "paid_search", "email", "social"],
            "marketing_consent": [True, False, True, True],
        }
    )


@pytest.fixture(scope="module")
def tables():
    con = connect_duckdb()
    events, customers = tables_from_frames(con, tiny_events(), tiny_customers())
    return con, events, customers


@pytest.fixture(scope="module")
def features(tables):
    con, events, customers = tables
    return compute_features(con, events, customers, AS_OF, RULES).set_index("customer_id")


EXPECTED = pd.DataFrame(
    {
        # frequency, monetary, recency, tenure
        "orders_total": [2, 0, 0],
        "orders_30d": [1, 0, 0],
        "orders_90d": [2, 0, 0],
        "spend_total": [60.0, 0.0, 0.0],
        "spend_30d": [30.0, 0.0, 0.0],
        "days_since_last_order": [21.0, None, None],
        "days_since_first_order": [51.0, None, None],
        "tenure_days": [51.0, 29.0, 15.0],
        # basket
        "avg_order_value": [30.0, None, None],
        "avg_items_per_order": [2.0, None, None],
        "avg_lines_per_order": [1.5, None, None],
        # intervals and trends
        "mean_interorder_days": [30.0, None, None],
        "recency_over_interval": [0.7, None, None],
        "order_trend_30_90": [1 / 3, 0.0, 0.0],
        "spend_trend_90_365": [45.0, 0.0, 0.0],
        # refunds
        "refunds_total": [1, 0, 0],
        "refund_amount_total": [5.0, 0.0, 0.0],
        "refund_rate": [5 / 60, None, None],
        "net_spend_total": [55.0, 0.0, 0.0],
        # categories
        "categories_bought": [2, 0, 0],
        "category_concentration": [5 / 9, None, None],
        # browsing, email, support
        "page_view_30d": [1, 1, 0],
        "days_since_last_page_view": [10.0, 29.0, None],
        "email_open_30d": [1, 0, 0],
        "email_click_rate_90d": [1.0, None, None],
        "support_ticket_30d": [1, 0, 0],
        "days_since_last_support_ticket": [2.0, None, None],
        "active_days_30d": [5, 1, 0],
        # attributes
        "country": ["FR", "DE", "FR"],
    },
    index=pd.Index(["A", "B", "C"], name="customer_id"),
)


def test_population_is_customers_known_before_the_cutoff(features):
    assert list(features.index) == ["A", "B", "C"]
    assert (features["as_of"] == AS_OF).all()


def test_every_feature_family_matches_hand_computed_values(features):
    actual = features[EXPECTED.columns].astype("float64", errors="ignore")
    expected = EXPECTED.astype("float64", errors="ignore")
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, atol=1e-9)


def test_catalogue_describes_exactly_the_feature_columns(features):
    catalogue = [info.name for info in build_catalogue(RULES)]
    assert len(catalogue) == len(set(catalogue))
    assert set(catalogue) == set(features.columns) - set(KEY_COLUMNS)
    for info in build_catalogue(RULES):
        assert info.render(3.0 if info.kind == "numeric" else "FR")
        assert "{" not in info.render(3.0 if info.kind == "numeric" else "FR")


def test_labels_match_hand_computed_values(tables):
    con, events, customers = tables
    labels = execute(con, label_table(events, customers, AS_OF, HORIZONS, RULES))
    expected = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "churn_eligible": [True, False, False],
            "churn": [0, None, None],
            "propensity": [1, 1, 0],
            "cltv": [50.0, 15.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(
        labels[expected.columns].astype({"churn": "float64"}),
        expected.astype({"churn": "float64"}),
        check_dtype=False,
    )


def test_churn_label_is_one_when_no_order_in_horizon(tables):
    con, events, customers = tables
    late = pd.Timestamp("2024-03-11", tz="UTC")  # after o3; o5 is 82 days later
    labels = execute(con, label_table(events, customers, late, {"churn": 60}, RULES))
    assert labels.set_index("customer_id").loc["A", "churn"] == 1
    assert labels["cltv"].isna().all() and labels["propensity"].isna().all()


def test_a_registered_target_without_a_label_expression_is_an_error(tables, monkeypatch):
    import dataclasses

    import features.definitions as definitions
    from features.targets import TARGETS

    extra = dataclasses.replace(TARGETS["cltv"], name="margin")
    monkeypatch.setattr(definitions, "TARGETS", {**TARGETS, "margin": extra})
    con, events, customers = tables
    with pytest.raises(KeyError, match="no label expression.*margin"):
        label_table(events, customers, AS_OF, HORIZONS, RULES)


def test_same_season_last_year_counts_only_the_label_window_a_year_earlier():
    rows = [
        _event("S", "2023-02-20", "purchase", "s0", 11.0, 1, "home"),  # before the window
        _event("S", "2023-03-01", "purchase", "s1", 40.0, 1, "home"),  # the day before it
        _event("S", "2023-05-29", "purchase", "s2", 2.0, 1, "home"),  # inside
        _event("S", "2023-05-30", "purchase", "s3", 7.0, 1, "home"),  # its last day
        _event("S", "2023-05-31", "purchase", "s5", 3.0, 1, "home"),  # the day after it
        _event("S", "2024-02-01", "purchase", "s4", 5.0, 1, "home"),
    ]
    customers = pd.DataFrame(
        {
            "customer_id": ["S"],
            "first_seen": pd.to_datetime(["2023-02-20"], utc=True),
            "country": ["FR"],
            "acquisition_channel": ["organic"],
            "marketing_consent": [True],
        }
    )
    con = connect_duckdb()
    events, table = tables_from_frames(con, finalize_events(pd.DataFrame(rows)), customers)
    rules = FeatureRules(seasonal_window_days=90)
    features = compute_features(con, events, table, AS_OF, rules).set_index("customer_id")
    # AS_OF is 2024-03-01; 365 days earlier is 2023-03-02 (2024 is a leap year); 90 days from
    # there end before 2023-05-31.
    window = pd.Timestamp(AS_OF) - pd.Timedelta(days=365)
    assert window == pd.Timestamp("2023-03-02", tz="UTC")
    assert features.loc["S", "orders_same_season_last_year"] == 2  # s2 and s3
    assert features.loc["S", "spend_same_season_last_year"] == pytest.approx(9.0)
    names = {info.name for info in build_catalogue(rules)}
    assert {"orders_same_season_last_year", "spend_same_season_last_year"} <= names
