"""Candidates per target and the choice of the champion that serves it.

Every target is served by the best of its candidates on the same out-of-time holdout, with the same
paired bootstrap. Candidates are ordered by complexity; the champion starts as the best of the
simplest ones (probabilistic model and calibrated simple scorers: legitimate forecasts needing no
proof of extra value), and a more complex candidate replaces it only when the paired interval of
its headline difference over the current champion lies above ``min_difference``. So a target is
always served (whenever the data supports the simple scorers), and an ML model serves only when it
earns it on the holdout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.targets import spec
from models.estimators import CalibratedXGBClassifier, TweedieCLTVRegressor
from models.scorers import (
    PersistenceScorer,
    PriorBoostedClassifier,
    PriorBoostedRegressor,
    ProbabilisticScorer,
    RFMScorer,
)
from models.survival import AFTRegressor


@dataclass(frozen=True)
class Candidate:
    name: str
    complexity: int  # 0 simple forecasts, 1 boosted from the prior, 2 free ML model
    tuned: bool  # Optuna searches its settings
    needs_prior: bool  # needs fitted BG/NBD parameters
    description: str


CANDIDATES = {
    "probabilistic": Candidate(
        "probabilistic", 0, False, True, "BG/NBD (+ Gamma-Gamma for value), calibrated"
    ),
    "rfm": Candidate("rfm", 0, False, False, "RFM score mapped by isotonic regression"),
    "persistence": Candidate(
        "persistence", 0, False, False, "last 365 days' spend, scaled to the horizon"
    ),
    "boosted_prior": Candidate(
        "boosted_prior", 1, True, True, "XGBoost correcting the BG/NBD prediction (base margin)"
    ),
    "xgboost": Candidate("xgboost", 2, True, False, "XGBoost on all features"),
}


def candidates_for(target: str, has_prior: bool) -> list[Candidate]:
    """The target's candidates, without those needing BG/NBD when it could not be fitted."""
    chosen = [CANDIDATES[name] for name in spec(target).candidates]
    return [c for c in chosen if has_prior or not c.needs_prior]


def make_scorer(
    target: str,
    candidate: str,
    settings: dict | None = None,
    *,
    seed: int = 0,
    prior: dict | None = None,
    horizon_days: int = 90,
):
    """An unfitted estimator for ``candidate``; ``settings`` are the tuned XGBoost settings."""
    settings = settings or {}
    value = spec(target).is_value
    if candidate == "probabilistic":
        return ProbabilisticScorer(target=target, bgnbd_params=prior, horizon_days=horizon_days)
    if candidate == "rfm":
        return RFMScorer(target=target)
    if candidate == "persistence":
        return PersistenceScorer(target=target, horizon_days=horizon_days)
    if candidate == "boosted_prior":
        kind = PriorBoostedRegressor if value else PriorBoostedClassifier
        prior_settings = {"target": target, "bgnbd_params": prior, "horizon_days": horizon_days}
        return kind(**prior_settings, **settings, random_state=seed)
    if candidate == "xgboost" and spec(target).is_survival:
        return AFTRegressor(horizon_days=horizon_days, **settings, random_state=seed)
    if candidate == "xgboost":
        kind = TweedieCLTVRegressor if value else CalibratedXGBClassifier
        return kind(**settings, random_state=seed)
    raise ValueError(f"unknown candidate {candidate!r}; expected one of {sorted(CANDIDATES)}")


@dataclass(frozen=True)
class Step:
    """One comparison on the way to the champion."""

    challenger: str
    incumbent: str
    difference: dict  # challenger - incumbent on the headline metric, paired: value, ci_low/high
    replaced: bool

    def to_dict(self) -> dict:
        return {
            "challenger": self.challenger,
            "incumbent": self.incumbent,
            "difference": {k: round(v, 6) for k, v in self.difference.items()},
            "replaced": self.replaced,
        }


def choose_champion(
    values: dict[str, float],
    compare,
    complexity: dict[str, int],
    higher_is_better: bool = True,
    min_difference: float = 0.0,
) -> tuple[str, list[Step]]:
    """The champion among candidates with headline ``values``.

    ``compare(a, b)`` returns the paired difference a - b (value, ci_low, ci_high) oriented so
    that positive means ``a`` is better. The best simplest candidate starts; each more complex
    one, in order, replaces the incumbent only when the interval's lower bound exceeds
    ``min_difference``."""
    usable = {n: v for n, v in values.items() if v is not None and np.isfinite(v)}
    if not usable:
        raise ValueError("no candidate has a finite holdout score")
    sign = 1.0 if higher_is_better else -1.0
    simplest = min(complexity[n] for n in usable)
    start = [n for n in usable if complexity[n] == simplest]
    champion = max(start, key=lambda n: (sign * usable[n], -start.index(n)))
    steps = []
    for name in sorted((n for n in usable if complexity[n] > simplest), key=complexity.get):
        difference = compare(name, champion)
        replaced = difference["ci_low"] > min_difference
        steps.append(Step(name, champion, difference, replaced))
        if replaced:
            champion = name
    return champion, steps
