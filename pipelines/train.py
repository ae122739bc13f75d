"""DVC stage ``train`` (one per target): Optuna-tuned XGBoost, tracked in MLflow.

One parent run per training with a nested run per trial; the parent logs the model (signature and
input example), best params, the feature list, data fingerprint, git commit and cutoffs. The model
is also saved in MLflow format under ``paths.models_dir/<target>/model`` for DVC. Evaluation,
registration and aliases happen in the ``evaluate`` stage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema
from rich.console import Console

from features.catalogue import KEY_COLUMNS
from models import tracking
from models.frames import TASKS, make_split, target_cutoffs
from models.tuning import HEADLINE, make_estimator, study_name, tune
from pipelines.config import Params, load_params
from pipelines.io import atomic_dir, fingerprint, write_json
from pipelines.progress import progress_bar


def load_modelling_data(params: Params) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Features with the BG/NBD columns joined (only cutoffs that have them), labels, plan."""
    folder = params.paths.features_dir
    plan = json.loads((folder / "snapshots.json").read_text())
    bgnbd = pd.read_parquet(params.paths.bgnbd)
    features = pd.read_parquet(folder / "features.parquet").merge(
        bgnbd, on=list(KEY_COLUMNS), how="inner", validate="one_to_one"
    )
    return features, pd.read_parquet(folder / "labels.parquet"), plan


def data_fingerprint(params: Params) -> str:
    folder = params.paths.features_dir
    return fingerprint([folder / "features.parquet", folder / "labels.parquet", params.paths.bgnbd])


def _model_params(params: Params, target: str, best: dict) -> dict:
    chosen = {**best, "n_estimators": params.train.search.max_rounds}
    if TASKS[target] == "classification":
        chosen["calibration"] = params.train.calibration
    return chosen


def _log_context(params: Params, target: str, cutoffs, split_sizes: dict, fp: str) -> None:
    mlflow.set_tags(
        {
            "target": target,
            "git_commit": tracking.git_commit(),
            "data_fingerprint": fp,
            "training_cutoffs": ",".join(f"{t:%Y-%m-%d}" for t in cutoffs.training),
            "validation_cutoff": f"{cutoffs.validation:%Y-%m-%d}",
            "holdout_cutoff": f"{cutoffs.holdout:%Y-%m-%d}",
        }
    )
    mlflow.log_params(
        {
            "target": target,
            "headline_metric": HEADLINE[target],
            "n_trials": params.train.n_trials,
            "seed": params.seed,
            **{f"rows_{name}": size for name, size in split_sizes.items()},
        }
    )


def train_target(params: Params, target: str) -> dict:
    features, labels, plan = load_modelling_data(params)
    cutoffs = target_cutoffs(plan, target, params.train.max_training_snapshots)
    train = make_split(features, labels, target, cutoffs.training)
    valid = make_split(features, labels, target, [cutoffs.validation])
    fp = data_fingerprint(params)
    search = params.train.search.__dict__
    name = study_name(target, fp, {"search": search, "seed": params.seed, "plan": plan})
    tracking.configure(params.mlflow.tracking_uri)
    tracking.experiment_for(target, params.mlflow.artifact_root)
    params.paths.optuna_dir.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(params.paths.optuna_dir / f'{target}.db').resolve()}"
    with mlflow.start_run(run_name=f"{target}-train") as run:
        _log_context(params, target, cutoffs, {"train": len(train.y), "valid": len(valid.y)}, fp)
        with progress_bar() as bar:
            task = bar.add_task(f"Optuna trials ({target})", total=params.train.n_trials)
            study = tune(
                target,
                train,
                valid,
                storage=storage,
                name=name,
                n_trials=params.train.n_trials,
                timeout_s=params.train.timeout_s,
                seed=params.seed,
                space=params.train.search,
                on_trial=lambda done, total: bar.update(task, completed=done, total=total),
            )
        tracking.log_trials(study, run.info.run_id)
        best = _model_params(params, target, study.best_params)
        model = make_estimator(target, best, params.seed).fit(
            train.X, train.y, eval_set=(valid.X, valid.y)
        )
        mlflow.log_params({f"best_{k}": v for k, v in best.items()})
        mlflow.log_metric(f"validation_{HEADLINE[target]}", study.best_value)
        mlflow.log_dict({"features": list(train.X.columns)}, "feature_list.json")
        info = _log_model(model, train.X, target)
    _save_local(model, train.X, target, params)
    report = {
        "target": target,
        "run_id": run.info.run_id,
        "model_uri": info.model_uri,
        "study": name,
        "trials": len(study.trials),
        "best_validation": round(study.best_value, 6),
        "best_params": best,
        "best_iteration": model.best_iteration_,
        "rows": {"train": len(train.y), "valid": len(valid.y)},
        "data_fingerprint": fp,
    }
    write_json(report, params.paths.reports_dir / "train" / f"{target}.json")
    return report


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
    example, signature = _signature_frames(model, X)
    predict_fn = "predict_proba" if TASKS[target] == "classification" else "predict"
    return mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        pyfunc_predict_fn=predict_fn,
        serialization_format="cloudpickle",
    )


def _save_local(model, X: pd.DataFrame, target: str, params: Params) -> None:
    example, signature = _signature_frames(model, X)
    with atomic_dir(Path(params.paths.models_dir) / target) as out:
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
    Console(stderr=True).print(
        f"[bold]train {target}[/bold]: {report['trials']} trials, best validation "
        f"{HEADLINE[target]} {report['best_validation']:.4f}; run {report['run_id']}"
    )
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, choices=sorted(TASKS))
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    main(args.target, args.params)
