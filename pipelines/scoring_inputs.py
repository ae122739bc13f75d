"""What scoring reads besides the models: every known customer's point-in-time features at the
cutoff, with the BG/NBD columns the models were trained with."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import KEY_COLUMNS
from features.engine import compute_features, connect_duckdb, event_span, load_tables
from features.snapshots import scoring_cutoff
from models.bgnbd import bgnbd_features, rfm_summary
from models.frames import as_model_input, training_horizon
from pipelines.config import Params
from pipelines.exits import EXIT_NO_DATA, ScoringError
from pipelines.inputs import FEATURES, feature_rules, load_features, planned_targets


def scoring_features(
    params: Params, as_of: pd.Timestamp | None
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Point-in-time features at ``as_of`` (default: the end of the data)."""
    con = connect_duckdb()
    events, customers = load_tables(con, params.paths.validated_dir)
    first, last = event_span(con, events)
    as_of = as_of or scoring_cutoff(last)
    rules = feature_rules(params, list(customers.columns))
    features = compute_features(con, events, customers, as_of, rules)
    if len(features) == 0:
        raise ScoringError(
            EXIT_NO_DATA,
            f"no customers are known before {as_of:%Y-%m-%d}",
            f"events span {first:%Y-%m-%d} to {last:%Y-%m-%d}; pick an --as-of inside it",
        )
    return features, as_of


def _stored_bgnbd(params: Params, features: pd.DataFrame) -> pd.DataFrame | None:
    """The bgnbd stage's rows for this cutoff, if they were fitted on these same features."""
    as_of = features["as_of"].iloc[0]
    if not (params.paths.bgnbd.exists() and (params.paths.features_dir / FEATURES).exists()):
        return None
    before = rfm_summary(load_features(params, as_of))
    now = rfm_summary(features)
    # Parallel sums may differ in the last bits between runs: ids exactly, values closely.
    numbers = ["frequency", "recency", "T", "monetary_value"]
    same_ids = (
        len(before) == len(now)
        and (before["customer_id"].to_numpy() == now["customer_id"].to_numpy()).all()
    )
    if not same_ids or not np.allclose(before[numbers], now[numbers], rtol=1e-9, equal_nan=True):
        return None
    return pd.read_parquet(params.paths.bgnbd, filters=[("as_of", "==", as_of)])


def add_bgnbd(params: Params, features: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma columns at the same cutoff, with the horizons the models used.

    The ``bgnbd`` stage already fitted them at the pipeline's scoring cutoff: reuse those when
    they were fitted on exactly these features, fit afresh otherwise (another --as-of, new data).
    """
    stored = _stored_bgnbd(params, features)
    if stored is not None:
        return features.merge(stored, on=["customer_id", "as_of"], how="left")
    horizons = params.targets.horizons()
    if planned := planned_targets(params):  # models may be trained at shorter horizons than asked
        horizons = {t: training_horizon(e) for t, e in planned.items()}
    extra, _ = bgnbd_features(features, horizons)
    extra = extra.drop(columns="customer_id")
    return pd.concat([features, extra.set_index(features.index)], axis=1)


def model_input(features: pd.DataFrame) -> pd.DataFrame:
    """The keys, then the features typed as the models' signatures expect them."""
    keys = list(KEY_COLUMNS)
    return pd.concat([features[keys], as_model_input(features.drop(columns=keys))], axis=1)
