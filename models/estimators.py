"""XGBoost estimators that follow the scikit-learn contract (MLflow, Optuna and SHAP need no glue).

Categorical features are encoded to integer codes with a vocabulary learned in ``fit`` (unknown
values become missing), so the booster sees a purely numeric matrix and TreeSHAP contributions
map one-to-one onto the input columns.

Missing values reach the booster as `MISSING`, a number below every real value, not as NaN. Every
feature that can be missing (days since an event that never happened, averages and ratios with
nothing to average, unknown categories) is non-negative by construction, so a split can still
isolate "never" with one threshold. The reason is explanation speed: FastTreeSHAP's v2 algorithm
(`models.explain`) is exact but ignores XGBoost's learned default direction for NaN, so a model
that never sees NaN is one it can explain exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

MISSING = -1e9  # what a missing value becomes in the booster's input (see the module docstring)


def declared(cls: type) -> type:
    """A scikit-learn estimator whose hyper-parameters are declared once, as its annotated class
    fields (with their defaults), the way scikit-learn reads them: the generated keyword-only
    ``__init__`` stores each one by name, which is what ``get_params``, ``clone`` and Optuna use
    and what `models.artefacts` saves as JSON. Learned attributes end in ``_``."""
    return dataclass(eq=False, repr=False, kw_only=True)(cls)


@declared
class _EncodedBooster(BaseEstimator):
    """Shared plumbing: column order, categorical codes, the fitted trees and the settings of
    XGBoost that every booster shares (each estimator adds its own objective's)."""

    max_depth: int = 5
    learning_rate: float = 0.05
    n_estimators: int = 400
    min_child_weight: float = 1.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 30
    monotone_constraints: dict | None = None
    n_jobs: int = 2
    random_state: int = 0

    def _learn_columns(self, X: pd.DataFrame) -> None:
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.categories_ = {
            c: sorted(X[c].dropna().astype(str).unique())
            for c in X.columns
            if not pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
        }

    def encode(self, X: pd.DataFrame) -> pd.DataFrame:
        """The numeric matrix the booster sees, in training column order."""
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"input lacks feature columns the model was trained on: {missing}")
        out = X.loc[:, list(self.feature_names_in_)].copy()
        for column, vocabulary in self.categories_.items():
            codes = pd.Categorical(out[column].astype("string"), categories=vocabulary).codes
            out[column] = np.where(codes < 0, np.nan, codes).astype("float64")
        return out.astype("float64").fillna(MISSING)

    def _keep_best_trees(self, booster: xgb.Booster) -> None:
        """The trees up to the early-stopping optimum (all without early stopping): what
        predictions and SHAP both use, and all of the fit that is kept."""
        best = booster.attr("best_iteration")
        self.best_iteration_ = int(best) if best is not None else booster.num_boosted_rounds() - 1
        self.trees_ = booster[: self.best_iteration_ + 1]

    def fitting_margin(self, X: pd.DataFrame) -> np.ndarray | None:
        """A prior's margin each row starts from while fitting (None: XGBoost's own intercept).
        Boosted-from-prior models (`models.scorers`) override it."""
        return None

    def _fit_options(self, X: pd.DataFrame, X_valid: pd.DataFrame) -> dict:
        prior = self.fitting_margin(X)
        if prior is None:
            return {}
        return {"base_margin": prior, "base_margin_eval_set": [self.fitting_margin(X_valid)]}

    def _margin_while_fitting(self, X: pd.DataFrame) -> np.ndarray:
        prior = self.fitting_margin(X)
        return self.raw_margin(X) if prior is None else prior + self.correction(X)

    def explain(self, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Exact TreeSHAP values of the booster's raw margin, and the per-row base value."""
        from models.explain import tree_contributions

        return tree_contributions(self, X)

    def _tree_params(self, callbacks=None) -> dict:
        """XGBoost settings every estimator shares (the objective is each one's own)."""
        shared = {f.name: getattr(self, f.name) for f in fields(_EncodedBooster)}
        return {
            "tree_method": "hist",
            **shared,
            "monotone_constraints": self.monotone_constraints or None,
            "callbacks": callbacks,
        }

    def dmatrix(self, X: pd.DataFrame) -> xgb.DMatrix:
        return xgb.DMatrix(self.encode(X), missing=np.nan, nthread=self.n_jobs)

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's untransformed output (log-odds or log-mean): what SHAP values add up to."""
        return self.trees_.predict(self.dmatrix(X), output_margin=True)


@declared
class CalibratedXGBClassifier(ClassifierMixin, _EncodedBooster):
    """Binary XGBoost classifier with early stopping and a calibrator fitted on validation data.

    ``calibration``: "platt" (logistic on the margin; keeps the ranking) or "isotonic".
    """

    calibration: str = "platt"

    def _booster(self, callbacks=None) -> xgb.XGBClassifier:
        return xgb.XGBClassifier(
            objective="binary:logistic",
            eval_metric="logloss",
            **self._tree_params(callbacks),
        )

    def fit(self, X: pd.DataFrame, y, eval_set=None, callbacks=None):
        """Fit on (X, y); early-stop and calibrate on ``eval_set=(X_valid, y_valid)``."""
        self._learn_columns(X)
        X_valid, y_valid = eval_set if eval_set is not None else (X, y)
        booster = self._booster(callbacks).fit(
            self.encode(X),
            np.asarray(y),
            eval_set=[(self.encode(X_valid), np.asarray(y_valid))],
            verbose=False,
            **self._fit_options(X, X_valid),
        )
        self._keep_best_trees(booster.get_booster())
        margin = self._margin_while_fitting(X_valid)
        if self.calibration == "isotonic":
            self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
            self.calibrator_.fit(margin, np.asarray(y_valid))
        else:
            self.calibrator_ = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y_valid)
        self.classes_ = np.array([0, 1])
        return self

    def reason_value(self, probability: np.ndarray) -> np.ndarray:
        """The raw margin that calibrates to ``probability`` (what reasons add up to)."""
        return inverse_platt(self.calibrator_, probability, self.calibration)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        margin = self.raw_margin(X)
        if self.calibration == "isotonic":
            p = self.calibrator_.predict(margin)
        else:
            p = self.calibrator_.predict_proba(margin.reshape(-1, 1))[:, 1]
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


@declared
class TweedieCLTVRegressor(RegressorMixin, _EncodedBooster):
    """XGBoost with a Tweedie objective for zero-inflated, heavy-tailed future spend.

    A Tweedie distribution with 1 < power < 2 is compound Poisson-gamma: a point mass at zero plus
    a continuous positive tail, which is exactly what next-year spend looks like. One booster keeps
    explanations additive (in log space). ``scale_`` corrects aggregate bias on validation data.
    """

    tweedie_variance_power: float = 1.5

    def fit(self, X: pd.DataFrame, y, eval_set=None, callbacks=None):
        self._learn_columns(X)
        X_valid, y_valid = eval_set if eval_set is not None else (X, y)
        booster = xgb.XGBRegressor(
            objective="reg:tweedie",
            tweedie_variance_power=self.tweedie_variance_power,
            eval_metric=f"tweedie-nloglik@{self.tweedie_variance_power}",
            **self._tree_params(callbacks),
        ).fit(
            self.encode(X),
            np.asarray(y, float),
            eval_set=[(self.encode(X_valid), np.asarray(y_valid, float))],
            verbose=False,
            **self._fit_options(X, X_valid),
        )
        self._keep_best_trees(booster.get_booster())
        predicted = np.exp(self._margin_while_fitting(X_valid)).sum()
        self.scale_ = float(np.sum(y_valid) / predicted) if predicted > 0 else 1.0
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.scale_ * np.exp(self.raw_margin(X))

    def reason_value(self, value: np.ndarray) -> np.ndarray:
        """The raw margin that predicts ``value`` (what reasons add up to)."""
        return np.log(np.maximum(np.asarray(value, float), 1e-12) / self.scale_)


def inverse_platt(calibrator, probability: np.ndarray, calibration: str = "platt") -> np.ndarray:
    """The margin a Platt calibrator maps to ``probability`` (isotonic: its log-odds)."""
    p = np.clip(np.asarray(probability, float), 1e-12, 1 - 1e-12)
    logit = np.log(p) - np.log1p(-p)
    if calibration != "platt":
        return logit
    return (logit - calibrator.intercept_[0]) / calibrator.coef_[0, 0]
