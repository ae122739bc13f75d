"""Whom a target scores: its registry entry's population, read from the feature table.

A target's ``population`` (`features.targets`) names a label column that must be true for a row
to count; training keeps those rows (`models.frames.eligible_rows`). Scoring has no labels, so each
population is also stated here on the features it is built from, the way the label query builds
it (`features.definitions.label_table`). A target without a population scores every customer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.definitions import FeatureRules
from features.targets import spec

POPULATIONS: dict[str, Callable[[pd.DataFrame, FeatureRules], pd.Series]] = {
    # an order in the churn lookback before the cutoff
    "churn_eligible": lambda features, rules: features["days_since_last_order"].le(
        rules.churn_lookback_days
    ),
}


def in_population(target: str, features: pd.DataFrame, rules: FeatureRules) -> np.ndarray | None:
    """Which rows of ``features`` the target scores (None: all of them)."""
    population = spec(target).population
    if population is None:
        return None
    if population not in POPULATIONS:
        raise KeyError(f"{target}: no scoring rule for its population '{population}'")
    return POPULATIONS[population](features, rules).to_numpy()


def within_population(
    predictions: dict[str, np.ndarray], features: pd.DataFrame, rules: FeatureRules
) -> dict[str, np.ndarray]:
    """Each target's predictions, missing (NaN) for customers outside its population."""
    restricted = {}
    for target, prediction in predictions.items():
        rows = in_population(target, features, rules)
        restricted[target] = prediction if rows is None else np.where(rows, prediction, np.nan)
    return restricted
