"""BG/NBD + Gamma-Gamma in closed form with fixed parameters, and exact Shapley values.

pymc-marketing fits the parameters (maximum a posteriori, `models.bgnbd`); everything after the fit
is a plain function of four per-customer inputs, so a fitted model can score any cutoff, be
registered as a model of its own, and be explained exactly:

- frequency ``x`` = repeat orders (``orders_total - 1``);
- recency ``t_x`` = days from the first to the last order;
- age ``T`` = days from the first order to the cutoff;
- average spend ``m`` = mean order value.

The formulas are pymc-marketing's (Fader & Hardie), written on numpy arrays; the tests check them
against pymc-marketing on fitted models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd
from scipy.special import betaln, hyp2f1

# The features the probabilistic model reads, in the order its Shapley values are reported.
RFM_INPUTS = ("orders_total", "days_since_last_order", "days_since_first_order", "avg_order_value")


@dataclass(frozen=True)
class BGNBDParams:
    """BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, v; None when it could not be fitted)."""

    r: float
    alpha: float
    a: float
    b: float
    p: float | None = None
    q: float | None = None
    v: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> BGNBDParams:
        return cls(**{k: (None if v is None else float(v)) for k, v in values.items()})

    @property
    def population_spend(self) -> float:
        """Gamma-Gamma mean spend per order of a customer with no repeat order."""
        if self.p is None or self.q is None or self.v is None or self.q <= 1:
            return float("nan")
        return self.p * self.v / (self.q - 1)


@dataclass(frozen=True)
class Summary:
    """Per-customer BG/NBD inputs; ``buyer`` marks rows the model applies to."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray
    buyer: np.ndarray


def summarize(Z: np.ndarray) -> Summary:
    """BG/NBD inputs from the raw feature columns in `RFM_INPUTS` order (n x 4)."""
    orders, since_last, since_first, spend = (np.asarray(Z[:, i], float) for i in range(4))
    buyer = np.isfinite(orders) & (orders >= 1) & np.isfinite(since_first)
    buyer &= np.isfinite(since_last)
    T = np.where(buyer, np.maximum(since_first, 0.0), 1.0)
    t_x = np.where(buyer, np.clip(since_first - since_last, 0.0, T), 0.0)
    x = np.where(buyer, np.maximum(orders - 1, 0.0), 0.0)
    return Summary(x, t_x, T, np.asarray(spend, float), buyer)


def p_no_order(params: BGNBDParams, s: Summary, t: float) -> np.ndarray:
    """P(no order in (T, T + t]) given the history (Fader & Hardie 2019, section 5.3)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = s.x
    E, F, M = alpha + s.t_x, alpha + s.T + t, alpha + s.T
    beta_rep = betaln(a, b + x)
    K_E = betaln(a + 1, b + x - 1) - (r + x) * np.log(E)
    K_F = beta_rep - (r + x) * np.log(F)
    K_M = beta_rep - (r + x) * np.log(M)
    K1, K2 = np.maximum(K_E, K_F), np.maximum(K_E, K_M)
    numer = np.exp(K_E - K1) + np.exp(K_F - K1)
    denom = np.exp(K_E - K2) + np.exp(K_M - K2)
    return np.where(s.buyer, np.exp(K1 - K2) * numer / denom, np.nan)


def expected_orders(params: BGNBDParams, s: Summary, t: float) -> np.ndarray:
    """E[orders in (T, T + t]] given the history."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, T = s.x, s.T
    ratio = ((alpha + T) / (alpha + T + t)) ** (r + x)
    numerator = 1 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    numerator *= (a + b + x - 1) / (a - 1)
    denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + s.t_x)) ** (r + x)
    return np.where(s.buyer, numerator / denominator, np.nan)


def expected_spend(params: BGNBDParams, s: Summary) -> np.ndarray:
    """Gamma-Gamma expected spend per order; the population mean where spend is unknown."""
    if params.p is None or params.q is None or params.v is None:
        return np.full(len(s.x), np.nan)
    p, q = params.p, params.q
    weight = p * s.x / (p * s.x + q - 1)
    known = np.isfinite(s.m) & (s.m > 0)
    spend = (1 - weight) * params.population_spend + weight * np.where(known, s.m, 0.0)
    spend = np.where(known, spend, params.population_spend)
    return np.where(s.buyer, spend, np.nan)


def expected_value(params: BGNBDParams, s: Summary, t: float) -> np.ndarray:
    """Expected spend in (T, T + t]: expected orders times expected spend per order."""
    return expected_orders(params, s, t) * expected_spend(params, s)


MIN_DAYS = 0.01  # the shortest median searched for
_LOG_DAYS_TOLERANCE = 1e-9  # the bisection stops at this width in log-days (about 34 halvings)
CAP_HORIZONS = 4  # medians longer than this many horizons are reported as that (likely gone)


def bgnbd_median_days(
    params: BGNBDParams, s: Summary, horizon_days: float, cap_days: float
) -> np.ndarray:
    """BG/NBD median days to the next order: the t with P(no order in (T, T + t]) = 0.5.

    Vectorised bisection on log t between `MIN_DAYS` and ``cap_days``. Customers with P(no order
    in cap_days) >= 0.5 (likely gone) get ``cap_days``; non-buyers (``s.buyer`` False) NaN.
    ``cap_days`` must be at least ``horizon_days``, so that the cap never lands inside the window
    the labels observe (it would bias `median_calibration`).
    """
    if cap_days < horizon_days:
        raise ValueError(f"cap_days={cap_days} is below horizon_days={horizon_days}")
    low = np.full(len(s.x), np.log(MIN_DAYS))
    high = np.full(len(s.x), np.log(cap_days))
    steps = int(np.ceil(np.log2((np.log(cap_days) - np.log(MIN_DAYS)) / _LOG_DAYS_TOLERANCE)))
    for _ in range(steps):
        middle = (low + high) / 2
        not_yet = p_no_order(params, s, np.exp(middle)) > 0.5
        low, high = np.where(not_yet, middle, low), np.where(not_yet, high, middle)
    days = np.exp((low + high) / 2)
    days = np.where(p_no_order(params, s, cap_days) >= 0.5, cap_days, days)
    return np.where(s.buyer, days, np.nan)


# --- what each target reads from the model -------------------------------------------------------


def target_prediction(params: BGNBDParams, kind: str, horizon_days: float, Z) -> np.ndarray:
    """The model's forecast for a target, NaN where it does not apply (no order yet).

    ``kind``: "no_order" (P(no order in the horizon): churn), "order" (P(at least one order):
    propensity), "value" (expected spend in the horizon: CLTV), "days" (median days to the next
    order, capped at `CAP_HORIZONS` horizons: next order).
    """
    s = summarize(np.asarray(Z, float))
    if kind == "no_order":
        return p_no_order(params, s, horizon_days)
    if kind == "order":
        return 1.0 - p_no_order(params, s, horizon_days)
    if kind == "value":
        return expected_value(params, s, horizon_days)
    if kind == "days":
        return bgnbd_median_days(params, s, horizon_days, CAP_HORIZONS * horizon_days)
    raise ValueError(f"unknown prediction kind {kind!r}; expected no_order, order, value or days")


def horizon_ratio(
    params: BGNBDParams, kind: str, served_days: float, trained_days: float, Z
) -> np.ndarray:
    """Per customer, how the model's forecast changes from the trained to the served horizon.

    For probabilities the ratio is of P(no order) (it stays a probability after rescaling); for
    value, of expected orders (spend per order cancels). 1 where the model does not apply.
    """
    s = summarize(np.asarray(Z, float))
    if kind == "value":
        served, trained = (
            expected_orders(params, s, served_days),
            expected_orders(params, s, trained_days),
        )
    else:
        served, trained = p_no_order(params, s, served_days), p_no_order(params, s, trained_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = served / trained
    return np.where(np.isfinite(ratio), ratio, 1.0)


# --- exact Shapley values of a function of a few inputs ------------------------------------------


def exact_shapley(
    f: Callable[[np.ndarray], np.ndarray], Z: np.ndarray, reference: np.ndarray
) -> tuple[np.ndarray, float]:
    """Exact Shapley values of ``f`` at every row of ``Z`` against one reference row.

    The value of a coalition S is f evaluated with the row's inputs in S and the reference's
    elsewhere (interventional / baseline Shapley). All 2^k coalitions are evaluated once, vectorised
    over rows, so per row: sum of values + f(reference) == f(row), exactly up to float rounding.
    """
    Z = np.asarray(Z, float)
    n, k = Z.shape
    reference = np.asarray(reference, float).reshape(1, k)
    value = {}
    for size in range(k + 1):
        for S in combinations(range(k), size):
            mixed = np.repeat(reference, n, axis=0)
            mixed[:, list(S)] = Z[:, list(S)]
            value[S] = np.asarray(f(mixed), float)
    phi = np.zeros((n, k))
    for i in range(k):
        others = [j for j in range(k) if j != i]
        for size in range(k):
            weight = factorial(size) * factorial(k - size - 1) / factorial(k)
            for S in combinations(others, size):
                with_i = tuple(sorted((*S, i)))
                phi[:, i] += weight * (value[with_i] - value[S])
    return phi, float(value[()][0]) if n else float(f(reference)[0])


def reference_customer(X: pd.DataFrame, columns=RFM_INPUTS) -> np.ndarray:
    """The stated reference of the probabilistic model's reasons: the median buyer's inputs."""
    buyers = X[X["orders_total"] >= 1] if "orders_total" in X else X
    frame = buyers if len(buyers) else X
    return frame[list(columns)].median().to_numpy(dtype=float)
