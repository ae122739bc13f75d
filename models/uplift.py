"""Uplift targeting: who a campaign persuades, learned from a past campaign's groups.

A campaign on an export drew a random ``control`` group that no one contacted, so for every kind
of customer the difference between the groups' purchase rates is what contact changed. The
learners estimate that difference per customer from what the export knows about them (each
target's prediction, the segment and the lifecycle stage, `uplift_design`):

- ``t`` (two models): P(buy | target group, x) - P(buy | control group, x), one XGBoost
  classifier per group;
- ``x`` (X-learner, Künzel et al. 2019): the two models impute each customer's effect (a target
  customer's outcome minus the control model's prediction, and the reverse), one XGBoost
  regressor per group learns the imputed effects, and their predictions are blended with the
  weight of the other group's share, ``g * tau_control + (1 - g) * tau_target``, g = the target
  share. With a 10% control group, the control model is the weak one; the X-learner leans on
  the effects imputed with the strong target model.

The estimate is an intent-to-treat uplift (membership of the target group, whether or not the
campaign reached the customer). `train_uplift` holds out a seeded share of each group, fits
both learners on the rest, judges them and the "highest propensity" ranking by Qini on the
held-out customers (`models.qini`), and refits the better learner on every customer. Learners
are saved as XGBoost JSON and a JSON of settings (`learner_state`), never pickled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator

from features.targets import ORDER, TARGETS, UPLIFT_COLUMNS
from models.qini import compare_rankings, qini_table

UPLIFT_TIERS = ("high", "medium", "low", "negative")
NO_TIER = "n/a"
CATEGORICAL = ("segment", "lifecycle")  # export columns one-hot encoded for the learners
METHODS = ("t", "x")
PROPENSITY = next(t.score_column for t in TARGETS.values() if t.orientation == ORDER)


def uplift_design(segments: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """The learners' input: every target's prediction (missing stays missing) and one 0/1 column
    per known value of each categorical column (an unseen value is all zeros)."""
    numeric = [t.score_column for t in TARGETS.values() if t.score_column in segments]
    frame = segments[numeric].astype(float).reset_index(drop=True)
    for column, values in categories.items():
        found = segments[column].astype(str).to_numpy()
        for value in values:
            frame[f"{column}={value}"] = (found == value).astype(float)
    return frame


def design_categories(segments: pd.DataFrame) -> dict[str, list[str]]:
    """The values each categorical column takes in the training export (sorted)."""
    return {c: sorted(segments[c].astype(str).unique()) for c in CATEGORICAL if c in segments}


class UpliftLearner(BaseEstimator):
    """T- or X-learner on XGBoost: ``fit(X, treatment, y)``, ``predict(X)`` = estimated change
    in the outcome's probability from being in the target group."""

    def __init__(
        self,
        method: str = "x",
        n_estimators: int = 100,
        max_depth: int = 3,
        learning_rate: float = 0.05,
        min_child_weight: float = 20.0,
        subsample: float = 0.8,
        random_state: int = 0,
    ):
        self.method = method
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.random_state = random_state

    def _booster(self, estimator, X: pd.DataFrame, y: np.ndarray) -> xgb.Booster:
        settings = {k: v for k, v in self.get_params().items() if k != "method"}
        model = estimator(tree_method="hist", n_jobs=1, **settings)
        return model.fit(X, y).get_booster()

    def fit(self, X: pd.DataFrame, treatment, y) -> UpliftLearner:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        t = np.asarray(treatment, bool)
        y = np.asarray(y, float)
        self.feature_names_in_ = list(X.columns)
        self.treated_share_ = float(t.mean())
        boosters = {
            "mu0": self._booster(xgb.XGBClassifier, X[~t], y[~t]),
            "mu1": self._booster(xgb.XGBClassifier, X[t], y[t]),
        }
        if self.method == "x":
            imputed_t = y[t] - _predict(boosters["mu0"], X[t])
            imputed_c = _predict(boosters["mu1"], X[~t]) - y[~t]
            boosters["tau1"] = self._booster(xgb.XGBRegressor, X[t], imputed_t)
            boosters["tau0"] = self._booster(xgb.XGBRegressor, X[~t], imputed_c)
        self.boosters_ = boosters
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        X = X[self.feature_names_in_]
        b = self.boosters_
        if self.method == "t":
            return _predict(b["mu1"], X) - _predict(b["mu0"], X)
        g = self.treated_share_
        return g * _predict(b["tau0"], X) + (1 - g) * _predict(b["tau1"], X)


def _predict(booster: xgb.Booster, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(booster.inplace_predict(X), float)


def learner_state(learner: UpliftLearner) -> tuple[dict, dict[str, bytes]]:
    """What saving needs: the settings (params and learned scalars) and each booster's JSON."""
    settings = learner.get_params() | {
        "feature_names_in_": learner.feature_names_in_,
        "treated_share_": learner.treated_share_,
    }
    raw = {name: bytes(b.save_raw(raw_format="json")) for name, b in learner.boosters_.items()}
    return settings, raw


def learner_from_state(settings: dict, raw: dict[str, bytes]) -> UpliftLearner:
    """The learner `learner_state` described."""
    learned = {k: v for k, v in settings.items() if k.endswith("_")}
    learner = UpliftLearner(**{k: v for k, v in settings.items() if not k.endswith("_")})
    for name, value in learned.items():
        setattr(learner, name, value)
    learner.boosters_ = {}
    for name, data in raw.items():
        booster = xgb.Booster()
        booster.load_model(bytearray(data))
        learner.boosters_[name] = booster
    return learner


# --- training on a measured campaign -------------------------------------------------------------


@dataclass(frozen=True)
class UpliftSettings:
    holdout_share: float = 0.5  # of each group, held out to judge the learners
    n_bootstrap: int = 200
    confidence: float = 0.95
    ks: tuple[float, ...] = (0.1, 0.2, 0.3)  # uplift at the top k share
    learner: dict | None = None  # UpliftLearner params besides method and random_state


def holdout_mask(treated, share: float, seed: int) -> np.ndarray:
    """A seeded ``share`` of each group (rounded), for judging."""
    treated = np.asarray(treated, bool)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(treated), bool)
    for mask in (treated, ~treated):
        where = np.flatnonzero(mask)
        held[rng.permutation(where)[: int(round(share * len(where)))]] = True
    return held


def judge(
    learners: dict[str, UpliftLearner], X: pd.DataFrame, treated, y, settings, seed
) -> tuple[dict, pd.DataFrame]:
    """Qini of each learner, of ranking by predicted purchase probability and of a seeded random
    ranking, on the held-out customers, each against random and against highest propensity."""
    scores = {f"{name}_learner": learner.predict(X) for name, learner in learners.items()}
    scores["propensity"] = X[PROPENSITY].fillna(0.0).to_numpy(float)
    scores["random"] = np.random.default_rng(seed).random(len(X))
    result = compare_rankings(
        scores,
        treated,
        y,
        "propensity",
        settings.ks,
        settings.n_bootstrap,
        settings.confidence,
        seed,
    )
    return result, qini_table(scores, treated, y)


def train_uplift(
    X: pd.DataFrame, treated, y, settings: UpliftSettings, seed: int
) -> tuple[UpliftLearner, dict, pd.DataFrame]:
    """Fit both learners on all but a held-out share of each group, judge them there, and refit
    the one with the higher held-out Qini on every customer. Returns the refitted learner, the
    judgement (per ranking: Qini, intervals, uplift at k; which learner was kept; sizes) and
    the held-out Qini curves."""
    treated, y = np.asarray(treated, bool), np.asarray(y, float)
    held = holdout_mask(treated, settings.holdout_share, seed)
    params = (settings.learner or {}) | {"random_state": seed}
    fitted = {
        m: UpliftLearner(method=m, **params).fit(X[~held], treated[~held], y[~held])
        for m in METHODS
    }
    rankings, curves = judge(fitted, X[held], treated[held], y[held], settings, seed)
    chosen = max(METHODS, key=lambda m: rankings[f"{m}_learner"]["qini"])
    final = UpliftLearner(method=chosen, **params).fit(X, treated, y)
    sizes = {
        "train": {"target": int((~held & treated).sum()), "control": int((~held & ~treated).sum())},
        "holdout": {"target": int((held & treated).sum()), "control": int((held & ~treated).sum())},
    }
    report = {"chosen": f"{chosen}_learner", "customers": sizes, "rankings": rankings}
    return final, report, curves


# --- tiers in the next export --------------------------------------------------------------------


class UpliftTierRules(Protocol):
    """What the tiers read (params.yaml ``score.uplift``, `pipelines.config_score`)."""

    high_share: float  # top share of customers by uplift (if positive): high
    medium_share: float  # the next share (if positive): medium
    negative_below: float  # uplift below this: negative (contact puts them off)


def uplift_tiers(uplift: pd.Series, rules: UpliftTierRules) -> pd.Series:
    """high / medium by rank among all customers (positive uplift only), negative below
    ``negative_below``, low otherwise; ``n/a`` where there is no uplift."""
    rank = uplift.rank(ascending=False, method="first") / max(len(uplift), 1)
    positive = uplift > 0
    tiers = np.select(
        [
            uplift.isna(),
            positive & (rank <= rules.high_share),
            positive & (rank <= rules.high_share + rules.medium_share),
            uplift < rules.negative_below,
        ],
        [NO_TIER, "high", "medium", "negative"],
        "low",
    )
    return pd.Series(tiers, index=uplift.index)


def export_uplift(
    segments: pd.DataFrame, learner: UpliftLearner | None, categories, rules, scale: float = 1.0
) -> pd.DataFrame:
    """``segments`` with `UPLIFT_COLUMNS`: the learner's uplift (times ``scale``, e.g. per
    contacted customer) and its tier, or missing and ``n/a`` without a learner."""
    if learner is None:
        uplift = pd.Series(np.nan, index=segments.index)
    else:
        X = uplift_design(segments, categories)
        uplift = pd.Series(np.round(learner.predict(X) * scale, 6), index=segments.index)
    values = {"uplift": uplift, "uplift_tier": uplift_tiers(uplift, rules)}
    return segments.assign(**{column: values[column] for column in UPLIFT_COLUMNS})
