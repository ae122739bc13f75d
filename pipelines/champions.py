"""The registered models that serve: loading them by alias, checking their signature against the
features, and where they came from (versions, evidence, horizons, data), for scoring and its
export. Their drift guard is `pipelines.guard`."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import pandas as pd

from features.targets import TARGETS, spec
from models import tracking
from models.frames import training_horizon
from pipelines.config import Params
from pipelines.exits import EXIT_NO_MODEL, EXIT_SCHEMA, ScoringError
from pipelines.inputs import data_fingerprint, evidence, planned_targets


@dataclass
class Champion:
    target: str
    version: str
    run_id: str
    pyfunc: object
    model: object
    scorer: str = "xgboost"  # which candidate this version is (models.selection)


def load_models(alias: str) -> dict[str, Champion]:
    """The registered model each target's ``alias`` points at (pyfunc and sklearn views)."""
    found = {}
    for target in TARGETS:
        name = spec(target).registered_model
        version = tracking.alias_version(name, alias)
        if version is None:
            raise ScoringError(
                EXIT_NO_MODEL,
                f"no '{alias}' model registered for {target} ({name})",
                "run `dvc repro` (a model becomes champion only when it beats the baselines), "
                "or score with --model-alias challenger",
            )
        uri = f"models:/{name}@{alias}"
        registered = mlflow.MlflowClient().get_model_version(name, version)
        found[target] = Champion(
            target,
            version,
            registered.run_id,
            mlflow.pyfunc.load_model(uri),
            mlflow.sklearn.load_model(uri),
            registered.tags.get("scorer", "xgboost"),
        )
    return found


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
