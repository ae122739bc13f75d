"""The evaluate stage's side of the MLflow registry: the candidates a training saved, the champion
registered before this run, and registering every candidate with the aliases that say which
serves (``champion``) and which is next (``challenger``)."""

from __future__ import annotations

import mlflow
import pandas as pd

from features.targets import spec
from models import tracking
from models.evaluation import Evaluation
from models.frames import predict_target
from models.promotion import runner_up
from models.tuning import headline_score
from pipelines.config import Params


def load_candidates(params: Params, target: str, trained: dict) -> dict:
    """The local MLflow copy of every candidate the train stage fitted."""
    folder = params.paths.models_dir / target
    return {
        name: mlflow.sklearn.load_model(str(folder / name / "model"))
        for name in trained["candidates"]
    }


def previous_champion_score(target: str, X: pd.DataFrame, y) -> dict | None:
    """The champion registered before this run, on this same holdout (None when there is none)."""
    name = spec(target).registered_model
    version = tracking.alias_version(name, tracking.CHAMPION)
    if version is None:
        return None
    try:
        champion = mlflow.sklearn.load_model(f"models:/{name}@{tracking.CHAMPION}")
        prediction = predict_target(target, champion, X)
    except Exception as error:  # noqa: BLE001 - an unusable champion must not block evaluation
        return {"version": version, "value": None, "error": f"{type(error).__name__}: {error}"}
    return {"version": version, "value": headline_score(target, y, prediction)}


def register_candidates(target: str, trained: dict, ev: Evaluation) -> dict:
    """Every candidate becomes a version of the target's registered model with an alias of its
    own name; ``champion`` points at the one that serves (unless the fairness gate refused it),
    ``challenger`` at the runner-up."""
    name = spec(target).registered_model
    versions = {}
    for candidate, entry in trained["candidates"].items():
        version = tracking.register(entry["model_uri"], name, entry["run_id"])
        tracking.tag_version(name, version, {"scorer": candidate, "target": target})
        tracking.set_alias(name, candidate, version)
        versions[candidate] = version
    if ev.promoted:  # refused by the fairness gate: what served before keeps serving
        tracking.set_alias(name, tracking.CHAMPION, versions[ev.champion])
    if (challenger := runner_up(ev)) is not None:
        tracking.set_alias(name, tracking.CHALLENGER, versions[challenger])
    return {
        "name": name,
        "versions": versions,
        "champion": ev.champion if ev.promoted else None,
        "version": versions[ev.champion] if ev.promoted else None,
    }
