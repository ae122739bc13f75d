"""DVC stage ``train`` (one per target): every candidate scorer, tracked in MLflow.

Candidates (`models.selection`): the probabilistic model, calibrated simple scorers, XGBoost
boosted from the probabilistic prior and free XGBoost; the two XGBoost ones are tuned by Optuna on
purged rolling-origin folds. One parent run per candidate (nested runs per trial for the tuned
ones) logs the model (signature and input example), settings, the feature list, data fingerprint,
git commit and cutoffs. Each model is also saved in MLflow format under
``paths.models_dir/<target>/<candidate>/model`` for DVC. Evaluation, the choice of the champion,
registration and aliases happen in the ``evaluate`` stage.
"""

from __future__ import annotations

import argparse
from functools import partial

import mlflow
from rich.console import Console

from features.targets import spec, target_names
from models import tracking
from models.frames import make_split, validation_folds
from models.horizon import ServedAtHorizon
from models.selection import Candidate, candidates_for, make_scorer
from models.training import TrainingData, fit_simple, fit_tuned, log_context, xgboost_settings
from models.tuning import study_name, tune
from pipelines.config import Params, load_params
from pipelines.files import atomic_dir
from pipelines.inputs import data_fingerprint, load_modelling_data, load_prior
from pipelines.io import write_json
from pipelines.progress import progress_bar


def training_inputs(params: Params, target: str) -> TrainingData:
    features, labels, plan = load_modelling_data(params)
    folds = validation_folds(
        plan,
        target,
        params.train.max_training_snapshots,
        params.train.cv_folds,
        params.train.fold_spacing_days,
    )
    splits = [
        (
            make_split(features, labels, target, fold.training),
            make_split(features, labels, target, [fold.validation]),
        )
        for fold in folds
    ]
    prior = load_prior(params, folds[0].holdout)
    return TrainingData(target, plan, folds, splits, data_fingerprint(params), prior)


def train_target(params: Params, target: str) -> dict:
    """Fit every candidate scorer of the target; each gets its own MLflow run and local copy."""
    data = training_inputs(params, target)
    tracking.configure(params.mlflow.tracking_uri)
    tracking.experiment_for(target, params.mlflow.artifact_root)
    train, valid = data.splits[0]
    report = {
        "target": target,
        "horizon_days": data.served,
        "training_horizon_days": data.horizon,
        "backtested": data.plan["targets"][target].get("backtested", True),
        "validation_folds": [f"{f.validation:%Y-%m-%d}" for f in data.folds],
        "prior_cutoff": f"{data.folds[0].holdout:%Y-%m-%d}" if data.prior else None,
        "rows": {"train": len(train.y), "valid": len(valid.y)},
        "data_fingerprint": data.fingerprint,
        "candidates": {},
    }
    for candidate in candidates_for(target, data.prior is not None):
        report["candidates"][candidate.name] = train_candidate(params, data, candidate)
    write_json(report, params.paths.reports_dir / "train" / f"{target}.json")
    return report


def train_candidate(params: Params, data: TrainingData, candidate: Candidate) -> dict:
    """One candidate's parent run: fit (tuned or not), serve at the asked horizon, log the model
    and save its local copy for DVC."""
    target, X = data.target, data.splits[0][0].X
    build = partial(
        make_scorer,
        target,
        candidate.name,
        seed=params.seed,
        prior=data.prior,
        horizon_days=data.horizon,
    )
    with mlflow.start_run(run_name=f"{target}-{candidate.name}-train") as run:
        log_context(data, candidate.name, params.seed)
        if candidate.tuned:
            entry = _fit_tuned(params, data, candidate.name, build, run)
        else:
            entry = fit_simple(target, data.splits, build)
        model = entry.pop("model")
        if data.served != data.horizon:  # trained shorter than asked: serve it rescaled
            model = ServedAtHorizon(
                model=model,
                target=target,
                bgnbd_params=data.prior,
                served_days=data.served,
                trained_days=data.horizon,
            ).fitted()
            mlflow.log_params(
                {"served_horizon_days": data.served, "training_horizon_days": data.horizon}
            )
        mlflow.log_metric(f"validation_{spec(target).headline}", entry["best_validation"])
        mlflow.log_dict({"features": list(model.feature_names_in_)}, "feature_list.json")
        info = tracking.log_model(model, X, target)
    with atomic_dir(params.paths.models_dir / target / candidate.name) as out:
        tracking.save_model(model, X, out / "model", target)
    return {
        "run_id": run.info.run_id,
        "model_uri": info.model_uri,
        "complexity": candidate.complexity,
        **entry,
    }


def _fit_tuned(params: Params, data: TrainingData, name: str, build, run) -> dict:
    """Optuna over the folds; the study's name changes with the data, settings and cutoffs."""
    target, folds = data.target, [f"{f.validation:%Y-%m-%d}" for f in data.folds]
    study = study_name(
        f"{target}-{name}",
        data.fingerprint,
        {
            "search": params.train.search.__dict__,
            "seed": params.seed,
            "plan": data.plan,
            "folds": folds,
        },
    )
    params.paths.optuna_dir.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(params.paths.optuna_dir / f'{target}.db').resolve()}"
    complete = partial(
        xgboost_settings,
        target,
        max_rounds=params.train.search.max_rounds,
        monotone=params.train.monotone,
        calibration=params.train.calibration,
    )
    mlflow.log_param("n_trials", params.train.n_trials)
    with progress_bar() as bar:
        task = bar.add_task(f"Optuna trials ({target}, {name})", total=params.train.n_trials)
        found = tune(
            target,
            data.splits,
            lambda settings: build(complete(settings)),
            storage=storage,
            name=study,
            n_trials=params.train.n_trials,
            timeout_s=params.train.timeout_s,
            seed=params.seed,
            space=params.train.search,
            on_trial=lambda done, total: bar.update(task, completed=done, total=total),
        )
    tracking.log_trials(found, run.info.run_id)
    best = complete(found.best_params)
    entry = fit_tuned(found, best, data.splits, build)
    mlflow.log_params({f"best_{k}": v for k, v in best.items()})
    return entry


def main(target: str, params_path: str = "params.yaml") -> dict:
    params = load_params(params_path)
    report = train_target(params, target)
    console = Console(stderr=True)
    for name, entry in report["candidates"].items():
        console.print(
            f"[bold]train {target}[/bold] {name}: validation {spec(target).headline} "
            f"{entry['best_validation']:.4f} (mean of {len(report['validation_folds'])} folds); "
            f"run {entry['run_id']}"
        )
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, choices=target_names())
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    main(args.target, args.params)
