"""Fitting a candidate scorer on purged rolling-origin folds: what a target's training reads, the
candidate's settings, the fit on the most recent fold, what the fit reports (validation per fold,
the tuned study's evidence) and the context its MLflow run records.

``build(settings)`` returns an unfitted candidate (`models.selection.make_scorer`); ``splits``
are (train, validation) pairs, the most recent first (`models.frames.validation_folds`).
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
import optuna

from features.targets import spec
from models import tracking
from models.frames import predict_target, training_horizon
from models.selection import CANDIDATES
from models.tuning import headline_score


@dataclass(frozen=True)
class TrainingData:
    """One target's folds (most recent first) with their (train, validation) splits, the plan,
    the data fingerprint and the BG/NBD prior fitted at the holdout cutoff."""

    target: str
    plan: dict
    folds: list
    splits: list
    fingerprint: str
    prior: dict | None

    @property
    def horizon(self) -> int:  # trained at
        return training_horizon(self.plan["targets"][self.target])

    @property
    def served(self) -> int:  # served at
        return self.plan["targets"][self.target]["horizon_days"]


def log_context(data: TrainingData, candidate: str, seed: int) -> None:
    """Tags and params of a candidate's parent run: cutoffs, fingerprint, commit, row counts."""
    cutoffs, (train, valid) = data.folds[0], data.splits[0]
    mlflow.set_tags(
        {
            "target": data.target,
            "candidate": candidate,
            "git_commit": tracking.git_commit(),
            "data_fingerprint": data.fingerprint,
            "training_cutoffs": ",".join(f"{t:%Y-%m-%d}" for t in cutoffs.training),
            "validation_cutoff": f"{cutoffs.validation:%Y-%m-%d}",
            "validation_folds": ",".join(f"{f.validation:%Y-%m-%d}" for f in data.folds),
            "holdout_cutoff": f"{cutoffs.holdout:%Y-%m-%d}",
        }
    )
    sizes = {"train": len(train.y), "valid": len(valid.y), "folds": len(data.folds)}
    mlflow.log_params(
        {
            "target": data.target,
            "candidate": candidate,
            "description": CANDIDATES[candidate].description,
            "headline_metric": spec(data.target).headline,
            "seed": seed,
            **{f"rows_{name}": size for name, size in sizes.items()},
        }
    )


def xgboost_settings(
    target: str, tuned: dict, *, max_rounds: int, monotone: bool, calibration: str
) -> dict:
    """Tuned XGBoost settings completed with the rounds cap, the target's monotone constraints
    (when asked) and, for a probability, its calibrator."""
    chosen = {**tuned, "n_estimators": max_rounds}
    if monotone:
        chosen["monotone_constraints"] = spec(target).monotone
    if spec(target).is_classification:
        chosen["calibration"] = calibration
    return chosen


def fit_latest(build, settings: dict, splits):
    """Fit on the most recent fold, with its validation cutoff for early stopping/calibration."""
    train, valid = splits[0]
    return build(settings).fit(train.X, train.y, eval_set=(valid.X, valid.y))


def fit_simple(target: str, splits, build) -> dict:
    """Fit on the most recent fold; its validation score for each fold (calibrated per fold)."""
    scores = []
    for train, valid in splits:
        model = build({}).fit(train.X, train.y, eval_set=(valid.X, valid.y))
        scores.append(headline_score(target, valid.y, predict_target(target, model, valid.X)))
    return {
        "model": fit_latest(build, {}, splits),
        "best_validation": round(float(np.mean(scores)), 6),
        "fold_validation": [round(v, 6) for v in scores],
    }


def fit_tuned(study: optuna.Study, best: dict, splits, build) -> dict:
    """The study's ``best`` settings fitted on the most recent fold, with the study's evidence."""
    model = fit_latest(build, best, splits)
    return {
        "model": model,
        "study": study.study_name,
        "trials": len(study.trials),
        "best_validation": round(study.best_value, 6),
        "fold_validation": study.best_trial.user_attrs.get("fold_scores"),
        "best_params": best,
        "best_iteration": model.best_iteration_,
    }
