"""Seeded, vectorised generator of a realistic online shop: raw events, customers, latent truth.

Each customer gets a latent truth (BG/NBD-like purchase rate and dropout, Gamma-Gamma spend,
refund propensity, category taste, an engagement that fades in the weeks before dropout) which is
rendered into raw events in the contract columns, plus deliberately dirty and duplicated rows so
that validation has something to catch. The `latent` frame is the ground truth that tests use to
check that models find real signal.

All processes are drawn in "operational time", in which the shop's activity rate is flat, and
mapped to calendar time through the inverse cumulative seasonal intensity (hour of day, day of
week, the Nov-Dec peak), so every process shares one realistic seasonality. Everything is numpy
vectorised over customers and events: strings are only built at the very end from integer codes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.contract import EVENT_COLUMNS, EVENT_TYPES

CATEGORIES = ("home", "fashion", "beauty", "electronics", "garden", "toys", "books", "food")
PRODUCTS_PER_CATEGORY = 250
_N_PRODUCTS = len(CATEGORIES) * PRODUCTS_PER_CATEGORY
CHANNELS = ("web", "app", "email", "phone")
COUNTRIES = ("DE", "FR", "NL", "GB", "ES", "IT", "PL", "SE")
COUNTRY_WEIGHTS = (0.34, 0.16, 0.12, 0.12, 0.09, 0.08, 0.05, 0.04)
ACQUISITION_CHANNELS = ("organic", "paid_search", "social", "email", "referral")
ACQUISITION_WEIGHTS = (0.38, 0.25, 0.17, 0.10, 0.10)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_WEIGHTS = (0.14, 0.27, 0.23, 0.17, 0.12, 0.07)
AGE_SPEND_FACTORS = (0.75, 0.95, 1.10, 1.15, 1.05, 0.90)  # mild, so fairness audits see something
GENDERS = ("female", "male", "non_binary", "undisclosed")
GENDER_WEIGHTS = (0.52, 0.43, 0.02, 0.03)
UNKNOWN_EVENT_TYPES = ("wishlist_add", "PURCHASE", "session_start")
DIRTY_KINDS = (
    "null_customer_id",
    "empty_customer_id",
    "nat_event_time",
    "future_event_time",
    "unknown_event_type",
    "purchase_without_order_id",
    "purchase_without_amount",
    "nonpositive_amount",
    "inf_amount",
    "nonpositive_quantity",
)
_PURCHASE_DEFECTS_FROM = DIRTY_KINDS.index("purchase_without_order_id")
_TYPE_CODE = {name: code for code, name in enumerate(EVENT_TYPES + UNKNOWN_EVENT_TYPES)}
_WEB, _APP, _EMAIL, _PHONE = range(len(CHANNELS))
_MINUTE = 1.0 / 1440.0  # in days
# Relative activity by hour of day (UTC) and weekday (Mon..Sun): evenings and weekends peak.
_HOUR_PROFILE = np.array(
    [0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.25, 0.45, 0.65, 0.80, 0.90, 0.95,
     1.00, 1.00, 0.95, 0.95, 1.00, 1.10, 1.30, 1.50, 1.60, 1.50, 1.10, 0.60]
)  # fmt: skip
_WEEKDAY_PROFILE = np.array([0.95, 0.92, 0.93, 0.95, 1.00, 1.15, 1.20])
_CAMPAIGN_WEEKDAYS = (1, 4, 6, 2, 5, 0, 3)  # Tuesday and Friday first


@dataclass(frozen=True)
class ShopSpec:
    """Knobs of the simulated shop; the defaults give about 1.6M events for 20,000 customers.

    n_customers: customers ever seen (signed up before `start` or arriving in the window).
    start, end: ISO dates (UTC) of the window; `end` is exclusive.
    never_buy_share: share of customers who browse and open emails but never purchase.
    dirty_fraction: deliberately bad rows added, as a share of the clean rows (0 disables).
    duplicate_fraction: exact copies of clean rows appended, as a share of them (0 disables).
    existing_share: share of customers already signed up at `start`.
    growth: log of the ratio of arrival density at `end` to that at `start` (0 = flat).
    mean_order_interval_days: 1 / population-mean purchase rate of buyers.
    rate_shape: Gamma shape of purchase rates; below 1 gives a heavy tail of frequent buyers.
    dropout_beta: Beta(a, b) of the probability of dropping out after each order.
    spend_shape: Gamma-Gamma p, the shape of order values around a customer's mean.
    spend_heterogeneity: Gamma-Gamma q (> 1); smaller gives a heavier tail of big spenders.
    mean_order_value: population mean of the customers' mean order values.
    refund_beta: Beta(a, b) of the per-line refund probability.
    taste_concentration: Dirichlet alpha of category taste (smaller = more focused customers).
    session_rate_per_day: browsing sessions per day of a typical engaged customer.
    fade_days: (low, high) of the uniform length of the engagement fade before dropout.
    email_campaigns_per_week: regular newsletter sends (daily from Nov 20 to Dec 20).
    churn_ticket_share: share of churners filing a support ticket 5-40 days before dropping.
    ticket_rate_per_day: background support-ticket rate of an engaged customer.
    """

    n_customers: int = 20_000
    start: str = "2024-01-01"
    end: str = "2026-01-01"
    never_buy_share: float = 0.35
    dirty_fraction: float = 0.002
    duplicate_fraction: float = 0.001
    existing_share: float = 0.25
    growth: float = 1.0
    mean_order_interval_days: float = 60.0
    rate_shape: float = 0.9
    dropout_beta: tuple[float, float] = (1.0, 5.0)
    spend_shape: float = 4.0
    spend_heterogeneity: float = 3.0
    mean_order_value: float = 70.0
    refund_beta: tuple[float, float] = (1.0, 12.0)
    taste_concentration: float = 0.5
    session_rate_per_day: float = 0.05
    fade_days: tuple[float, float] = (21.0, 60.0)
    email_campaigns_per_week: int = 2
    churn_ticket_share: float = 0.3
    ticket_rate_per_day: float = 0.002


@dataclass
class SyntheticShop:
    """The generated shop: raw `events`, the `customers` table and per-customer `latent` truth."""

    events: pd.DataFrame
    customers: pd.DataFrame
    latent: pd.DataFrame


@dataclass(frozen=True)
class _Clock:
    """Maps operational days (flat activity) to calendar days since `start` (seasonal)."""

    n_days: float
    op_edges: np.ndarray
    cal_edges: np.ndarray

    def to_calendar(self, op_days: np.ndarray) -> np.ndarray:
        return np.interp(op_days, self.op_edges, self.cal_edges)


@dataclass(frozen=True)
class _Population:
    """Latent per-customer arrays (index = customer code); times in operational days."""

    arrival: np.ndarray
    first_seen: np.ndarray  # calendar days since start, negative for existing customers
    is_buyer: np.ndarray
    rate: np.ndarray
    dropout_prob: np.ndarray
    spend_rate: np.ndarray  # Gamma-Gamma nu: order values ~ Gamma(p, scale=1/nu)
    mean_order_value: np.ndarray
    refund_prob: np.ndarray
    taste_cum: np.ndarray  # (n_categories, n) cumulative category taste
    favourite: np.ndarray
    engagement: np.ndarray
    fade_days: np.ndarray
    residual: np.ndarray
    fade_tau: np.ndarray
    app_share: np.ndarray
    open_prob: np.ndarray
    click_prob: np.ndarray
    profile: dict[str, np.ndarray]
    dropout: np.ndarray | None = None  # operational days, inf while alive at end


@dataclass(frozen=True)
class _Rows:
    """Event rows as parallel code arrays; strings are materialised only in `_events_frame`."""

    cust: np.ndarray  # int32 customer code; -1 = null, -2 = empty string (dirty rows only)
    days: np.ndarray  # float64 calendar days since start; NaN = NaT
    etype: np.ndarray  # int16 code into EVENT_TYPES + UNKNOWN_EVENT_TYPES
    order: np.ndarray  # int32 order code, -1 = none
    amount: np.ndarray
    qty: np.ndarray
    product: np.ndarray  # int32, -1 = none
    category: np.ndarray  # int16, -1 = none
    channel: np.ndarray  # int16, -1 = none


_ROW_DTYPES = {
    "cust": np.int32, "days": np.float64, "etype": np.int16, "order": np.int32,
    "amount": np.float64, "qty": np.float64, "product": np.int32, "category": np.int16,
    "channel": np.int16,
}  # fmt: skip
_ROW_FILL = {"order": -1, "amount": np.nan, "qty": np.nan, "product": -1, "category": -1,
             "channel": -1}  # fmt: skip


def generate_shop(spec: ShopSpec, seed: int) -> SyntheticShop:
    """Simulate the shop described by `spec`; the same spec and seed give identical frames.

    Events are stably sorted by (event_time, customer_id, event_type, order_id), NaT/None last.
    """
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    clock = _build_clock(spec)
    pop = _draw_population(spec, clock, rngs[0])
    order_cust, order_op, dropout = _draw_order_schedule(pop, clock.n_days, rngs[1])
    pop = replace(pop, dropout=dropout)
    clean = _concat_rows(
        [
            *_render_orders(spec, pop, clock, order_cust, order_op, rngs[2]),
            _draw_browse_sessions(spec, pop, clock, rngs[3]),
            _draw_email_events(spec, pop, clock, rngs[4]),
            _draw_support_tickets(spec, pop, clock, rngs[5]),
        ]
    )
    clean = _take_rows(clean, np.flatnonzero(clean.days < clock.n_days))
    first_seen = _first_seen_days(pop, clean)
    rows = _add_dirty_and_duplicates(spec, clean, clock.n_days, rngs[6], rngs[7])
    del clean
    return SyntheticShop(
        events=_events_frame(spec, rows, len(pop.arrival)),
        customers=_customers_frame(spec, pop, first_seen),
        latent=_latent_frame(spec, pop, clock),
    )


# --- time ----------------------------------------------------------------------------------


def _build_clock(spec: ShopSpec) -> _Clock:
    """Cumulative seasonal intensity on an hourly grid, scaled so both clocks span the window."""
    start, end = pd.Timestamp(spec.start, tz="UTC"), pd.Timestamp(spec.end, tz="UTC")
    n_days = (end - start) / pd.Timedelta(days=1)
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    intensity = (
        _HOUR_PROFILE[hours.hour]
        * _WEEKDAY_PROFILE[hours.dayofweek]
        * _yearly_profile(hours.dayofyear.to_numpy())
    )
    op_edges = np.concatenate(([0.0], np.cumsum(intensity)))
    op_edges *= n_days / op_edges[-1]
    cal_edges = np.arange(len(hours) + 1) / 24.0
    return _Clock(n_days=n_days, op_edges=op_edges, cal_edges=cal_edges)


def _yearly_profile(day_of_year: np.ndarray) -> np.ndarray:
    """Black-Friday and Christmas peaks, January sales, a summer dip (relative intensity)."""

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((day_of_year - centre) / width) ** 2)

    peak = 0.5 * bump(338, 18) + 0.8 * bump(331, 4) + 0.5 * bump(352, 6)
    return 1.0 + peak + 0.2 * bump(8, 6) - 0.2 * bump(200, 25)


def _days_to_ns(spec: ShopSpec, days: np.ndarray) -> np.ndarray:
    """Calendar days since start to int64 epoch nanoseconds at whole microseconds (NaN -> NaT),
    the precision Parquet, DuckDB and Spark all keep."""
    start_ns = pd.Timestamp(spec.start, tz="UTC").value
    ns = np.full(len(days), np.iinfo(np.int64).min, dtype=np.int64)
    ok = ~np.isnan(days)
    ns[ok] = start_ns + np.round(days[ok] * 86_400_000_000).astype(np.int64) * 1_000
    return ns


def _to_utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")


# --- latent population -----------------------------------------------------------------------


def _draw_population(spec: ShopSpec, clock: _Clock, rng: np.random.Generator) -> _Population:
    """Draw arrivals, buying behaviour, engagement and the customer profile."""
    n = spec.n_customers
    arrival, first_seen = _draw_arrivals(spec, clock, rng)
    buying = _draw_buying(spec, rng, n)
    profile = _draw_profile(rng, n)
    buying["spend_rate"] /= np.asarray(AGE_SPEND_FACTORS)[profile["age_band"]]
    buying["mean_order_value"] = spec.spend_shape / buying["spend_rate"]
    engagement = _draw_engagement(spec, rng, buying["rate"], buying["is_buyer"], profile)
    return _Population(
        arrival=arrival, first_seen=first_seen, profile=profile, **buying, **engagement
    )


def _draw_arrivals(spec: ShopSpec, clock: _Clock, rng: np.random.Generator):
    """Existing customers at day 0; newcomers with density growing like exp(growth * t / T)."""
    n, n_days = spec.n_customers, clock.n_days
    existing = rng.random(n) < spec.existing_share
    u = rng.random(n)
    growth = max(spec.growth, 1e-9)
    arrival = np.where(existing, 0.0, n_days * np.log1p(u * np.expm1(growth)) / growth)
    signed_up_before = -rng.uniform(1.0, 365.0, n)
    first_seen = np.where(existing, signed_up_before, clock.to_calendar(arrival))
    return arrival, first_seen


def _draw_buying(spec: ShopSpec, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """BG/NBD-like rate and dropout, Gamma-Gamma spend, refund propensity, category taste."""
    is_buyer = rng.random(n) >= spec.never_buy_share
    mean_rate = 1.0 / spec.mean_order_interval_days
    rate = rng.gamma(spec.rate_shape, mean_rate / spec.rate_shape, n).clip(1 / 720, 0.5)
    q, p = spec.spend_heterogeneity, spec.spend_shape
    gamma_scale = spec.mean_order_value * (q - 1.0) / p  # so that E[p / nu] = mean_order_value
    taste = rng.dirichlet(np.full(len(CATEGORIES), spec.taste_concentration), n)
    return {
        "is_buyer": is_buyer,
        "rate": np.where(is_buyer, rate, 0.0),
        "dropout_prob": rng.beta(*spec.dropout_beta, n).clip(1e-3, 1.0),
        "spend_rate": rng.gamma(q, 1.0 / gamma_scale, n),
        "refund_prob": rng.beta(*spec.refund_beta, n),
        "taste_cum": np.ascontiguousarray(np.cumsum(taste, axis=1).T),
        "favourite": taste.argmax(axis=1),
    }


def _draw_engagement(spec, rng, rate, is_buyer, profile) -> dict[str, np.ndarray]:
    """Browsing and email intensity; frequent buyers browse more, everyone is noisy."""
    relative_rate = np.where(is_buyer, rate * spec.mean_order_interval_days, 1.0)
    noise = rng.lognormal(0.0, 0.6, len(rate))
    consent = profile["marketing_consent"]
    return {
        "engagement": spec.session_rate_per_day * noise * relative_rate**0.4,
        "fade_days": rng.uniform(*spec.fade_days, len(rate)),
        "residual": rng.uniform(0.03, 0.2, len(rate)),
        "fade_tau": rng.gamma(2.0, 90.0, len(rate)),
        "app_share": rng.beta(1.5, 1.5, len(rate)),
        "open_prob": np.where(consent, rng.beta(1.5, 5.0, len(rate)), 0.0),
        "click_prob": rng.beta(1.5, 6.0, len(rate)),
    }


def _draw_profile(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Country, acquisition channel, consent and the sensitive attributes, as codes."""

    def pick(weights: tuple[float, ...]) -> np.ndarray:
        return rng.choice(len(weights), n, p=np.asarray(weights) / sum(weights))

    return {
        "country": pick(COUNTRY_WEIGHTS),
        "acquisition_channel": pick(ACQUISITION_WEIGHTS),
        "marketing_consent": rng.random(n) < 0.8,
        "age_band": pick(AGE_WEIGHTS),
        "gender": pick(GENDER_WEIGHTS),
    }


def _activity(pop: _Population, cust: np.ndarray, op_days: np.ndarray) -> np.ndarray:
    """Engagement multiplier in [residual, 1]: buyers fade linearly over `fade_days` before
    dropout and stay at the residual after it; non-buyers decay exponentially from sign-up."""
    residual = pop.residual[cust]
    to_dropout = (pop.dropout[cust] - op_days) / pop.fade_days[cust]
    buyer_level = np.clip(to_dropout, 0.0, 1.0)
    since_signup = np.maximum(op_days - pop.first_seen[cust], 0.0)
    browser_level = np.exp(-since_signup / pop.fade_tau[cust])
    level = np.where(pop.is_buyer[cust], buyer_level, browser_level)
    return residual + (1.0 - residual) * level


def _thin_poisson(pop, rate_per_day, n_days, rng) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer Poisson times on [arrival, end) with intensity rate * activity (thinning)."""
    span = n_days - pop.arrival
    counts = rng.poisson(rate_per_day * span)
    cust = np.repeat(np.arange(len(span), dtype=np.int32), counts)
    op_days = pop.arrival[cust] + rng.random(len(cust)) * span[cust]
    keep = rng.random(len(cust)) < _activity(pop, cust, op_days)
    return cust[keep], op_days[keep]


# --- group helpers ---------------------------------------------------------------------------


def _group_starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def _rank_in_group(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each group of a flat array laid out group after group."""
    return np.arange(counts.sum()) - np.repeat(_group_starts(counts), counts)


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group."""
    total = np.concatenate(([0.0], np.cumsum(values)))
    return total[1:] - np.repeat(total[_group_starts(counts)], counts)


# --- orders ----------------------------------------------------------------------------------


def _draw_order_schedule(pop: _Population, n_days: float, rng: np.random.Generator):
    """Order times (operational days) and dropout time per customer, BG/NBD style.

    Without dropout a buyer's orders are a Poisson process on [arrival, end): n_possible of
    them, placed as uniform order statistics via exponential spacings. The customer drops after
    order number n_until_drop ~ Geometric(p), so only the first min(n_possible, n_until_drop)
    happen; dropout then falls a random part of one more inter-order gap after the last order.
    """
    span = n_days - pop.arrival
    n_possible = rng.poisson(pop.rate * span)
    n_until_drop = rng.geometric(pop.dropout_prob)
    n_orders = np.minimum(n_possible, n_until_drop)
    cust = np.repeat(np.arange(len(span), dtype=np.int32), n_orders)
    spacing = _group_cumsum(rng.standard_exponential(len(cust)), n_orders)
    last = np.zeros(len(span))
    has_orders = n_orders > 0
    last[has_orders] = spacing[np.cumsum(n_orders)[has_orders] - 1]
    total = last + rng.gamma(n_possible - n_orders + 1.0)
    order_op = pop.arrival[cust] + span[cust] * spacing / total[cust]
    last_op = pop.arrival + span * last / total
    gap = rng.random(len(span)) * rng.standard_exponential(len(span)) / np.maximum(pop.rate, 1e-9)
    drops = has_orders & (n_until_drop <= n_possible) & (last_op + gap < n_days)
    dropout = np.where(drops, last_op + gap, np.inf)
    return cust, order_op, dropout


def _render_orders(spec, pop, clock, order_cust, order_op, rng) -> list[_Rows]:
    """Purchase line items, the short checkout session before each order, and refunds."""
    order_days = clock.to_calendar(order_op)
    order_code = np.empty(len(order_days), dtype=np.int32)  # order ids increase with time
    order_code[np.argsort(order_days, kind="stable")] = np.arange(len(order_days))
    n_lines = 1 + np.minimum(rng.poisson(0.6, len(order_days)), 7)
    line_order = np.repeat(np.arange(len(order_days)), n_lines)
    cust = order_cust[line_order]
    category = _sample_categories(pop.taste_cum, cust, rng)
    channel = np.where(rng.random(len(order_days)) < pop.app_share[order_cust], _APP, _WEB)
    lines = _make_rows(
        cust, order_days[line_order], "purchase",
        order=order_code[line_order],
        amount=_draw_line_amounts(spec, pop.spend_rate[order_cust], n_lines, rng),
        qty=1.0 + rng.poisson(0.3, len(cust)),
        product=_sample_products(category, rng), category=category,
        channel=channel[line_order],
    )  # fmt: skip
    checkout = _render_checkout_sessions(lines, n_lines, line_order, rng)
    refunds = _draw_refunds(pop, lines, rng)
    return [lines, *checkout, refunds]


def _draw_line_amounts(spec, spend_rate, n_lines, rng) -> np.ndarray:
    """Gamma-Gamma order values split over the order's lines by random shares (cents)."""
    order_value = rng.gamma(spec.spend_shape, 1.0 / spend_rate)
    weights = rng.standard_exponential(n_lines.sum())
    line_order = np.repeat(np.arange(len(n_lines)), n_lines)
    share = weights / np.add.reduceat(weights, _group_starts(n_lines))[line_order]
    return np.maximum(np.round(order_value[line_order] * share, 2), 0.01)


def _render_checkout_sessions(lines: _Rows, n_lines, line_order, rng) -> list[_Rows]:
    """For each line a product_view then add_to_cart, then one checkout_start, minutes before."""
    back = n_lines[line_order] - 1 - _rank_in_group(n_lines)  # lines still to add after this
    view_days = lines.days - _MINUTE * (9 + 4 * back + rng.uniform(0, 3, len(back)))
    add_days = view_days + _MINUTE * rng.uniform(0.2, 1.5, len(back))
    kw = {"product": lines.product, "category": lines.category, "channel": lines.channel}
    views = _make_rows(lines.cust, view_days, "product_view", **kw)
    adds = _make_rows(lines.cust, add_days, "add_to_cart", qty=lines.qty, **kw)
    first = _group_starts(n_lines)
    checkout_days = lines.days[first] - _MINUTE * rng.uniform(0.5, 4.0, len(first))
    checkouts = _make_rows(
        lines.cust[first], checkout_days, "checkout_start", channel=lines.channel[first]
    )
    return [views, adds, checkouts]


def _draw_refunds(pop: _Population, lines: _Rows, rng: np.random.Generator) -> _Rows:
    """Some lines are refunded 1-30 days later, fully (60%) or in part (amount only)."""
    picked = np.flatnonzero(rng.random(len(lines.cust)) < pop.refund_prob[lines.cust])
    src = _take_rows(lines, picked)
    full = rng.random(len(picked)) < 0.6
    share = np.where(full, 1.0, rng.uniform(0.2, 0.9, len(picked)))
    return _make_rows(
        src.cust, src.days + rng.uniform(1.0, 30.0, len(picked)), "refund",
        order=src.order, amount=np.maximum(np.round(src.amount * share, 2), 0.01),
        qty=np.where(full, src.qty, np.nan), product=src.product, category=src.category,
        channel=src.channel,
    )  # fmt: skip


def _sample_categories(taste_cum: np.ndarray, cust: np.ndarray, rng) -> np.ndarray:
    """One category per row from the row's customer taste (inverse CDF, one pass per category)."""
    u = rng.random(len(cust))
    category = np.zeros(len(cust), dtype=np.int16)
    for cumulative in taste_cum[:-1]:
        category += u > cumulative[cust]
    return category


def _sample_products(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A product within the category, Zipf-like popularity (low index = bestseller)."""
    index = (PRODUCTS_PER_CATEGORY * rng.random(len(category)) ** 3).astype(np.int32)
    return category.astype(np.int32) * PRODUCTS_PER_CATEGORY + index


# --- browsing, email, support ------------------------------------------------------------------


def _draw_browse_sessions(spec, pop, clock, rng) -> _Rows:
    """Browsing sessions (page and product views, carts, abandoned checkouts) that fade."""
    cust, op_days = _thin_poisson(pop, pop.engagement, clock.n_days, rng)
    start = clock.to_calendar(op_days)
    length = _MINUTE * (1.0 + rng.exponential(12.0, len(cust)))
    category = _sample_categories(pop.taste_cum, cust, rng)
    channel = np.where(rng.random(len(cust)) < pop.app_share[cust], _APP, _WEB).astype(np.int16)
    n_adds = np.where(rng.random(len(cust)) < 0.12, 1 + rng.poisson(0.3, len(cust)), 0)
    counts = {
        "page_view": 1 + rng.poisson(1.5, len(cust)),
        "product_view": rng.poisson(1.3, len(cust)),
        "add_to_cart": n_adds,
        "checkout_start": (n_adds > 0) & (rng.random(len(cust)) < 0.15),
    }
    parts = {}
    for event_type, count in counts.items():
        session = np.repeat(np.arange(len(cust)), count)
        offset = 1.0 if event_type == "checkout_start" else rng.random(len(session))
        kw = {} if event_type in ("page_view", "checkout_start") else {
            "category": category[session],
            "product": _sample_products(category[session], rng),
        }  # fmt: skip
        days = start[session] + offset * length[session]
        parts[event_type] = _make_rows(
            cust[session], days, event_type, channel=channel[session], **kw
        )
    parts["remove_from_cart"] = _draw_cart_removals(parts["add_to_cart"], rng)
    return _concat_rows(list(parts.values()))


def _draw_cart_removals(adds: _Rows, rng: np.random.Generator) -> _Rows:
    """A quarter of cart additions are removed again a few minutes later."""
    src = _take_rows(adds, np.flatnonzero(rng.random(len(adds.cust)) < 0.25))
    return replace(
        src,
        days=src.days + _MINUTE * rng.exponential(3.0, len(src.cust)),
        etype=np.full(len(src.cust), _TYPE_CODE["remove_from_cart"], dtype=np.int16),
    )


def _draw_email_events(spec, pop, clock, rng) -> _Rows:
    """Opens of newsletter campaigns (consenting customers, fading like browsing) and clicks."""
    campaigns = _campaign_days(spec, clock.n_days)
    per_day = len(campaigns) / clock.n_days
    cust, op_days = _thin_poisson(pop, pop.open_prob * per_day, clock.n_days, rng)
    sent = np.searchsorted(campaigns, clock.to_calendar(op_days), side="right") - 1
    keep = sent >= 0
    keep[keep] = campaigns[sent[keep]] >= pop.first_seen[cust[keep]]
    cust, sent = cust[keep], campaigns[sent[keep]]
    open_days = sent + rng.exponential(0.3, len(cust))
    opens = _make_rows(cust, open_days, "email_open", channel=_EMAIL)
    clicked = np.flatnonzero(rng.random(len(cust)) < pop.click_prob[cust])
    click_days = open_days[clicked] + _MINUTE * rng.exponential(2.0, len(clicked))
    clicks = _make_rows(cust[clicked], click_days, "email_click", channel=_EMAIL)
    return _concat_rows([opens, clicks])


def _campaign_days(spec: ShopSpec, n_days: float) -> np.ndarray:
    """Send times (calendar days): fixed weekdays at 09:30, daily from Nov 20 to Dec 20."""
    dates = pd.date_range(spec.start, periods=int(np.ceil(n_days)), freq="D", tz="UTC")
    weekdays = _CAMPAIGN_WEEKDAYS[: max(0, min(spec.email_campaigns_per_week, 7))]
    month, day = dates.month, dates.day
    holiday = ((month == 11) & (day >= 20)) | ((month == 12) & (day <= 20))
    send = np.isin(dates.dayofweek, weekdays) | holiday
    return np.flatnonzero(send) + 9.5 / 24.0


def _draw_support_tickets(spec, pop, clock, rng) -> _Rows:
    """A share of churners complain 5-40 days before dropping; a low background rate too."""
    churned = np.flatnonzero(np.isfinite(pop.dropout))
    complain = churned[rng.random(len(churned)) < spec.churn_ticket_share]
    before = pop.dropout[complain] - rng.uniform(5.0, 40.0, len(complain))
    ok = before >= pop.arrival[complain]
    background_cust, background_op = _thin_poisson(
        pop, np.full(len(pop.arrival), spec.ticket_rate_per_day), clock.n_days, rng
    )
    cust = np.concatenate((complain[ok].astype(np.int32), background_cust))
    op_days = np.concatenate((before[ok], background_op))
    channel = rng.choice([_EMAIL, _WEB, _PHONE], len(cust), p=[0.5, 0.3, 0.2])
    return _make_rows(cust, clock.to_calendar(op_days), "support_ticket", channel=channel)


# --- rows: build, combine, corrupt ---------------------------------------------------------------


def _make_rows(cust, days, event_type: str, **columns) -> _Rows:
    """Rows of one event type; columns not given are absent (NaN / -1 codes)."""
    n = len(cust)
    columns = {"cust": cust, "days": days, "etype": _TYPE_CODE[event_type], **columns}
    arrays = {}
    for name, dtype in _ROW_DTYPES.items():
        value = columns.get(name, _ROW_FILL.get(name))
        arrays[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,))
    return _Rows(**arrays)


def _concat_rows(parts: list[_Rows]) -> _Rows:
    return _Rows(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in _ROW_DTYPES})


def _take_rows(rows: _Rows, index: np.ndarray) -> _Rows:
    return _Rows(**{k: getattr(rows, k)[index] for k in _ROW_DTYPES})


def _first_seen_days(pop: _Population, clean: _Rows) -> np.ndarray:
    """Sign-up day, moved earlier when a checkout session started minutes before it."""
    first_seen = pop.first_seen.copy()
    np.minimum.at(first_seen, clean.cust, clean.days)
    return first_seen


def _add_dirty_and_duplicates(spec, clean: _Rows, n_days, dirty_rng, dup_rng) -> _Rows:
    """Append corrupted copies (one defect each) and exact duplicates of clean rows."""
    n_clean = len(clean.cust)
    dirty = _draw_dirty_rows(clean, round(spec.dirty_fraction * n_clean), n_days, dirty_rng)
    n_dup = min(round(spec.duplicate_fraction * n_clean), n_clean)
    duplicates = _take_rows(clean, np.sort(dup_rng.choice(n_clean, n_dup, replace=False)))
    return _concat_rows([clean, dirty, duplicates])


def _draw_dirty_rows(clean: _Rows, n_dirty: int, n_days: float, rng) -> _Rows:
    """Copies of random clean rows with exactly one defect each, kinds in rotation.

    Defects about money and order ids are applied to purchase rows, the others to any row.
    """
    kind = np.arange(n_dirty) % len(DIRTY_KINDS)
    purchases = np.flatnonzero(clean.etype == _TYPE_CODE["purchase"])
    any_row = rng.integers(0, len(clean.cust), n_dirty)
    if len(purchases) == 0:
        kind = kind % _PURCHASE_DEFECTS_FROM
        purchases = any_row
    purchase_row = purchases[rng.integers(0, len(purchases), n_dirty)]
    src = np.where(kind >= _PURCHASE_DEFECTS_FROM, purchase_row, any_row)
    rows = _take_rows(clean, src)
    return _apply_defects(rows, kind, n_days, rng)


def _apply_defects(rows: _Rows, kind: np.ndarray, n_days: float, rng) -> _Rows:
    """Apply DIRTY_KINDS[kind[i]] to row i (the row arrays are fresh copies)."""
    is_kind = {name: kind == code for code, name in enumerate(DIRTY_KINDS)}
    coin = rng.random(len(kind)) < 0.5
    rows.cust[is_kind["null_customer_id"]] = -1
    rows.cust[is_kind["empty_customer_id"]] = -2
    future = n_days + rng.uniform(1.0, 400.0, len(kind))
    rows.days[:] = np.where(is_kind["future_event_time"], future, rows.days)
    rows.days[is_kind["nat_event_time"]] = np.nan
    unknown = len(EVENT_TYPES) + rng.integers(0, len(UNKNOWN_EVENT_TYPES), len(kind))
    rows.etype[:] = np.where(is_kind["unknown_event_type"], unknown, rows.etype)
    rows.order[is_kind["purchase_without_order_id"]] = -1
    rows.amount[is_kind["purchase_without_amount"]] = np.nan
    bad_amount = np.where(coin, 0.0, -rows.amount)
    rows.amount[:] = np.where(is_kind["nonpositive_amount"], bad_amount, rows.amount)
    rows.amount[is_kind["inf_amount"]] = np.inf
    bad_qty = np.where(coin, 0.0, -rows.qty)
    rows.qty[:] = np.where(is_kind["nonpositive_quantity"], bad_qty, rows.qty)
    return rows


# --- frames ----------------------------------------------------------------------------------


def _sort_order(rows: _Rows, ns: np.ndarray, n_customers: int) -> np.ndarray:
    """Stable order by (event_time, customer_id, event_type, order_id), missing values last.

    Codes are ranked like their strings: ids are zero-padded and order codes follow id order.
    """
    big = np.iinfo(np.int64).max
    time_key = np.where(ns == np.iinfo(np.int64).min, big, ns)
    cust_key = np.where(rows.cust == -1, n_customers, rows.cust)  # "" (-2) sorts first
    names = EVENT_TYPES + UNKNOWN_EVENT_TYPES
    type_rank = np.argsort(np.argsort(np.array(names), kind="stable"), kind="stable")
    order_key = np.where(rows.order < 0, big, rows.order.astype(np.int64))
    return np.lexsort((order_key, type_rank[rows.etype], cust_key, time_key))


def _vocab(values, *, missing: tuple = (None,)) -> np.ndarray:
    """Object array [*missing, *values] for code -> string lookups (code + len(missing))."""
    vocab = np.empty(len(missing) + len(values), dtype=object)
    vocab[: len(missing)] = missing
    vocab[len(missing) :] = values
    return vocab


def _customer_ids(n_customers: int) -> list[str]:
    width = max(6, len(str(max(n_customers - 1, 0))))
    return [f"C{i:0{width}d}" for i in range(n_customers)]


def _events_frame(spec: ShopSpec, rows: _Rows, n_customers: int) -> pd.DataFrame:
    """Sort the code rows and materialise the contract columns one at a time (peak memory)."""
    ns = _days_to_ns(spec, rows.days)
    perm = _sort_order(rows, ns, n_customers)
    n_orders = int(rows.order.max()) + 1 if len(rows.order) else 0
    width = max(8, len(str(n_orders)))
    lookups = {  # column -> (code array, vocabulary, code offset)
        "customer_id": (rows.cust, _vocab(_customer_ids(n_customers), missing=("", None)), 2),
        "event_type": (rows.etype, _vocab(EVENT_TYPES + UNKNOWN_EVENT_TYPES, missing=()), 0),
        "order_id": (rows.order, _vocab([f"O{i:0{width}d}" for i in range(n_orders)]), 1),
        "product_id": (rows.product, _vocab([f"P{i:05d}" for i in range(_N_PRODUCTS)]), 1),
        "category": (rows.category, _vocab(CATEGORIES), 1),
        "channel": (rows.channel, _vocab(CHANNELS), 1),
    }
    columns = {
        name: vocab[codes[perm] + offset] for name, (codes, vocab, offset) in lookups.items()
    }
    columns.update(event_time=_to_utc(ns[perm]), amount=rows.amount[perm], quantity=rows.qty[perm])
    return pd.DataFrame({name: columns[name] for name in EVENT_COLUMNS}, copy=False)


def _customers_frame(spec: ShopSpec, pop: _Population, first_seen: np.ndarray) -> pd.DataFrame:
    """One row per customer, sorted by customer_id, with the sensitive attributes last."""
    p = pop.profile
    return pd.DataFrame(
        {
            "customer_id": _vocab(_customer_ids(len(first_seen)), missing=()),
            "first_seen": _to_utc(_days_to_ns(spec, first_seen)),
            "country": _vocab(COUNTRIES, missing=())[p["country"]],
            "acquisition_channel": _vocab(ACQUISITION_CHANNELS, missing=())[
                p["acquisition_channel"]
            ],
            "marketing_consent": p["marketing_consent"].astype(bool),
            "age_band": _vocab(AGE_BANDS, missing=())[p["age_band"]],
            "gender": _vocab(GENDERS, missing=())[p["gender"]],
        }
    )


def _latent_frame(spec: ShopSpec, pop: _Population, clock: _Clock) -> pd.DataFrame:
    """The truth per customer. Buying fields are NaN for never-buyers and their dropout_time is
    NaT: they never drop in the BG/NBD sense, their engagement just fades after sign-up."""
    buyer = pop.is_buyer
    alive = ~np.isfinite(pop.dropout)
    dropout_days = np.where(alive, np.nan, clock.to_calendar(np.where(alive, 0.0, pop.dropout)))
    return pd.DataFrame(
        {
            "customer_id": _vocab(_customer_ids(len(buyer)), missing=()),
            "is_buyer": buyer.astype(bool),
            "purchase_rate_per_day": pop.rate,
            "dropout_prob": np.where(buyer, pop.dropout_prob, np.nan),
            "dropout_time": _to_utc(_days_to_ns(spec, dropout_days)),
            "mean_order_value": np.where(buyer, pop.mean_order_value, np.nan),
            "refund_prob": np.where(buyer, pop.refund_prob, np.nan),
            "engagement": pop.engagement,
            "favourite_category": _vocab(CATEGORIES, missing=())[pop.favourite],
        }
    )
