"""MLflow plumbing: the tracking store, one experiment per target, runs, the registry and aliases.

The store defaults to a SQLite file (``mlflow.tracking_uri`` in params); ``MLFLOW_TRACKING_URI``
overrides it, so the same code records to a server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import mlflow
import optuna
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema

from features.targets import MODEL_PREFIX, spec
from models import serving

CHAMPION, CHALLENGER = "champion", "challenger"


def configure(tracking_uri: str) -> str:
    """Point MLflow at the environment's store, or at the params' SQLite file."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def experiment_for(target: str, artifact_root: Path) -> str:
    """The experiment of a target (or of "scoring"), created with a local artifact folder on first
    use."""
    name = f"{MODEL_PREFIX}{target}"
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = (Path(artifact_root).resolve() / target).as_uri()
        client.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(name)
    return name


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def log_trials(study: optuna.Study, parent_run_id: str) -> None:
    """One nested run per Optuna trial: its params, objective value and state only."""
    client = MlflowClient()
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    for trial in study.trials:
        run = client.create_run(
            experiment_id,
            run_name=f"trial-{trial.number:03d}",
            tags={"mlflow.parentRunId": parent_run_id, "optuna.state": trial.state.name},
        )
        for key, value in trial.params.items():
            client.log_param(run.info.run_id, key, value)
        if trial.value is not None:
            client.log_metric(run.info.run_id, "objective", trial.value)
        status = "FINISHED" if trial.state.is_finished() else "FAILED"
        client.set_terminated(run.info.run_id, status=status)


def register(model_uri: str, name: str, run_id: str) -> str:
    """Register a logged model as a new version of ``name``; returns the version number."""
    version = mlflow.register_model(model_uri, name, tags={"run_id": run_id})
    return str(version.version)


def tag_version(name: str, version: str, tags: dict) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value))


def alias_version(name: str, alias: str) -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


def set_alias(name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(name, alias, version)


def has_run(run_id: str) -> bool:
    """Whether the current tracking store holds the run."""
    try:
        MlflowClient().get_run(run_id)
    except mlflow.exceptions.MlflowException:
        return False
    return True


def require_run(run_id: str, remedy: str) -> None:
    """Fail clearly when a run recorded by an earlier stage is not in the current store."""
    if not has_run(run_id):
        raise RuntimeError(
            f"MLflow run {run_id} recorded by training is not in the tracking store "
            f"{mlflow.get_tracking_uri()} (was the store removed or MLFLOW_TRACKING_URI changed?); "
            f"run `{remedy}`"
        )


def log_scoring_run(
    artifact_root: Path, folder: Path, rows: int, moved: dict | None, sample: pd.DataFrame
) -> None:
    """A run in the scoring experiment for a new export of ``rows`` customers: its manifest,
    drift report, segment report, fairness audit and migration, and a sample of rows (ids
    pseudonymised by the caller)."""
    experiment_for("scoring", artifact_root)
    with mlflow.start_run(run_name=f"score-{folder.name}"):
        mlflow.log_params({"as_of": folder.name, "rows": rows})
        mlflow.log_artifact(str(folder / "manifest.json"))
        mlflow.log_artifact(str(folder / "drift.json"))
        mlflow.log_artifact(str(folder / "report.html"))
        mlflow.log_artifact(str(folder / "fairness.json"))
        fairness = json.loads((folder / "fairness.json").read_text())["by_attribute"]
        for attribute, found in fairness.items():
            if found["worst"] is not None:
                ratio = found["worst"]["disparity_ratio"]
                mlflow.log_metrics(
                    {
                        f"fairness_{attribute}_worst_disparity_ratio{k}": ratio[v]
                        for k, v in (("", "value"), ("_ci_low", "ci_low"), ("_ci_high", "ci_high"))
                    }
                )
        if moved is not None:
            mlflow.log_metric("segment_stability_share", moved["stability_share"])
            mlflow.log_artifacts(str(folder / "migration"), "migration")
        mlflow.log_table(sample, "segments_sample_pseudonymised.json")


def signature_frames(model, X: pd.DataFrame):
    """Input example and signature over the columns the model reads. Every input is optional:
    scoring covers customers (e.g. never-buyers) for whom a feature is missing even if no
    training row lacked it."""
    X = X[list(model.feature_names_in_)]
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


def _method(target: str) -> str:
    """What the pyfunc's predict returns: probabilities for a probability, else predictions."""
    return "predict_proba" if spec(target).is_classification else "predict"


def log_model(model, X: pd.DataFrame, target: str):
    """Log the model to the active run as JSON artefacts in a code-based pyfunc
    (`models.serving`), with signature and input example."""
    example, signature = signature_frames(model, X)
    with serving.model_files(model, _method(target)) as files:
        return mlflow.pyfunc.log_model(
            name="model", signature=signature, input_example=example, **files
        )


def save_model(model, X: pd.DataFrame, path: Path, target: str) -> None:
    """The same model in MLflow format at ``path`` (a folder that must not exist yet)."""
    example, signature = signature_frames(model, X)
    with serving.model_files(model, _method(target)) as files:
        mlflow.pyfunc.save_model(str(path), signature=signature, input_example=example, **files)


def export_run_id(artifact_root: Path, as_of: str) -> str | None:
    """The newest scoring run that published the export of ``as_of`` (None: not in the store)."""
    experiment = experiment_for("scoring", artifact_root)
    runs = mlflow.search_runs(
        experiment_names=[experiment],
        filter_string=f"params.as_of = '{as_of}' and attributes.run_name = 'score-{as_of}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    return runs[0].info.run_id if runs else None


def lift_metrics(result: dict) -> dict[str, float]:
    """``<metric>_lift/<segment>`` and its interval bounds, for every measured lift."""
    metrics = {}
    for segment, part in [("all", result.get("overall")), *result.get("segments", {}).items()]:
        name = re.sub(r"[^\w\-. /]", "_", segment)
        for metric, effect in (part or {}).get("metrics", {}).items():
            if "lift" in effect:
                low, high = effect["ci"]
                metrics |= {f"{metric}_lift/{name}": effect["lift"]}
                metrics |= {f"{metric}_lift_low/{name}": low, f"{metric}_lift_high/{name}": high}
    return metrics


def _export_tags(artifact_root: Path, as_of: str) -> dict[str, str]:
    """Tags nesting a run under the scoring run of the export of ``as_of`` (when in the store)."""
    parent = export_run_id(artifact_root, as_of)
    tags = {"export_as_of": as_of, "export_run_id": parent or "unknown"}
    return tags | ({"mlflow.parentRunId": parent} if parent else {})


def log_measurement_run(artifact_root: Path, result: dict, files: list[Path]) -> str:
    """A run for one measurement of an export, nested under the export's scoring run when the
    store has it: the window, the lifts overall and per segment, and the result files."""
    tags = _export_tags(artifact_root, result["as_of"])
    name = f"measure-{result['as_of']}-until-{result['until']}"
    with mlflow.start_run(run_name=name, tags=tags) as run:
        mlflow.log_params({k: result[k] for k in ("as_of", "until", "window_days", "status")})
        mlflow.log_metrics(lift_metrics(result))
        for path in files:
            mlflow.log_artifact(str(path))
        return run.info.run_id


def ranking_metrics(rankings: dict) -> dict[str, float]:
    """``qini/<ranking>`` with its bounds, its difference from the propensity ranking with its
    bounds, and ``uplift_at_<k>/<ranking>``, for every ranking judged."""
    metrics = {}
    for name, part in rankings.items():
        for key in ("qini", "qini_minus_propensity"):
            low, high = part[f"{key}_ci"]
            metrics |= {f"{key}/{name}": part[key]}
            metrics |= {f"{key}_low/{name}": low, f"{key}_high/{name}": high}
        for k, value in part["uplift_at_k"].items():
            metrics[f"uplift_at_{k.rstrip('%')}pct/{name}"] = value["uplift"]
    return metrics


def log_uplift_run(artifact_root: Path, report: dict, params: dict, folder: Path) -> str:
    """A run for an uplift model learned from the campaign on an export, nested under the
    export's scoring run when the store has it: settings, every ranking's held-out Qini with its
    intervals, and the folder (report, Qini curves and plot, the model as JSON)."""
    tags = _export_tags(artifact_root, report["as_of"]) | {"chosen": report["chosen"]}
    name = f"uplift-{report['as_of']}-until-{report['until']}"
    with mlflow.start_run(run_name=name, tags=tags) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(ranking_metrics(report["rankings"]))
        mlflow.log_artifacts(str(folder), "uplift")
        return run.info.run_id
