"""The registered models that serve: loading them by alias, checking them against the features
(signature and drift), and where they came from (versions, evidence, horizons, data), for
scoring and its export."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import pandas as pd

from features.targets import TARGETS, spec
from models import serving, tracking
from models.drift import model_drift, refusal
from models.frames import training_horizon
from pipelines.config import Params
from pipelines.exits import (
    EXIT_DRIFT,
    EXIT_NO_MODEL,
    EXIT_SCHEMA,
    EXIT_UNSAFE_MODEL,
    ScoringError,
)
from pipelines.inputs import data_fingerprint, evidence, load_features, planned_targets


@dataclass
class Champion:
    target: str
    version: str
    run_id: str
    pyfunc: object
    model: object
    scorer: str = "xgboost"  # which candidate this version is (models.selection)


def load_models(alias: str) -> dict[str, Champion]:
    """The registered model each target's ``alias`` points at (pyfunc and estimator views)."""
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


def training_cutoffs(champion: Champion) -> list[pd.Timestamp]:
    """The cutoffs the champion was trained and validated at (its run's tags)."""
    tags = mlflow.MlflowClient().get_run(champion.run_id).data.tags
    cutoffs = [t for t in tags.get("training_cutoffs", "").split(",") if t]
    return [pd.Timestamp(t, tz="UTC") for t in [*cutoffs, tags["validation_cutoff"]]]


def check_drift(
    params: Params, champions: dict[str, Champion], features: pd.DataFrame, allow: bool
) -> dict:
    """PSI of each model's features between its training snapshots (pooled) and this one;
    refuses to go on when a shift is over the limit and not allowed (`models.drift`)."""
    inputs = {
        target: (list(champion.model.feature_names_in_), training_cutoffs(champion))
        for target, champion in champions.items()
    }
    limits = params.score.drift
    drift = model_drift(
        load_features(params), features, inputs, limits.warn_psi, limits.refuse_psi, allow
    )
    if (refused := refusal(drift)) is not None:
        target, column, psi = refused
        raise ScoringError(
            EXIT_DRIFT,
            f"feature drift too large: PSI {psi:.2f} on '{column}' for the {target} model "
            f"(limit {limits.refuse_psi}); {len(drift['over_limit'])} model features over",
            "the model was trained on windows unlike today's data: retrain it on recent "
            "cutoffs, or pass --allow-drift once the shift is understood (PSI per feature "
            "goes to drift.json of the export)",
        )
    return drift


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
