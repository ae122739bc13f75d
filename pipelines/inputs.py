"""What the stages read: parameters turned into domain rules, and the outputs of earlier stages.

The one place that knows the file names inside ``paths.features_dir`` and how the bgnbd, train,
evaluate and ingest outputs are laid out, so a stage asks for "the modelling data" or "the prior
at this cutoff", not for a path. Readers only: nothing here writes. It imports no model code, so a
stage reading its inputs from here depends on nothing it does not run.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq

from features.catalogue import KEY_COLUMNS
from features.definitions import FeatureRules
from pipelines.config import Params
from pipelines.files import fingerprint

# The features stage's outputs in paths.features_dir.
FEATURES, LABELS, PLAN, CATALOGUE = (
    "features.parquet",
    "labels.parquet",
    "snapshots.json",
    "catalogue.json",
)
CUSTOMERS = "customers.parquet"  # in paths.validated_dir


def feature_rules(params: Params, customer_columns: list[str]) -> FeatureRules:
    """The feature definitions' settings; sensitive attributes only when opted in and present."""
    attributes = ["country", "acquisition_channel"]
    if params.features.include_sensitive:
        attributes += [c for c in ("age_band", "gender") if c in customer_columns]
    return FeatureRules(
        order_windows_days=params.features.order_windows_days,
        seasonal_window_days=params.features.seasonal_window_days,
        activity_windows_days=params.features.activity_windows_days,
        churn_lookback_days=params.targets.churn.lookback_days or 365,
        attribute_columns=tuple(attributes),
    )


def sensitive_attributes(params: Params, customer_ids: pd.Series) -> tuple[pd.DataFrame, list]:
    """The audited attributes (``fairness.attributes``) the customers table has, one row per id
    of ``customer_ids`` in its order; and the audited attributes it lacks."""
    path = params.paths.validated_dir / CUSTOMERS
    columns = set(pq.read_schema(path).names)
    present = [a for a in params.fairness.attributes if a in columns]
    absent = [a for a in params.fairness.attributes if a not in columns]
    customers = pd.read_parquet(path, columns=["customer_id", *present]).set_index("customer_id")
    return customers.reindex(customer_ids.to_numpy()).reset_index(drop=True), absent


def load_plan(params: Params) -> dict:
    """The snapshot plan: every target's training, validation and holdout cutoffs and horizons."""
    return json.loads((params.paths.features_dir / PLAN).read_text())


def planned_targets(params: Params) -> dict:
    """The plan's entry per target, or nothing when the features stage has not run here."""
    path = params.paths.features_dir / PLAN
    return json.loads(path.read_text())["targets"] if path.exists() else {}


def load_features(params: Params, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """The feature table of every cutoff, or of ``as_of`` only."""
    filters = None if as_of is None else [("as_of", "==", as_of)]
    return pd.read_parquet(params.paths.features_dir / FEATURES, filters=filters)


def load_modelling_data(params: Params) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Features with the BG/NBD columns joined (only cutoffs that have them), labels, plan."""
    bgnbd = pd.read_parquet(params.paths.bgnbd)
    features = load_features(params).merge(
        bgnbd, on=list(KEY_COLUMNS), how="inner", validate="one_to_one"
    )
    labels = pd.read_parquet(params.paths.features_dir / LABELS)
    return features, labels, load_plan(params)


def data_fingerprint(params: Params) -> str:
    """What the models were trained on: the feature table, the labels and the BG/NBD columns."""
    folder = params.paths.features_dir
    return fingerprint([folder / FEATURES, folder / LABELS, params.paths.bgnbd])


def load_prior(params: Params, holdout) -> dict | None:
    """BG/NBD parameters fitted at the target's holdout cutoff (events before it only)."""
    fitted = json.loads(params.paths.bgnbd_params.read_text())["cutoffs"]
    return fitted.get(pd.Timestamp(holdout).isoformat())


def load_latent(params: Params) -> pd.DataFrame | None:
    """The generator's truth, only when the ingested source is the synthetic shop."""
    source = params.ingest.source.path.resolve()
    raw_dir = params.paths.raw_dir.resolve()
    latent = raw_dir / "latent.parquet"
    if latent.exists() and raw_dir in source.parents:
        return pd.read_parquet(latent)
    return None


def ingest_report(params: Params) -> dict:
    """The ingest stage's report (empty when there is none)."""
    path = params.paths.ingest_report
    return json.loads(path.read_text()) if path.exists() else {}


def training_report(params: Params, target: str) -> dict:
    """The train stage's report of a target: its candidates' runs, models and validation."""
    return json.loads((params.paths.reports_dir / "train" / f"{target}.json").read_text())


def evidence(params: Params, target: str) -> str | None:
    """The evaluate stage's verdict: which scorer serves and why, with intervals."""
    path = params.paths.reports_dir / "evaluate" / f"{target}.json"
    return json.loads(path.read_text())["verdict"]["message"] if path.exists() else None
