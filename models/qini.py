"""Judging an uplift ranking on a randomised campaign: the Qini curve, its coefficient and uplift
at k, with seeded bootstrap intervals over customers.

Rank the customers by a score, best first. After the top ``k``, the Qini curve counts the
incremental buyers the campaign made among them: the target buyers minus the control buyers
scaled to the target group's size, ``Y_t(k) - Y_c(k) * N_t(k) / N_c(k)`` (Radcliffe). Both axes
are shares of all customers: x = share targeted, y = incremental buyers per customer. A random
ranking follows, in expectation, the straight line from 0 to the campaign's overall effect; the
Qini coefficient is the area between the curve and that line (0 for random, negative for a
ranking that puts the customers contact puts off first). Customers with equal scores are taken
together (the curve only has points where the score changes), so a constant score is exactly
random. Uplift at k is the purchase-rate difference, target minus control, within the top k.

Intervals resample customers with replacement within each group (the group sizes of a
randomised campaign are fixed), with the same resamples for every ranking, so a difference of
two rankings' coefficients gets a paired interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GRID = np.linspace(0, 1, 101)
BOOTSTRAP_CHUNK = 50  # resamples computed at once (bounds memory: chunk x customers floats)


def _cumulative(score, treated, y, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted running sums in the order of ``score`` (best first), at the last customer of
    each run of equal scores. ``weights``: (resamples, customers)."""
    order = np.argsort(-np.asarray(score, float), kind="stable")
    s = np.asarray(score, float)[order]
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    t = np.asarray(treated, bool)[order]
    yy = np.asarray(y, float)[order]
    w = weights[:, order]
    total = w.sum(axis=1, keepdims=True)
    sums = {
        "n": w,
        "n_t": w * t,
        "n_c": w * ~t,
        "y_t": w * (t * yy),
        "y_c": w * (~t * yy),
    }
    return {k: np.cumsum(v, axis=1)[:, ends] / total for k, v in sums.items()}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _qini(c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """x and the Qini curve (with the origin), per resample."""
    q = c["y_t"] - c["y_c"] * _ratio(c["n_t"], c["n_c"])
    zero = np.zeros((q.shape[0], 1))
    return np.hstack([zero, c["n"]]), np.hstack([zero, q])


def _coefficient(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.trapezoid(q, x, axis=1) - q[:, -1] / 2


def _uplift_at(c: dict[str, np.ndarray], k: float) -> np.ndarray:
    """Target minus control purchase rate among the top ``k`` (the first point reaching it)."""
    at = np.argmax(c["n"] >= k - 1e-12, axis=1)
    pick = {name: np.take_along_axis(v, at[:, None], axis=1)[:, 0] for name, v in c.items()}
    return _ratio(pick["y_t"], pick["n_t"]) - _ratio(pick["y_c"], pick["n_c"])


def qini_curve(score, treated, y) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve of one ranking on the customers as drawn: x (share targeted) and
    incremental buyers per customer, from (0, 0)."""
    x, q = _qini(_cumulative(score, treated, y, np.ones((1, len(y)))))
    return x[0], q[0]


def qini_coefficient(score, treated, y) -> float:
    """Area between the ranking's Qini curve and the random line (0: random)."""
    return float(_coefficient(*_qini(_cumulative(score, treated, y, np.ones((1, len(y))))))[0])


def uplift_at_k(score, treated, y, k: float) -> float:
    """Purchase-rate difference, target minus control, among the top ``k`` share by score."""
    return float(_uplift_at(_cumulative(score, treated, y, np.ones((1, len(y)))), k)[0])


def bootstrap_weights(treated, n_boot: int, seed: int) -> np.ndarray:
    """How often each customer is drawn in each resample, within its group: (n_boot, n)."""
    treated = np.asarray(treated, bool)
    rng = np.random.default_rng(seed)
    weights = np.zeros((n_boot, len(treated)))
    for mask in (treated, ~treated):
        size = int(mask.sum())
        if size:
            weights[:, mask] = rng.multinomial(size, np.full(size, 1 / size), size=n_boot)
    return weights


def _replicates(scores: dict, treated, y, ks, weights: np.ndarray) -> dict[str, dict]:
    """Per ranking, the Qini coefficient and uplift at each k under every resample."""
    out = {name: {"qini": [], **{k: [] for k in ks}} for name in scores}
    for start in range(0, len(weights), BOOTSTRAP_CHUNK):
        chunk = weights[start : start + BOOTSTRAP_CHUNK]
        for name, score in scores.items():
            c = _cumulative(score, treated, y, chunk)
            out[name]["qini"].append(_coefficient(*_qini(c)))
            for k in ks:
                out[name][k].append(_uplift_at(c, k))
    return {n: {m: np.concatenate(v) for m, v in parts.items()} for n, parts in out.items()}


def _interval(values: np.ndarray, confidence: float) -> list[float]:
    tail = (1 - confidence) / 2
    return [float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))]


def compare_rankings(
    scores: dict[str, np.ndarray],
    treated,
    y,
    reference: str,
    ks: tuple[float, ...] = (0.1, 0.2, 0.3),
    n_boot: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict]:
    """Per ranking: its Qini coefficient against random (0) with a percentile bootstrap
    interval, the paired difference from the ``reference`` ranking's with its interval, and
    uplift at each k with its interval."""
    ones = np.ones((1, len(y)))
    point = _replicates(scores, treated, y, ks, ones)
    boot = _replicates(scores, treated, y, ks, bootstrap_weights(treated, n_boot, seed))
    result = {}
    for name in scores:
        diff = boot[name]["qini"] - boot[reference]["qini"]
        result[name] = {
            "qini": float(point[name]["qini"][0]),
            "qini_ci": _interval(boot[name]["qini"], confidence),
            f"qini_minus_{reference}": float(point[name]["qini"][0] - point[reference]["qini"][0]),
            f"qini_minus_{reference}_ci": _interval(diff, confidence),
            "uplift_at_k": {
                f"{k:.0%}": {
                    "uplift": float(point[name][k][0]),
                    "ci": _interval(boot[name][k], confidence),
                }
                for k in ks
            },
        }
    return result


def qini_table(scores: dict[str, np.ndarray], treated, y) -> pd.DataFrame:
    """Each ranking's Qini curve on a grid of shares targeted (for plots), with random's line."""
    table = {"share_targeted": GRID}
    for name, score in scores.items():
        x, q = qini_curve(score, treated, y)
        table[name] = np.interp(GRID, x, q)
    end = table[next(iter(scores))][-1] if scores else 0.0
    return pd.DataFrame(table | {"random": GRID * end})
