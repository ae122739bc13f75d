"""The drift guard of scoring, wired to the files: each champion's reference snapshot (the features
at its holdout cutoff, with the BG/NBD columns it read), its predictions there and now, and the
refusal when a check fails (policy and limits: `models.drift`)."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd

from features.catalogue import KEY_COLUMNS
from models.drift import DriftRules, ageing_features, assess_model, decide, refusal
from models.frames import predict_target
from models.population import within_population
from pipelines.champions import Champion
from pipelines.config import Params
from pipelines.exits import EXIT_DRIFT, ScoringError
from pipelines.inputs import feature_rules, load_features
from pipelines.scoring_inputs import model_input


def holdout_cutoff(champion: Champion) -> pd.Timestamp:
    """The cutoff the champion's holdout metrics were measured at (its run's tags)."""
    tags = mlflow.MlflowClient().get_run(champion.run_id).data.tags
    return pd.Timestamp(tags.get("holdout_cutoff") or tags["validation_cutoff"], tz="UTC")


def reference_snapshot(params: Params, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The features stage's rows at ``cutoff`` with the bgnbd stage's columns, typed as model
    input (empty when the features stage has no such cutoff)."""
    features = load_features(params, cutoff)
    if params.paths.bgnbd.exists() and len(features):
        bgnbd = pd.read_parquet(params.paths.bgnbd, filters=[("as_of", "==", cutoff)])
        features = features.merge(bgnbd, on=list(KEY_COLUMNS), how="left")
    return model_input(features) if len(features) else features


def _scores(params: Params, champion: Champion, frame: pd.DataFrame) -> np.ndarray | None:
    """The champion's predictions on ``frame``, NaN outside its population."""
    columns = list(champion.model.feature_names_in_)
    if not set(columns) <= set(frame.columns):
        return None
    predicted = predict_target(champion.target, champion.model, frame[columns])
    restricted = within_population({champion.target: predicted}, frame, feature_rules(params, []))
    return restricted[champion.target]


def _assess(params: Params, champion: Champion, reference, features: pd.DataFrame):
    columns = list(champion.model.feature_names_in_)
    scores = (_scores(params, champion, reference), _scores(params, champion, features))
    ageing = ageing_features(feature_rules(params, []))
    frames = (reference, features)
    return assess_model(champion.target, frames, columns, ageing, scores, limits(params))


def limits(params: Params) -> DriftRules:
    """The guard's limits as `models.drift` reads them."""
    return DriftRules(**params.score.drift.model_dump())


def check_drift(
    params: Params, champions: dict[str, Champion], features: pd.DataFrame, allow: bool
) -> dict:
    """Each model's drift against its holdout snapshot; refuses to go on when a check fails and
    the operator has not allowed it (`models.drift`)."""
    assessed, references = {}, {}
    for target, champion in champions.items():
        cutoff = holdout_cutoff(champion)
        if cutoff not in references:
            references[cutoff] = reference_snapshot(params, cutoff)
        if len(references[cutoff]) == 0:
            assessed[target] = ({"skipped": "no features at the holdout cutoff"}, [])
        else:
            assessed[target] = _assess(params, champion, references[cutoff], features)
        assessed[target][0]["reference_cutoff"] = f"{cutoff:%Y-%m-%d}"
    drift = decide(assessed, limits(params), allow)
    if (refused := refusal(drift)) is not None:
        more = drift["over_limit"][1:]
        also = (
            f"; also over: {', '.join(more[:4])}{' ...' if len(more) > 4 else ''}" if more else ""
        )
        raise ScoringError(
            EXIT_DRIFT,
            refused["cause"] + also,
            f"{refused['hint']}. `--allow-drift` exports anyway, with every figure in drift.json",
        )
    return drift
