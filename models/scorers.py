"""Candidate scorers besides the free XGBoost model, all with the scikit-learn contract.

Every target is served by the best of several candidates judged on the same holdout
(`models.selection`). The simple ones are legitimate forecasts in their own right:

- `ProbabilisticScorer`: BG/NBD (+ Gamma-Gamma for value) with parameters fixed at fit time,
  calibrated on the validation cutoff;
- `RFMScorer`: the classic RFM score (quintiles of recency, frequency, spend) mapped to a
  probability (or a value) by isotonic regression;
- `PersistenceScorer` (value only): last period's spend, with a fitted scale;
- `PriorBoostedClassifier` / `PriorBoostedRegressor`: XGBoost that starts from the probabilistic
  model's prediction as its base margin and learns only corrections.

Each has ``explain(X) -> (values, base)``: exact, additive reasons. Simple scorers use exact Shapley
values over their few inputs against a stated reference customer (``reference_``); the boosted
models add the prior's Shapley values to the TreeSHAP values of the correction.

The BG/NBD part of a scorer is fitted at the target's holdout cutoff (from events before it only)
and fixed. While fitting, the prior of each row comes from the BG/NBD columns of that row's own
cutoff (point in time, `bgnbd` stage); when predicting, from the fixed parameters. At the holdout
cutoff the two are the same numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from features.targets import NO_ORDER, ORDER, spec
from models.estimators import (
    CalibratedXGBClassifier,
    TweedieCLTVRegressor,
    declared,
    inverse_platt,
)
from models.explain import tree_contributions
from models.probabilistic import (
    CAP_HORIZONS,
    RFM_INPUTS,
    BGNBDParams,
    exact_shapley,
    reference_customer,
    target_prediction,
)
from models.survival import median_calibration

_EPS = 1e-6
VALUE_FLOOR = 0.01  # expected values below this are floored before taking the log


def to_margin(target: str, prediction: np.ndarray) -> np.ndarray:
    """Log-odds of a probability, or log of a value or of days: the space boosting and reasons
    work in."""
    prediction = np.asarray(prediction, float)
    if not spec(target).is_classification:
        return np.log(np.maximum(prediction, VALUE_FLOOR))
    p = np.clip(prediction, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def prior_from_columns(target: str, X: pd.DataFrame) -> np.ndarray:
    """The per-cutoff BG/NBD forecast (bgnbd stage), oriented like the target; NaN if none."""
    entry = spec(target)
    column = X[entry.prior_column].to_numpy(dtype=float)
    return 1.0 - column if entry.orientation == ORDER else column  # the stage stores P(no order)


def median_scale(y: np.ndarray, days: np.ndarray, horizon_days: float) -> float:
    """The factor on predicted medians that makes about half of the customers order by theirs
    (`models.survival.median_calibration`), searched on a log grid from 1/8 to 8."""
    grid = np.exp(np.linspace(np.log(1 / 8), np.log(8), 97))
    coverage = np.array([median_calibration(y, days * f, horizon_days) for f in grid])
    gaps = np.abs(np.nan_to_num(coverage, nan=1.0) - 0.5)
    return float(grid[int(np.argmin(gaps))])


def _fill(prediction: np.ndarray, value: float) -> np.ndarray:
    return np.where(np.isfinite(prediction), prediction, value)


def _unapplied_mean(y: np.ndarray, prior: np.ndarray) -> float:
    """The mean label where the model does not apply (no order yet), else the overall mean."""
    missing = ~np.isfinite(prior)
    return float(np.mean(y[missing])) if missing.any() else float(np.mean(y))


class _Explained(BaseEstimator):
    """Shared plumbing of the simple scorers: inputs, reference customer, exact Shapley reasons."""

    reason_space = "prediction"

    def _inputs(self, X: pd.DataFrame) -> np.ndarray:
        return X[list(self.feature_names_in_)].to_numpy(dtype=float)

    def _explained(self, Z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def explain(self, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Exact Shapley values over the inputs against ``reference_``; with the base they add up
        to the explained quantity (``reason_space``) of each row."""
        phi, base = exact_shapley(self._explained, self._inputs(X), self.reference_)
        values = pd.DataFrame(phi, columns=list(self.feature_names_in_), index=X.index)
        return values, np.full(len(X), base)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self._predict(self._inputs(X))
        return np.column_stack([1 - p, p])

    def reason_value(self, prediction: np.ndarray) -> np.ndarray:
        """The explained quantity that gives ``prediction`` (here: the prediction itself)."""
        return np.asarray(prediction, float)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if not spec(self.target).is_classification:
            return self._predict(self._inputs(X))
        return (self._predict(self._inputs(X)) >= 0.5).astype(int)


@declared
class ProbabilisticScorer(_Explained):
    """BG/NBD (+ Gamma-Gamma) with fixed parameters, calibrated on validation data.

    Classification: Platt scaling of the log-odds; value: one scale factor; days to the next
    order: one scale factor that makes half of the validation customers order by their predicted
    median. Customers the model does not apply to (no order yet) get the observed mean value of
    such customers, or, for probabilities, their observed rate capped at the lowest forecast of
    the others (so they rank last, as in the BG/NBD baseline), or the longest wait (the cap).
    Reasons explain the uncalibrated log-odds (or log value) over frequency, recency, age and
    average spend; calibration is monotone, so a reason that raises one raises the other.
    """

    reason_space = "log-odds (value: log) of the BG/NBD forecast"
    target: str = "churn"
    bgnbd_params: dict | None = None
    horizon_days: int = 90

    def fit(self, X: pd.DataFrame, y, eval_set=None):
        """Calibrate on ``eval_set`` (the validation cutoff), using each row's own-cutoff prior."""
        X_cal, y_cal = eval_set if eval_set is not None else (X, y)
        y_cal = np.asarray(y_cal, float)
        self.feature_names_in_ = np.array(RFM_INPUTS, dtype=object)
        self.params_ = BGNBDParams.from_dict(self.bgnbd_params)
        prior = prior_from_columns(self.target, X_cal)
        self.unapplied_ = _unapplied_mean(y_cal, prior)
        applied = prior[np.isfinite(prior)]
        if spec(self.target).is_survival:
            self.unapplied_ = CAP_HORIZONS * float(self.horizon_days)
        elif spec(self.target).is_classification and len(applied):
            # Rank them below every customer the model applies to, as the BG/NBD baseline does
            # (a tied block in the middle costs PR AUC), at their observed rate if it is lower.
            self.unapplied_ = min(self.unapplied_, float(applied.min()))
        margin = to_margin(self.target, _fill(prior, self.unapplied_))
        if spec(self.target).is_survival:
            self.scale_ = median_scale(y_cal, np.exp(margin), self.horizon_days)
        elif spec(self.target).is_value:
            total = np.exp(margin).sum()
            self.scale_ = float(y_cal.sum() / total) if total > 0 else 1.0
        else:
            self.calibrator_ = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y_cal)
            self.classes_ = np.array([0, 1])
        self.reference_ = reference_customer(X_cal)
        return self

    def _explained(self, Z: np.ndarray) -> np.ndarray:
        forecast = target_prediction(
            self.params_, spec(self.target).orientation, self.horizon_days, Z
        )
        return to_margin(self.target, _fill(forecast, self.unapplied_))

    def _predict(self, Z: np.ndarray) -> np.ndarray:
        margin = self._explained(Z)
        if not spec(self.target).is_classification:
            return self.scale_ * np.exp(margin)
        return self.calibrator_.predict_proba(margin.reshape(-1, 1))[:, 1]

    def reason_value(self, prediction: np.ndarray) -> np.ndarray:
        if not spec(self.target).is_classification:
            return np.log(np.maximum(np.asarray(prediction, float), 1e-12) / self.scale_)
        return inverse_platt(self.calibrator_, prediction)


@declared
class RFMScorer(_Explained):
    """The RFM score (quintile edges learned at fit) mapped to a probability or a value by
    isotonic regression on the validation cutoff. Reasons are exact Shapley values of the
    prediction itself over recency, frequency and spend."""

    reason_space = "predicted probability (value: currency)"
    inputs = ("days_since_last_order", "orders_total", "spend_total")
    target: str = "churn"

    def fit(self, X: pd.DataFrame, y, eval_set=None):
        X_cal, y_cal = eval_set if eval_set is not None else (X, y)
        self.feature_names_in_ = np.array(self.inputs, dtype=object)
        Z = self._inputs(X_cal)
        buyers = Z[Z[:, 1] >= 1]
        quantiles = np.linspace(0.2, 0.8, 4)
        self.edges_ = (
            np.nanquantile(buyers, quantiles, axis=0).T if len(buyers) else np.zeros((3, 4))
        )
        self.isotonic_ = IsotonicRegression(
            increasing=spec(self.target).orientation != NO_ORDER, out_of_bounds="clip"
        ).fit(self.score(Z), np.asarray(y_cal, float))
        self.reference_ = reference_customer(X_cal, self.inputs)
        if spec(self.target).is_classification:
            self.classes_ = np.array([0, 1])
        return self

    def score(self, Z: np.ndarray) -> np.ndarray:
        """Quintile points 1-5 each (recent = 5), summed; 0 for customers with no order."""
        points = []
        for i, sign in ((0, -1.0), (1, 1.0), (2, 1.0)):
            value = np.nan_to_num(Z[:, i], nan=np.inf if sign < 0 else -np.inf)
            edges = self.edges_[i]
            rank = np.searchsorted(np.sort(sign * edges), sign * value, side="right")
            points.append(1 + np.clip(rank, 0, 4))
        total = np.sum(points, axis=0).astype(float)
        return np.where(np.nan_to_num(Z[:, 1]) >= 1, total, 0.0)

    def _explained(self, Z: np.ndarray) -> np.ndarray:
        return self.isotonic_.predict(self.score(Z))

    def _predict(self, Z: np.ndarray) -> np.ndarray:
        return self._explained(Z)


@declared
class PersistenceScorer(_Explained):
    """Value only: next period's spend = last 365 days' spend, scaled to the horizon and by a
    factor fitted on the validation cutoff. Reasons are in currency."""

    reason_space = "currency"
    target: str = "cltv"
    horizon_days: int = 365

    def fit(self, X: pd.DataFrame, y, eval_set=None):
        X_cal, y_cal = eval_set if eval_set is not None else (X, y)
        self.feature_names_in_ = np.array(["spend_365d"], dtype=object)
        self.scale_ = 1.0
        base = self._explained(self._inputs(X_cal)).sum()
        self.scale_ = float(np.sum(y_cal) / base) if base > 0 else 1.0
        self.reference_ = reference_customer(X_cal, ("spend_365d",))
        return self

    def _explained(self, Z: np.ndarray) -> np.ndarray:
        return self.scale_ * np.nan_to_num(Z[:, 0]) * self.horizon_days / 365

    def _predict(self, Z: np.ndarray) -> np.ndarray:
        return self._explained(Z)


@declared
class _PriorBoosted:
    """Mixin: XGBoost from the BG/NBD base margin; reasons = prior's Shapley + TreeSHAP."""

    target: str = "churn"
    bgnbd_params: dict | None = None
    horizon_days: int = 90

    def fit(self, X: pd.DataFrame, y, eval_set=None, callbacks=None):
        self._prior_setup(X, y)
        return super().fit(X, y, eval_set=eval_set, callbacks=callbacks)

    def _prior_setup(self, X: pd.DataFrame, y) -> None:
        self.params_ = BGNBDParams.from_dict(self.bgnbd_params)
        self.unapplied_ = _unapplied_mean(np.asarray(y, float), prior_from_columns(self.target, X))
        self.reference_ = reference_customer(X)

    def fitting_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Each row's own-cutoff prior (point in time), as a margin."""
        return to_margin(self.target, _fill(prior_from_columns(self.target, X), self.unapplied_))

    def prior_margin(self, Z: np.ndarray) -> np.ndarray:
        """The fixed-parameter prior from the raw inputs (`RFM_INPUTS`), as a margin."""
        kind = spec(self.target).orientation
        forecast = target_prediction(self.params_, kind, self.horizon_days, Z)
        return to_margin(self.target, _fill(forecast, self.unapplied_))

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        Z = X[list(RFM_INPUTS)].to_numpy(dtype=float)
        return self.prior_margin(Z) + self.correction(X)

    def _tree_params(self, callbacks=None) -> dict:
        # An intercept of margin 0 (probability 0.5, value 1): the trees are then a pure correction.
        base_score = 1.0 if spec(self.target).is_value else 0.5
        return {**super()._tree_params(callbacks), "base_score": base_score}

    def correction(self, X: pd.DataFrame) -> np.ndarray:
        """What the trees add to the prior's margin."""
        dmatrix = self.dmatrix(X)
        dmatrix.set_base_margin(np.zeros(len(X)))
        return self.trees_.predict(dmatrix, output_margin=True)

    def explain(self, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        Z = X[list(RFM_INPUTS)].to_numpy(dtype=float)
        phi, prior_base = exact_shapley(self.prior_margin, Z, self.reference_)
        values, tree_base = tree_contributions(self, X)
        for i, column in enumerate(RFM_INPUTS):
            values[column] = values[column].to_numpy() + phi[:, i]
        return values, tree_base + prior_base


@declared
class PriorBoostedClassifier(_PriorBoosted, CalibratedXGBClassifier):
    """Calibrated XGBoost classifier whose trees correct the BG/NBD log-odds."""

    reason_space = "log-odds (BG/NBD prior plus the trees' correction)"
    max_depth: int = 3  # shallower than free XGBoost: the prior carries the main effects


@declared
class PriorBoostedRegressor(_PriorBoosted, TweedieCLTVRegressor):
    """Tweedie XGBoost whose trees correct the log of the BG/NBD x Gamma-Gamma expected value."""

    reason_space = "log of expected value (BG/NBD prior plus the trees' correction)"
    target: str = "cltv"
    horizon_days: int = 365
    max_depth: int = 3
