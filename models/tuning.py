"""Optuna search over XGBoost settings on purged rolling-origin validation.

Each trial fits one model per fold (a validation cutoff, with training cutoffs whose label windows
end by it) and scores the mean headline metric over folds, so settings are chosen on several
periods, not one. TPE with a seeded sampler and median pruning on the most recent fold's
validation curve; the study is stored in SQLite under a name derived from the data fingerprint and
the params, so an interrupted run resumes and a finished one is reused.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import optuna
import xgboost as xgb

from features.targets import spec
from models.frames import Split, predict_target
from models.metrics import ALL_METRICS
from models.search_space import SearchSpace


def headline_score(target: str, y, prediction) -> float:
    return float(ALL_METRICS[spec(target).headline](np.asarray(y), np.asarray(prediction)))


def suggest(trial: optuna.Trial, target: str, space: SearchSpace) -> dict:
    params = {
        "max_depth": trial.suggest_int("max_depth", *space.max_depth),
        "learning_rate": trial.suggest_float("learning_rate", *space.learning_rate, log=True),
        "min_child_weight": trial.suggest_float(
            "min_child_weight", *space.min_child_weight, log=True
        ),
        "subsample": trial.suggest_float("subsample", *space.subsample),
        "colsample_bytree": trial.suggest_float("colsample_bytree", *space.colsample_bytree),
        "reg_lambda": trial.suggest_float("reg_lambda", *space.reg_lambda, log=True),
        "n_estimators": space.max_rounds,
    }
    if spec(target).is_value:
        low, high = space.tweedie_variance_power
        params["tweedie_variance_power"] = trial.suggest_float("tweedie_variance_power", low, high)
    return params


class PruningCallback(xgb.callback.TrainingCallback):
    """Report the validation loss to Optuna every ``every`` rounds and stop hopeless trials."""

    def __init__(self, trial: optuna.Trial, every: int = 25):
        self.trial, self.every = trial, every

    def __deepcopy__(self, memo):  # xgboost copies callbacks; the trial must stay shared
        return self

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        if epoch % self.every:
            return False
        (history,) = evals_log["validation_0"].values()
        self.trial.report(-float(history[-1]), step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at round {epoch}")
        return False


def study_name(target: str, data_fingerprint: str, params: dict) -> str:
    """Same data and params -> same study, so reruns resume instead of starting over."""
    blob = json.dumps({"data": data_fingerprint, "params": params}, sort_keys=True, default=str)
    return f"{target}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def _study(name: str, storage: str, seed: int) -> optuna.Study:
    """The stored study of this name (resumed), or a new one: seeded TPE, median pruning."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=50),
    )


def tune(
    target: str,
    folds: list[tuple[Split, Split]],
    build,
    *,
    storage: str,
    name: str,
    n_trials: int,
    timeout_s: float | None,
    seed: int,
    space: SearchSpace,
    on_trial=None,
) -> optuna.Study:
    """Run (or resume) the study until it holds ``n_trials`` finished trials.

    ``folds``: (train, validation) pairs, the most recent first; ``build(settings)`` returns an
    unfitted estimator. ``on_trial(finished, n_trials)`` is called before the first trial and
    after each one."""
    study = _study(name, storage, seed)

    def objective(trial: optuna.Trial) -> float:
        settings = suggest(trial, target, space)
        scores, rounds = [], []
        for i, (train, valid) in enumerate(folds):
            model = build(settings)
            callbacks = [PruningCallback(trial)] if i == 0 else None
            model.fit(train.X, train.y, eval_set=(valid.X, valid.y), callbacks=callbacks)
            prediction = predict_target(target, model, valid.X)
            scores.append(headline_score(target, valid.y, prediction))
            rounds.append(model.best_iteration_)
        trial.set_user_attr("fold_scores", [round(v, 6) for v in scores])
        trial.set_user_attr("best_iteration", rounds[0])
        return float(np.mean(scores))

    finished = [t for t in study.trials if t.state.is_finished()]
    remaining = max(0, n_trials - len(finished))

    def report(study: optuna.Study, _trial=None) -> None:
        if on_trial is not None:
            done = sum(t.state.is_finished() for t in study.trials)
            on_trial(min(done, n_trials), n_trials)

    report(study)
    if remaining:
        study.optimize(objective, n_trials=remaining, timeout=timeout_s, callbacks=[report])
    return study
