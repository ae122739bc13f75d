"""Building blocks for the "days to the next order" target: metrics, an XGBoost AFT model, BG/NBD.

Label convention (every function here relies on it): for each customer at a cutoff, ``y`` is the
number of days from the cutoff to their next order when it falls within the horizon H
(0 < y <= H, float days), and ``y = +inf`` when there is no order within H: the customer is
right-censored at H. Predictions are predicted *median* days to the next order; they may exceed H.

- `concordance_index`: Harrell's C under that convention, O(n log n);
- `median_calibration` / `median_calibration_table`: does half of the customers order by their
  predicted median?
- `AFTRegressor`: XGBoost with the accelerated-failure-time objective, exact additive reasons in
  log-days;
(The BG/NBD-implied median, `models.probabilistic.bgnbd_median_days`, is the probabilistic
candidate and baseline.)
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.stats import kendalltau
from sklearn.base import RegressorMixin

from models.estimators import _EncodedBooster, declared

AFT_DISTRIBUTIONS = ("normal", "logistic")  # symmetric in log-time: exp(margin) is the median
_ROWS_PER_CHUNK = 20_000  # rows per leaf-index matrix when summing trees in float64


def check_labels(y, horizon_days: float | None = None) -> np.ndarray:
    """``y`` as floats, checked against the convention: days in (0, H] or +inf (censored)."""
    y = np.asarray(y, float)
    finite = y[np.isfinite(y)]
    bad = y[np.isnan(y) | (y <= 0)]
    if horizon_days is not None:
        bad = np.concatenate([bad, finite[finite > horizon_days]])
    if len(bad):
        limit = "" if horizon_days is None else f" <= horizon_days={horizon_days}"
        raise ValueError(
            f"days to next order must be > 0{limit} or +inf (no order within the horizon); "
            f"{len(bad)} label(s) are not, e.g. {bad[0]!r}"
        )
    return y


# --- metrics -------------------------------------------------------------------------------------


def concordance_index(y, predicted_days) -> float:
    """Harrell's C of predicted days against the labels (higher is better; 0.5 is random).

    Comparable pairs are (i, j) with y_i < y_j and y_i finite: two censored customers, or two with
    the same observed day, are not comparable. A pair is concordant when predicted_i <
    predicted_j; tied predictions count one half. NaN predictions count as +inf (the longest wait).
    NaN when no pair is comparable (e.g. everyone censored). O(n log n): observed-vs-censored pairs
    by sorting, observed-vs-observed pairs from Kendall's tau (scipy's merge sort).
    """
    y = check_labels(y)
    predicted = np.asarray(predicted_days, float)
    predicted = np.where(np.isnan(predicted), np.inf, predicted)
    observed = np.isfinite(y)
    censored = np.sort(predicted[~observed])
    below = np.searchsorted(censored, predicted[observed], side="left")
    above = len(censored) - np.searchsorted(censored, predicted[observed], side="right")
    concordant = above.sum() + 0.5 * (len(censored) - above - below).sum()
    comparable = observed.sum() * len(censored)
    within_concordant, within_comparable = _observed_pairs(y[observed], predicted[observed])
    total = comparable + within_comparable
    return float((concordant + within_concordant) / total) if total else float("nan")


def _observed_pairs(y: np.ndarray, predicted: np.ndarray) -> tuple[float, int]:
    """(concordant + half the prediction ties, comparable) over pairs of observed customers.

    Among pairs with different days, concordant - discordant is Kendall's tau-b numerator, an
    integer; concordant + ties / 2 = (comparable + concordant - discordant) / 2.
    """
    pairs = len(y) * (len(y) - 1) // 2
    comparable = pairs - _tied_pairs(y)
    untied_predictions = pairs - _tied_pairs(predicted)
    if comparable == 0 or untied_predictions == 0:
        return comparable / 2, comparable
    if len(y) == 2:  # scipy's p-value, computed along, divides by n - 2
        tau = np.sign(y[1] - y[0]) * np.sign(predicted[1] - predicted[0])
    else:
        tau = kendalltau(y, predicted, method="asymptotic").statistic
    difference = np.round(tau * np.sqrt(comparable) * np.sqrt(untied_predictions))
    return (comparable + difference) / 2, comparable


def _tied_pairs(values: np.ndarray) -> int:
    counts = np.unique(values, return_counts=True)[1].astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def median_calibration(y, predicted_days, horizon_days: float) -> float:
    """Share of customers who ordered by their predicted median, among those whose predicted
    median is within the horizon (there the outcome is always known: a censored customer did not
    order by a date inside the horizon). A calibrated median gives about 0.5; lower means the
    predictions are too short. NaN predictions are left out; NaN when no prediction is <= H.
    """
    y = check_labels(y)
    predicted = np.asarray(predicted_days, float)
    judged = predicted <= horizon_days
    if not judged.any():
        return float("nan")
    return float(np.mean(y[judged] <= predicted[judged]))


def median_coverage(y, predicted_days) -> float:
    """`median_calibration` at the horizon the labels show (the longest observed wait), for the
    metric table and its bootstrap, where only labels and predictions are at hand."""
    y = check_labels(y)
    finite = y[np.isfinite(y)]
    return median_calibration(y, predicted_days, finite.max()) if len(finite) else float("nan")


def median_calibration_error(y, predicted_days) -> float:
    """|`median_coverage` - 0.5|: 0 for calibrated medians (lower is better)."""
    return abs(median_coverage(y, predicted_days) - 0.5)


def median_calibration_table(y, predicted_days, horizon_days: float, bins: int = 5) -> pd.DataFrame:
    """`median_calibration` per equal-count bin of the predicted days (those <= H), for a plot:
    ``predicted_days_low``, ``predicted_days_high``, ``customers``, ``median_predicted_days`` and
    ``ordered_by_prediction`` (should be near 0.5 in every bin)."""
    y = check_labels(y)
    predicted = np.asarray(predicted_days, float)
    judged = np.flatnonzero(predicted <= horizon_days)
    order = judged[np.argsort(predicted[judged], kind="stable")]
    groups = [b for b in np.array_split(order, bins) if len(b)]
    return pd.DataFrame(
        {
            "predicted_days_low": [predicted[b].min() for b in groups],
            "predicted_days_high": [predicted[b].max() for b in groups],
            "customers": [len(b) for b in groups],
            "median_predicted_days": [np.median(predicted[b]) for b in groups],
            "ordered_by_prediction": [np.mean(y[b] <= predicted[b]) for b in groups],
        }
    )


# --- XGBoost accelerated failure time ------------------------------------------------------------


@declared
class AFTRegressor(RegressorMixin, _EncodedBooster):
    """XGBoost ``survival:aft``: log(days to next order) = margin + scale * noise.

    Labels follow the module's convention: an observed order at y days is the interval (y, y), a
    customer without an order within ``horizon_days`` the interval (H, +inf). With a symmetric
    noise distribution (``aft_distribution``: "normal" or "logistic") exp(margin) is the median;
    ``median_shift_`` (fitted on ``eval_set``) then moves the margin so that the Kaplan-Meier
    median of the log-time residuals is 0, which corrects the median when the true noise is not
    symmetric (exponential waiting times, for one). ``predict`` gives median days.

    Reasons (`explain`) are exact TreeSHAP values of the margin in log-days; ``raw_margin`` sums
    the trees in float64 so that reasons plus base equal ``reason_value(predict(X))`` to ~1e-8.
    """

    reason_space = "log of predicted median days to the next order"
    horizon_days: float = 90
    aft_distribution: str = "logistic"
    aft_loss_distribution_scale: float = 1.0

    def fit(self, X: pd.DataFrame, y, eval_set=None, callbacks=None):
        """Fit on (X, y); early-stop and fit the median shift on ``eval_set=(X_valid, y_valid)``.
        The validation loss is reported to ``callbacks`` as ``validation_0`` (Optuna pruning)."""
        if self.aft_distribution not in AFT_DISTRIBUTIONS:
            raise ValueError(f"aft_distribution must be one of {AFT_DISTRIBUTIONS}")
        self._learn_columns(X)
        X_valid, y_valid = eval_set if eval_set is not None else (X, y)
        y, y_valid = check_labels(y, self.horizon_days), check_labels(y_valid, self.horizon_days)
        settings = self._tree_params(callbacks)
        booster = xgb.train(
            self._aft_params(y),
            self._labelled(X, y),
            num_boost_round=settings["n_estimators"],
            evals=[(self._labelled(X_valid, y_valid), "validation_0")],
            early_stopping_rounds=settings["early_stopping_rounds"],
            callbacks=settings["callbacks"],
            verbose_eval=False,
        )
        self._keep_best_trees(booster)
        self._learn_leaves()
        lower = np.minimum(y_valid, self.horizon_days)
        residual = np.log(lower) - self.raw_margin(X_valid)
        self.median_shift_ = kaplan_meier_median(residual, np.isfinite(y_valid))
        return self

    def _aft_params(self, y: np.ndarray) -> dict:
        """The shared tree settings in `xgb.train`'s terms, plus the AFT objective."""
        settings = self._tree_params()
        for key in ("n_estimators", "early_stopping_rounds", "callbacks", "n_jobs", "random_state"):
            settings.pop(key)
        return {
            **settings,
            "objective": "survival:aft",
            "eval_metric": "aft-nloglik",
            "aft_loss_distribution": self.aft_distribution,
            "aft_loss_distribution_scale": self.aft_loss_distribution_scale,
            "base_score": constant_hazard_median(y, self.horizon_days),
            "nthread": self.n_jobs,
            "seed": self.random_state,
        }

    def _labelled(self, X: pd.DataFrame, y: np.ndarray) -> xgb.DMatrix:
        """Interval labels: (y, y) for an observed order, (H, +inf) for a censored customer."""
        dmatrix = self.dmatrix(X)
        observed = np.isfinite(y)
        dmatrix.set_float_info("label_lower_bound", np.where(observed, y, self.horizon_days))
        dmatrix.set_float_info("label_upper_bound", np.where(observed, y, np.inf))
        return dmatrix

    def _learn_leaves(self) -> None:
        """Leaf values per (tree, node) and the intercept, as float64 (read like TreeSHAP does)."""
        learner = json.loads(self.trees_.save_raw("json"))["learner"]
        trees = learner["gradient_booster"]["model"]["trees"]
        width = max(len(tree["split_conditions"]) for tree in trees)
        self.leaf_values_ = np.zeros((len(trees), width))
        for k, tree in enumerate(trees):  # at a leaf, split_conditions holds the leaf value
            self.leaf_values_[k, : len(tree["split_conditions"])] = tree["split_conditions"]
        base_score = str(learner["learner_model_param"]["base_score"]).strip("[]")
        self.intercept_ = float(np.log(float(base_score)))

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Log-days margin: intercept plus each tree's leaf value, summed in float64 (XGBoost's own
        sum is float32, ~1e-6 off the TreeSHAP values)."""
        trees = np.arange(len(self.leaf_values_))
        margin = np.empty(len(X))
        for start in range(0, len(X), _ROWS_PER_CHUNK):
            rows = X.iloc[start : start + _ROWS_PER_CHUNK]
            leaves = self.trees_.predict(self.dmatrix(rows), pred_leaf=True)
            leaves = leaves.reshape(len(rows), -1).astype(np.intp)
            margin[start : start + len(rows)] = self.leaf_values_[trees, leaves].sum(axis=1)
        return self.intercept_ + margin

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted median days to the next order (may exceed the horizon)."""
        return np.exp(self.raw_margin(X) + self.median_shift_)

    def reason_value(self, prediction: np.ndarray) -> np.ndarray:
        """The margin that predicts ``prediction`` days (what reasons add up to)."""
        return np.log(np.asarray(prediction, float)) - self.median_shift_

    def score(self, X: pd.DataFrame, y, sample_weight=None) -> float:
        """Concordance index of the predictions (R^2 means nothing with censored labels)."""
        return concordance_index(y, self.predict(X))


def constant_hazard_median(y: np.ndarray, horizon_days: float) -> float:
    """Median days under one constant order rate fitted to censored labels: ln 2 * exposure /
    orders. The AFT model's starting point (XGBoost's default would be 0.5 days)."""
    orders = max(int(np.isfinite(y).sum()), 1)
    return float(np.log(2) * np.minimum(y, horizon_days).sum() / orders)


def kaplan_meier_median(values: np.ndarray, observed: np.ndarray) -> float:
    """The Kaplan-Meier median of right-censored ``values`` (censored where ``observed`` is
    False); 0.0 when the survival curve never reaches one half."""
    order = np.lexsort((~observed, values))  # at equal values, events before censorings
    at_risk = len(values) - np.arange(len(values))
    survival = np.cumprod(np.where(observed[order], 1 - 1 / at_risk, 1.0))
    reached = np.flatnonzero(survival <= 0.5)
    return float(values[order][reached[0]]) if len(reached) else 0.0
