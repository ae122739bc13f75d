"""Design matrices for a target: which cutoffs train, validate and test, and which rows count.

The last training cutoff validates (early stopping, calibration, Optuna). Training uses the most
recent ``max_training_snapshots`` cutoffs whose label window ends by the validation cutoff (purged:
no training label overlaps the validation window); the holdout cutoff is touched only by evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalogue import KEY_COLUMNS
from features.targets import TARGETS, spec


@dataclass(frozen=True)
class TargetCutoffs:
    training: list[pd.Timestamp]
    validation: pd.Timestamp
    holdout: pd.Timestamp


def training_horizon(entry: dict) -> int:
    """The horizon a target's models are trained at (the asked one unless the data is short)."""
    return int(entry.get("training_horizon_days") or entry["horizon_days"])


def purged(cutoffs: list[pd.Timestamp], horizon_days: int, before: pd.Timestamp) -> list:
    """The cutoffs whose label window (cutoff, cutoff + horizon] ends by ``before``."""
    return [t for t in cutoffs if t + pd.Timedelta(days=horizon_days) <= before]


def target_cutoffs(plan: dict, target: str, max_training_snapshots: int) -> TargetCutoffs:
    """Cutoffs from the snapshot plan (``snapshots.json``) for one target, purged."""
    entry = plan["targets"][target]
    grid = [pd.Timestamp(t) for t in entry["training"]]
    if not grid:
        raise ValueError(f"{target}: the plan has no training cutoff")
    validation = grid[-1]
    horizon = training_horizon(entry)
    training = purged(grid[:-1], horizon, validation)
    if not training:
        raise ValueError(
            f"{target}: no training cutoff's {horizon}-day label window ends by the "
            f"validation cutoff {validation:%Y-%m-%d}; need more history or a shorter horizon"
        )
    return TargetCutoffs(
        training[-max_training_snapshots:], validation, pd.Timestamp(entry["holdout"])
    )


def validation_folds(
    plan: dict, target: str, max_training_snapshots: int, n_folds: int, spacing_days: int
) -> list[TargetCutoffs]:
    """Purged rolling-origin folds, the most recent first: validation cutoffs about
    ``spacing_days`` apart (so they fall in different seasons where the data allows), each with
    the training cutoffs whose label windows end by it. Where the history is too short for that
    spacing, the remaining folds take the latest earlier cutoffs that still have purged training
    cutoffs. The first fold is `target_cutoffs`."""
    first = target_cutoffs(plan, target, max_training_snapshots)
    entry = plan["targets"][target]
    grid = [pd.Timestamp(t) for t in entry["training"]]
    horizon = training_horizon(entry)

    def fold(validation: pd.Timestamp) -> TargetCutoffs | None:
        training = purged([t for t in grid if t < validation], horizon, validation)
        if not training:
            return None
        return TargetCutoffs(training[-max_training_snapshots:], validation, first.holdout)

    spaced = [first.validation - pd.Timedelta(days=k * spacing_days) for k in range(1, n_folds)]
    candidates = [max((t for t in grid if t <= latest), default=None) for latest in spaced]
    candidates += sorted((t for t in grid if t < first.validation), reverse=True)
    folds, used = [first], {first.validation}
    for validation in candidates:
        if len(folds) == n_folds:
            break
        found = None if validation is None or validation in used else fold(validation)
        if found is not None:
            used.add(validation)
            folds.append(found)
    return sorted(folds, key=lambda f: f.validation, reverse=True)


def modelling_cutoffs(
    plan: dict, max_training_snapshots: int, n_folds: int = 1, spacing_days: int = 91
) -> list[pd.Timestamp]:
    """Every cutoff any target trains, validates (in any fold) or is tested on, plus scoring."""
    cutoffs = {pd.Timestamp(plan["scoring"])}
    for target in plan["targets"]:
        for fold in validation_folds(plan, target, max_training_snapshots, n_folds, spacing_days):
            cutoffs |= {*fold.training, fold.validation, fold.holdout}
    return sorted(cutoffs)


def predict_target(target: str, model, X: pd.DataFrame) -> np.ndarray:
    """The model's score oriented like the target: P(label) for classifiers, the value or the
    (median) days otherwise."""
    if spec(target).is_classification:
        return model.predict_proba(X)[:, 1]
    return model.predict(X)


def feature_columns(features: pd.DataFrame, target: str | None = None) -> list[str]:
    """Model inputs of ``target`` (default: of any target): every column but the keys and the
    BG/NBD forecasts of other targets that are not inputs of every target."""
    excluded = {
        t.prior_column
        for t in TARGETS.values()
        if not t.prior_is_feature and target is not None and t.name != target
    }
    return [c for c in features.columns if c not in {*KEY_COLUMNS, *excluded}]


def eligible_rows(joined: pd.DataFrame, target: str) -> pd.DataFrame:
    """Rows whose label is defined for the target, within its population (if it has one)."""
    rows = joined[joined[target].notna()]
    population = spec(target).population
    if population:
        rows = rows[rows[population].astype(bool)]
    return rows


@dataclass
class Split:
    X: pd.DataFrame
    y: pd.Series
    keys: pd.DataFrame


def make_split(
    features: pd.DataFrame, labels: pd.DataFrame, target: str, cutoffs: list[pd.Timestamp]
) -> Split:
    """Features joined to labels for the given cutoffs, restricted to the target's population."""
    chosen = features[features["as_of"].isin(cutoffs)]
    joined = chosen.merge(labels, on=list(KEY_COLUMNS), how="inner", validate="one_to_one")
    rows = eligible_rows(joined, target).sort_values(list(KEY_COLUMNS), kind="stable")
    rows = rows.reset_index(drop=True)
    X = as_model_input(rows[feature_columns(features, target)])
    y = rows[target].astype(int if spec(target).is_classification else float)
    return Split(X, y, rows[list(KEY_COLUMNS)])


def as_model_input(X: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float64 (so a signature never rejects a missing count), categories as text."""
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    return X.astype({c: "float64" for c in numeric})
