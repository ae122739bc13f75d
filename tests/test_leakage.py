"""No leakage across the cutoff, as properties over random small shops (run on DuckDB).

Features at ``as_of`` may only see events before it; labels only events in
``[as_of, as_of + horizon)``. Each property draws a random event set around the cutoff, then a
variant in which the events of one time region are kept, dropped or changed and new ones added,
and checks that what must not depend on that region is unchanged. Event times favour the edges of
every window and horizon, where an off-by-one (``<=`` for ``<``) would leak.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.contract import EVENT_COLUMNS, EVENT_TYPES, MONETARY_EVENT_TYPES
from features.definitions import (
    DAY_S,
    FeatureQueries,
    FeatureRules,
    feature_queries,
    label_table,
)
from features.engine import assemble_features, connect_duckdb, execute, tables_from_frames
from features.ingest import finalize_events

AS_OF = pd.Timestamp("2024-06-01", tz="UTC")
HORIZONS = {"churn": 90, "propensity": 30, "cltv": 60}
RULES = FeatureRules()
PAST_START_S, FUTURE_END_S = -400 * DAY_S, 150 * DAY_S  # event offsets from AS_OF, in seconds
REGULARS, NEWCOMER = ("c1", "c2", "c3"), "c4"  # the newcomer is first seen at or after AS_OF
ORDER_IDS = ("o1", "o2", "o3", "o4", "o5")
CATEGORIES = ("home", "toys", "garden")
PROPERTY_SETTINGS = settings(derandomize=True, deadline=None, max_examples=25)


def _edges() -> list[int]:
    """Offsets on and next to the cutoff, every feature window and every horizon."""
    days = {0, *RULES.order_windows_days, *RULES.activity_windows_days, RULES.churn_lookback_days}
    edges = {d * sign * DAY_S for d in days for sign in (-1, 1)}
    edges |= {h * DAY_S for h in HORIZONS.values()}
    return sorted({e + nudge for e in edges for nudge in (-1, 0, 1)})


EDGES = _edges()
# Where a leak starts: the last second before the cutoff, the cutoff, and each horizon's end.
CRITICAL = sorted({-1, 0} | {h * DAY_S + nudge for h in HORIZONS.values() for nudge in (-1, 0)})


@st.composite
def event_rows(draw, start_s: int, end_s: int) -> dict:
    """One contract-valid event whose offset from AS_OF lies in ``[start_s, end_s)``.

    Three times in four the offset is an end of the range, an edge of a window or a horizon, or
    a critical instant, and about half the events are purchases or refunds, so that a leak at a
    boundary shows within few examples.
    """
    offset = draw(
        st.integers(start_s, end_s - 1)
        | st.sampled_from([start_s, end_s - 1])
        | st.sampled_from([e for e in EDGES if start_s <= e < end_s] or [start_s])
        | st.sampled_from([e for e in CRITICAL if start_s <= e < end_s] or [start_s])
    )
    kind = draw(st.sampled_from(MONETARY_EVENT_TYPES) | st.sampled_from(EVENT_TYPES))
    monetary = kind in MONETARY_EVENT_TYPES
    return {
        "offset_s": offset,
        "customer_id": draw(st.sampled_from(REGULARS + (NEWCOMER,) if offset >= 0 else REGULARS)),
        "event_type": kind,
        "order_id": draw(st.sampled_from(ORDER_IDS)) if monetary else None,
        "amount": draw(st.integers(1, 50_000)) / 100 if monetary else None,
        "quantity": draw(st.none() | st.integers(1, 5)),
        "product_id": None,
        "category": draw(st.none() | st.sampled_from(CATEGORIES)),
        "channel": "web",
    }


def shops() -> st.SearchStrategy[list[dict]]:
    return st.lists(event_rows(PAST_START_S, FUTURE_END_S), min_size=8, max_size=40)


@st.composite
def changed_in(draw, rows: list[dict], start_s: int, end_s: int) -> list[dict]:
    """``rows`` with each event in ``[start_s, end_s)`` kept, dropped or changed, plus new ones."""
    out = []
    for row in rows:
        inside = start_s <= row["offset_s"] < end_s
        action = draw(st.sampled_from(("keep", "drop", "change"))) if inside else "keep"
        if action == "keep":
            out.append(row)
        elif action == "change":
            out.append(draw(event_rows(start_s, end_s)))
    return out + draw(st.lists(event_rows(start_s, end_s), min_size=1, max_size=6))


@st.composite
def customer_tables(draw) -> pd.DataFrame:
    """Every customer, signed up before or after the cutoff (the newcomer after), or unknown."""
    regular = [draw(st.none() | st.integers(PAST_START_S, FUTURE_END_S)) for _ in REGULARS]
    newcomer = draw(st.none() | st.integers(0, FUTURE_END_S))
    return customers_frame([*REGULARS, NEWCOMER], [*regular, newcomer])


def customers_frame(ids: list[str], signup_offsets_s: list[int | None]) -> pd.DataFrame:
    signups = [None if s is None else AS_OF + pd.Timedelta(seconds=s) for s in signup_offsets_s]
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="string"),
            "first_seen": pd.to_datetime(pd.Series(signups, dtype=object), utc=True),
            "country": pd.Series(["FR"] * len(ids), dtype="string"),
            "acquisition_channel": pd.Series(["organic"] * len(ids), dtype="string"),
        }
    )


def events_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["offset_s", *EVENT_COLUMNS])
    frame["event_time"] = AS_OF + pd.to_timedelta(frame["offset_s"].astype("int64"), unit="s")
    frame = frame.drop(columns="offset_s").astype({"amount": "float64", "quantity": "float64"})
    return finalize_events(frame)


@pytest.fixture(scope="module")
def duckdb():
    """One connection and the feature and label queries, compiled once to SQL.

    Compiling the Ibis expressions takes far longer than running them on a few events. The
    queries read the tables by name, so each example only re-registers "events" and "customers".
    """
    con = connect_duckdb()
    events, customers = tables_from_frames(con, events_frame([]), customers_frame([], []))
    features = feature_queries(events, customers, AS_OF, RULES).as_dict()
    queries = {
        "features": {name: con.compile(expr) for name, expr in features.items()},
        "labels": con.compile(label_table(events, customers, AS_OF, HORIZONS, RULES)),
    }
    return con, queries


def run_query(duckdb, kind: str, rows: list[dict], customers: pd.DataFrame) -> pd.DataFrame:
    con, queries = duckdb
    tables_from_frames(con, events_frame(rows), customers)
    if kind == "features":
        compiled = FeatureQueries(**{name: con.sql(sql) for name, sql in queries[kind].items()})
        return assemble_features(con, compiled, AS_OF, RULES)
    return execute(con, con.sql(queries[kind]))


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, check_exact=False, rtol=1e-9)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_events_at_or_after_the_cutoff_never_change_features(duckdb, data):
    """Nor who gets labels and who is churn-eligible: that too is known at the cutoff."""
    rows, customers = data.draw(shops()), data.draw(customer_tables())
    variant = data.draw(changed_in(rows, 0, FUTURE_END_S))
    assert_same(
        run_query(duckdb, "features", variant, customers),
        run_query(duckdb, "features", rows, customers),
    )
    known = ["customer_id", "as_of", "churn_eligible"]
    assert_same(
        run_query(duckdb, "labels", variant, customers)[known],
        run_query(duckdb, "labels", rows, customers)[known],
    )


@pytest.mark.parametrize("target", list(HORIZONS))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_events_at_or_after_the_horizon_never_change_the_label(duckdb, target, data):
    rows, customers = data.draw(shops()), data.draw(customer_tables())
    variant = data.draw(changed_in(rows, HORIZONS[target] * DAY_S, FUTURE_END_S))
    columns = ["customer_id", "as_of", "churn_eligible", target]
    before, after = (
        run_query(duckdb, "labels", rows, customers),
        run_query(duckdb, "labels", variant, customers),
    )
    assert_same(after[columns], before[columns])


@PROPERTY_SETTINGS
@given(data=st.data())
def test_events_before_the_cutoff_never_change_labels(duckdb, data):
    """Past events decide who is known and who is churn-eligible, never what happens next."""
    rows, customers = data.draw(shops()), data.draw(customer_tables())
    variant = data.draw(changed_in(rows, PAST_START_S, 0))
    before, after = (
        run_query(duckdb, "labels", rows, customers),
        run_query(duckdb, "labels", variant, customers),
    )
    both = before.merge(after, on=["customer_id", "as_of"], suffixes=("_before", "_after"))
    for target in ("propensity", "cltv"):
        assert_unchanged(both, target)
    same_eligibility = both["churn_eligible_before"] == both["churn_eligible_after"]
    assert_unchanged(both[same_eligibility], "churn")


def assert_unchanged(both: pd.DataFrame, column: str) -> None:
    pd.testing.assert_series_equal(
        both[f"{column}_after"],
        both[f"{column}_before"],
        check_dtype=False,
        check_names=False,
        rtol=1e-9,
    )
