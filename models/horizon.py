"""Serve a target at the horizon asked for when models had to be trained at a shorter one.

The probabilistic model extrapolates: per customer, the BG/NBD ratio of expectations between the
two horizons (of P(no order) for probabilities, of expected orders for value) carries a forecast
from the training horizon to the served one. Customers the model does not apply to (no order yet)
get a constant-rate extrapolation: P(no order) to the power served/trained, value times
served/trained.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from features.catalogue import FeatureInfo
from features.targets import ORDER, spec
from models.estimators import declared
from models.explain import contributions
from models.probabilistic import RFM_INPUTS, BGNBDParams, horizon_ratio, summarize

HORIZON_REASON = "horizon_rescaling"  # the reason column that carries the rescaling
HORIZON_CATALOGUE = (
    FeatureInfo(
        HORIZON_REASON,
        "horizon",
        "margin",
        "forecast carried from the training horizon to the asked one (BG/NBD ratio)",
        "expected behaviour over the longer horizon asked for (BG/NBD extrapolation)",
    ),
)


def rescale(
    target: str,
    prediction: np.ndarray,
    Z: np.ndarray,
    params: BGNBDParams | None,
    served_days: int,
    trained_days: int,
) -> np.ndarray:
    """A forecast for ``trained_days`` carried to ``served_days`` (see the module docstring)."""
    prediction = np.asarray(prediction, float)
    if served_days == trained_days or spec(target).is_survival:  # a median does not depend on H
        return prediction
    factor = served_days / trained_days
    buyer = summarize(np.asarray(Z, float)).buyer if params is not None else np.zeros(len(Z), bool)
    if spec(target).is_value:
        ratio = horizon_ratio(params, "value", served_days, trained_days, Z) if params else 1.0
        return prediction * np.where(buyer, ratio, factor)
    as_no_order = spec(target).orientation == ORDER  # P(order) is carried as 1 - P(no order)
    no_order = 1.0 - prediction if as_no_order else prediction
    ratio = horizon_ratio(params, "no_order", served_days, trained_days, Z) if params else 1.0
    constant_rate = np.power(np.clip(no_order, 0, 1), factor)
    served = np.clip(np.where(buyer, no_order * ratio, constant_rate), 0.0, 1.0)
    return 1.0 - served if as_no_order else served


@declared
class ServedAtHorizon(BaseEstimator):
    """A fitted scorer trained at ``trained_days``, served at ``served_days``.

    Reasons are the inner scorer's plus one more, ``horizon_rescaling``: how far the rescaling
    moves the forecast in the inner scorer's reason space, so they still add up exactly.
    """

    model: BaseEstimator | None = None
    target: str = "cltv"
    bgnbd_params: dict | None = None
    served_days: int = 365
    trained_days: int = 90

    def fit(self, X: pd.DataFrame, y, eval_set=None, callbacks=None):
        """Fit the inner scorer (at the training horizon's labels)."""
        kwargs = {} if callbacks is None else {"callbacks": callbacks}
        self.model.fit(X, y, eval_set=eval_set, **kwargs)
        return self.fitted()

    def fitted(self) -> ServedAtHorizon:
        """Take over an already fitted inner scorer."""
        inner = list(self.model.feature_names_in_)
        self.feature_names_in_ = np.array(
            inner + [c for c in RFM_INPUTS if c not in inner], dtype=object
        )
        self.params_ = BGNBDParams.from_dict(self.bgnbd_params) if self.bgnbd_params else None
        if spec(self.target).is_classification:
            self.classes_ = np.array([0, 1])
        return self

    def _trained(self, X: pd.DataFrame) -> np.ndarray:
        if not spec(self.target).is_classification:
            return self.model.predict(X)
        return self.model.predict_proba(X)[:, 1]

    def _served(self, X: pd.DataFrame, trained: np.ndarray) -> np.ndarray:
        Z = X[list(RFM_INPUTS)].to_numpy(dtype=float)
        return rescale(self.target, trained, Z, self.params_, self.served_days, self.trained_days)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self._served(X, self._trained(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if not spec(self.target).is_classification:
            return self._served(X, self._trained(X))
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def explain(self, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        values, base = contributions(self.model, X)
        trained = self._trained(X)
        served = self._served(X, trained)
        shift = self.model.reason_value(served) - self.model.reason_value(trained)
        return values.assign(**{HORIZON_REASON: shift}), base

    def reason_value(self, prediction: np.ndarray) -> np.ndarray:
        return self.model.reason_value(prediction)
