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
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema
from rich.console import Console

from features.targets import spec, target_names
from models import tracking
from models.frames import (
    make_split,
    predict_target,
    training_horizon,
    validation_folds,
)
from models.horizon import ServedAtHorizon
from models.selection import CANDIDATES, candidates_for, make_scorer
from models.tuning import headline_score, study_name, tune
from pipelines.config import Params, load_params
from pipelines.files import atomic_dir
from pipelines.inputs import data_fingerprint, load_modelling_data, load_prior
from pipelines.io import write_json
from pipelines.progress import progress_bar


def _model_settings(params: Params, target: str, best: dict) -> dict:
    chosen = {**best, "n_estimators": params.train.search.max_rounds}
    if params.train.monotone:
        chosen["monotone_constraints"] = spec(target).monotone
    if not spec(target).is_value:
        chosen["calibration"] = params.train.calibration
    return chosen


def _log_context(params: Params, target: str, candidate: str, folds, sizes: dict, fp: str) -> None:
    cutoffs = folds[0]
    mlflow.set_tags(
        {
            "target": target,
            "candidate": candidate,
            "git_commit": tracking.git_commit(),
            "data_fingerprint": fp,
            "training_cutoffs": ",".join(f"{t:%Y-%m-%d}" for t in cutoffs.training),
            "validation_cutoff": f"{cutoffs.validation:%Y-%m-%d}",
            "validation_folds": ",".join(f"{f.validation:%Y-%m-%d}" for f in folds),
            "holdout_cutoff": f"{cutoffs.holdout:%Y-%m-%d}",
        }
    )
    mlflow.log_params(
        {
            "target": target,
            "candidate": candidate,
            "description": CANDIDATES[candidate].description,
            "headline_metric": spec(target).headline,
            "seed": params.seed,
            **{f"rows_{name}": size for name, size in sizes.items()},
        }
    )


def train_target(params: Params, target: str) -> dict:
    """Fit every candidate scorer of the target; each gets its own MLflow run and local copy."""
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
    train, valid = splits[0]
    fp = data_fingerprint(params)
    prior = load_prior(params, folds[0].holdout)
    entry_plan = plan["targets"][target]
    horizon, served = training_horizon(entry_plan), entry_plan["horizon_days"]
    tracking.configure(params.mlflow.tracking_uri)
    tracking.experiment_for(target, params.mlflow.artifact_root)
    sizes = {"train": len(train.y), "valid": len(valid.y), "folds": len(folds)}
    report = {
        "target": target,
        "horizon_days": served,
        "training_horizon_days": horizon,
        "backtested": entry_plan.get("backtested", True),
        "validation_folds": [f"{f.validation:%Y-%m-%d}" for f in folds],
        "prior_cutoff": f"{folds[0].holdout:%Y-%m-%d}" if prior else None,
        "rows": {"train": len(train.y), "valid": len(valid.y)},
        "data_fingerprint": fp,
        "candidates": {},
    }
    for candidate in candidates_for(target, prior is not None):

        def build(settings, name=candidate.name):
            return make_scorer(
                target, name, settings, seed=params.seed, prior=prior, horizon_days=horizon
            )

        with mlflow.start_run(run_name=f"{target}-{candidate.name}-train") as run:
            _log_context(params, target, candidate.name, folds, sizes, fp)
            if candidate.tuned:
                entry = _fit_tuned(
                    params, target, candidate.name, splits, build, fp, (plan, folds), run
                )
            else:
                entry = _fit_simple(target, splits, build)
            model = entry.pop("model")
            if served != horizon:  # trained shorter than asked: serve it rescaled
                model = ServedAtHorizon(model, target, prior, served, horizon).fitted()
                mlflow.log_params({"served_horizon_days": served, "training_horizon_days": horizon})
            mlflow.log_metric(f"validation_{spec(target).headline}", entry["best_validation"])
            mlflow.log_dict({"features": list(model.feature_names_in_)}, "feature_list.json")
            info = _log_model(model, train.X, target)
        _save_local(model, train.X, target, candidate.name, params)
        report["candidates"][candidate.name] = {
            "run_id": run.info.run_id,
            "model_uri": info.model_uri,
            "complexity": candidate.complexity,
            **entry,
        }
    write_json(report, params.paths.reports_dir / "train" / f"{target}.json")
    return report


def _fit_simple(target: str, splits, build) -> dict:
    """Fit on the most recent fold; its validation score for each fold (calibrated per fold)."""
    scores = []
    for train, valid in splits:
        model = build({}).fit(train.X, train.y, eval_set=(valid.X, valid.y))
        scores.append(headline_score(target, valid.y, predict_target(target, model, valid.X)))
    model = build({}).fit(splits[0][0].X, splits[0][0].y, eval_set=(splits[0][1].X, splits[0][1].y))
    return {
        "model": model,
        "best_validation": round(float(np.mean(scores)), 6),
        "fold_validation": [round(v, 6) for v in scores],
    }


def _fit_tuned(params: Params, target: str, name: str, splits, build, fp, cutoffs, run) -> dict:
    """Optuna over the folds; the study's name changes with the data, settings and cutoffs."""
    plan, folds = cutoffs[0], [f"{f.validation:%Y-%m-%d}" for f in cutoffs[1]]
    search = params.train.search.__dict__
    study = study_name(
        f"{target}-{name}",
        fp,
        {"search": search, "seed": params.seed, "plan": plan, "folds": folds},
    )
    params.paths.optuna_dir.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(params.paths.optuna_dir / f'{target}.db').resolve()}"
    mlflow.log_param("n_trials", params.train.n_trials)
    with progress_bar() as bar:
        task = bar.add_task(f"Optuna trials ({target}, {name})", total=params.train.n_trials)
        found = tune(
            target,
            splits,
            lambda settings: build(_model_settings(params, target, settings)),
            storage=storage,
            name=study,
            n_trials=params.train.n_trials,
            timeout_s=params.train.timeout_s,
            seed=params.seed,
            space=params.train.search,
            on_trial=lambda done, total: bar.update(task, completed=done, total=total),
        )
    tracking.log_trials(found, run.info.run_id)
    best = _model_settings(params, target, found.best_params)
    train, valid = splits[0]
    model = build(best).fit(train.X, train.y, eval_set=(valid.X, valid.y))
    mlflow.log_params({f"best_{k}": v for k, v in best.items()})
    return {
        "model": model,
        "study": study,
        "trials": len(found.trials),
        "best_validation": round(found.best_value, 6),
        "fold_validation": found.best_trial.user_attrs.get("fold_scores"),
        "best_params": best,
        "best_iteration": model.best_iteration_,
    }


def _signature_frames(model, X: pd.DataFrame):
    """Input example and signature. Every input is optional: scoring covers customers (e.g.
    never-buyers) for whom a feature is missing even if no training row lacked it."""
    example = X.head(5)
    output = (
        model.predict_proba(example) if hasattr(model, "predict_proba") else model.predict(example)
    )
    inputs = Schema(
        [
            ColSpec(
                "double" if pd.api.types.is_numeric_dtype(X[c]) else "string", c, required=False
            )
            for c in X.columns
        ]
    )
    return example, ModelSignature(inputs=inputs, outputs=infer_signature(example, output).outputs)


def _log_model(model, X: pd.DataFrame, target: str):
    example, signature = _signature_frames(model, X[list(model.feature_names_in_)])
    predict_fn = "predict_proba" if not spec(target).is_value else "predict"
    return mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        pyfunc_predict_fn=predict_fn,
        serialization_format="cloudpickle",
    )


def _save_local(model, X: pd.DataFrame, target: str, candidate: str, params: Params) -> None:
    example, signature = _signature_frames(model, X[list(model.feature_names_in_)])
    with atomic_dir(Path(params.paths.models_dir) / target / candidate) as out:
        mlflow.sklearn.save_model(
            model,
            out / "model",
            signature=signature,
            input_example=example,
            serialization_format="cloudpickle",
        )


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
