"""Population stability index (PSI) per feature between a training and a scoring snapshot, and
the drift guard's decision: which shifts are reported and which refuse scoring.

Rule of thumb used by the drift guard: < 0.1 stable, 0.1-0.25 moderate shift (warn), > 0.25 a
shift large enough that scores may no longer mean what they meant at training time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EPSILON = 1e-4
# Features that add up floating-point numbers can differ in their last bits from run to run (the
# engine adds in thread order), and a bin edge is often a value that customers share exactly (a
# spend of 42.22). Values are rounded to this many decimals before binning, so a customer on an
# edge falls on the same side in every run and the same inputs give the same PSI.
DECIMALS = 9


def _shares(labels: pd.Series, categories) -> np.ndarray:
    counts = labels.value_counts().reindex(categories, fill_value=0).to_numpy(float)
    return np.clip(counts / max(counts.sum(), 1), EPSILON, None)


def _bucket(values: pd.Series, edges: np.ndarray | None) -> pd.Series:
    if edges is None:
        return values.astype("string").fillna("<missing>")
    codes = np.searchsorted(edges, values.to_numpy(float), side="right").astype(object)
    codes[values.isna().to_numpy()] = "<missing>"
    return pd.Series(codes, index=values.index).astype(str)


def psi(expected: pd.Series, actual: pd.Series, bins: int = 10) -> float:
    """PSI of ``actual`` against ``expected``; numeric features use expected's quantile bins."""
    numeric = pd.api.types.is_numeric_dtype(expected) and not pd.api.types.is_bool_dtype(expected)
    edges = None
    if numeric:
        expected, actual = (
            expected.astype(float).round(DECIMALS),
            actual.astype(float).round(DECIMALS),
        )
        finite = expected.dropna().to_numpy(float)
        edges = (
            np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
            if len(finite)
            else np.array([])
        )
    e, a = _bucket(expected, edges), _bucket(actual, edges)
    categories = sorted(set(e.unique()) | set(a.unique()))
    e_share, a_share = _shares(e, categories), _shares(a, categories)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def drift_report(train: pd.DataFrame, score: pd.DataFrame, warn: float, refuse: float) -> dict:
    """PSI per shared column, with the columns over the warning and refusal thresholds."""
    values = {c: round(psi(train[c], score[c]), 6) for c in train.columns if c in score.columns}
    ordered = dict(sorted(values.items(), key=lambda item: -item[1]))
    return {
        "psi": ordered,
        "max_psi": max(ordered.values(), default=0.0),
        "warn": [c for c, v in ordered.items() if v > warn],
        "refuse": [c for c, v in ordered.items() if v > refuse],
        "thresholds": {"warn": warn, "refuse": refuse},
    }


def model_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    inputs: dict[str, tuple[list[str], list[pd.Timestamp]]],
    warn: float,
    refuse: float,
    allow: bool,
) -> dict:
    """Per model, the PSI of its input columns between its training snapshots (the rows of
    ``reference`` at its cutoffs, pooled) and ``current``.

    ``inputs`` maps each model to its input columns and training cutoffs. ``over_limit`` lists
    every ``model:column`` above ``refuse``, worst first; ``allowed`` records whether the
    operator accepted the drift."""
    drift, over = {}, []
    for target, (columns, cutoffs) in inputs.items():
        columns = [c for c in columns if c in reference]
        report = drift_report(
            reference.loc[reference["as_of"].isin(cutoffs), columns],
            current[columns],
            warn,
            refuse,
        )
        report["reference_cutoffs"] = [f"{t:%Y-%m-%d}" for t in cutoffs]
        drift[target] = report
        over += [(report["psi"][c], target, c) for c in report["refuse"]]
    drift["over_limit"] = [f"{t}:{c}" for _, t, c in sorted(over, reverse=True)]
    drift["allowed"] = bool(allow)
    return drift


def refusal(drift: dict) -> tuple[str, str, float] | None:
    """The model, column and PSI of the worst drift over the limit when the operator has not
    allowed it: scoring must refuse. None when it may go on."""
    if drift["allowed"] or not drift["over_limit"]:
        return None
    target, column = drift["over_limit"][0].split(":", 1)
    return target, column, drift[target]["psi"][column]
