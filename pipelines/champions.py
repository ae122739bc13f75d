"""The registered models that serve: loading them by alias, checking their signature against the
features, and where they came from (versions, evidence, horizons, data), for scoring and its
export. Their drift guard is `pipelines.guard`."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import pandas as pd

from features.targets import TARGETS, spec
from models import serving, tracking
from models.frames import training_horizon
from pipelines.config import Params
from pipelines.exits import EXIT_NO_MODEL, EXIT_SCHEMA, EXIT_UNSAFE_MODEL, ScoringError
from pipelines.inputs import data_fingerprint, evidence, planned_targets, training_report

# Retrains, registers and scores into the current store, not touching the stages before `train`.
RETRAIN = "dvc repro --force --downstream train"


@dataclass
class Champion:
    target: str
    version: str
    run_id: str
    pyfunc: object
    model: object
    scorer: str = "xgboost"  # which candidate this version is (models.selection)


def _lost_runs(params: Params, target: str) -> list[str]:
    """Runs the train stage recorded that the tracking store no longer has (none if untrained)."""
    if not (params.paths.reports_dir / "train" / f"{target}.json").exists():
        return []
    runs = [c["run_id"] for c in training_report(params, target)["candidates"].values()]
    return [run for run in runs if not tracking.has_run(run)]


def _no_model(params: Params, alias: str, target: str) -> ScoringError:
    name = spec(target).registered_model
    if lost := _lost_runs(params, target):
        return ScoringError(
            EXIT_NO_MODEL,
            f"no '{alias}' model for {target} ({name}), and the tracking store "
            f"{mlflow.get_tracking_uri()} lacks run {lost[0]} that training recorded: was "
            "mlflow.db removed, or MLFLOW_TRACKING_URI changed?",
            f"run `{RETRAIN}` (plain `dvc repro` sees those stages as done): it retrains, "
            "registers and scores into this store",
        )
    return ScoringError(
        EXIT_NO_MODEL,
        f"no '{alias}' model registered for {target} ({name})",
        "run `dvc repro` (a model becomes champion only when it beats the baselines), "
        "or score with --model-alias challenger",
    )


def load_models(alias: str, params: Params) -> dict[str, Champion]:
    """The registered model each target's ``alias`` points at (pyfunc and estimator views)."""
    found = {}
    for target in TARGETS:
        name = spec(target).registered_model
        version = tracking.alias_version(name, alias)
        if version is None:
            raise _no_model(params, alias, target)
        registered = mlflow.MlflowClient().get_model_version(name, version)
        pyfunc = _load(target, name, alias, version)
        found[target] = Champion(
            target,
            version,
            registered.run_id,
            pyfunc,
            serving.estimator(pyfunc),
            registered.tags.get("scorer", "xgboost"),
        )
    return found


def _load(target: str, name: str, alias: str, version: str):
    """The registered model as a pyfunc over its JSON artefacts; never a pickle."""
    try:
        return serving.load(f"models:/{name}@{alias}")
    except serving.UnsafeModelError as error:
        raise ScoringError(
            EXIT_UNSAFE_MODEL,
            f"{target} model {name} v{version} ('{alias}'): {error}",
            "retrain with `dvc repro`: this version registers models as JSON artefacts and "
            "refuses to unpickle older ones",
        ) from error


def check_schema(champions: dict[str, Champion], features: pd.DataFrame) -> None:
    """MLflow signature enforcement: a missing or mistyped feature is a clear error."""
    for champion in champions.values():
        try:
            champion.pyfunc.predict(features.head(50))
        except (mlflow.exceptions.MlflowException, ValueError) as error:
            message = str(error)
            cause = message[message.find("Error:") + 7 :] if "Error:" in message else message
            cause = cause.splitlines()[0][:300]
            raise ScoringError(
                EXIT_SCHEMA,
                f"{champion.target} model v{champion.version}: {cause}",
                "retrain (`dvc repro`) so models and features match",
            ) from error


def horizon_plan(params: Params) -> dict:
    """Per target: the horizon it is served at, the one its models were trained at, and whether
    the served horizon was backtested (`features.snapshots`)."""
    return {
        target: {
            "horizon_days": entry["horizon_days"],
            "training_horizon_days": training_horizon(entry),
            "backtested": entry.get("backtested", True),
        }
        for target, entry in planned_targets(params).items()
    }


def provenance(params: Params, champions: dict[str, Champion]) -> dict:
    """What an export was scored with: horizons, each model's version, run, scorer and the
    evaluate stage's evidence for it, and the fingerprint of the data they were trained on."""
    return {
        "horizons": horizon_plan(params),
        "models": {
            t: {
                "name": spec(t).registered_model,
                "version": c.version,
                "run_id": c.run_id,
                "scorer": c.scorer,
                "evidence": evidence(params, t),
            }
            for t, c in champions.items()
        },
        "data_fingerprint": data_fingerprint(params),
    }
