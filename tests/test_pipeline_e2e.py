"""Fresh-clone style end to end: copy the repo, shrink the params, run the real `dvc repro`, then
read what it recorded (DVC outputs, the MLflow store and registry) the way a reviewer would."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import run_in

pytestmark = pytest.mark.slow


def test_every_layer_is_written_and_ingest_reconciles(pipeline):
    report = json.loads((pipeline / "reports" / "ingest.json").read_text())
    assert report["reconciled"] is True
    assert report["rows_read"] == (
        report["accepted"]
        + report["anonymous"]
        + report["quarantined"]
        + report["duplicates_removed"]
    )
    assert report["quarantined"] > 0 and report["duplicates_removed"] > 0
    for path in ("data/validated/events", "data/features/features.parquet", "data/bgnbd"):
        assert (pipeline / path).exists(), path
    for target in ("churn", "propensity", "cltv"):
        assert (pipeline / "data" / "models" / target / "model" / "MLmodel").exists()
        assert json.loads((pipeline / "reports" / "evaluate" / f"{target}.json").read_text())


def test_second_repro_has_nothing_to_do(pipeline):
    result = run_in([str(Path(sys.executable).parent / "dvc"), "status"], pipeline)
    assert "up to date" in result.stdout, result.stdout


def test_mlflow_parent_run_holds_what_a_reviewer_needs(pipeline):
    client = MlflowClient()
    trained = json.loads((pipeline / "reports" / "train" / "churn.json").read_text())
    run = client.get_run(trained["run_id"])
    assert run.data.params["target"] == "churn" and run.data.params["n_trials"] == "3"
    assert {"git_commit", "data_fingerprint", "holdout_cutoff"} <= set(run.data.tags)
    metrics = run.data.metrics
    for name in (
        "holdout_roc_auc",
        "holdout_roc_auc_ci_low",
        "holdout_bgnbd_roc_auc",
        "holdout_recency_roc_auc",
        "holdout_ece",
        "model_minus_best_baseline",
    ):
        assert name in metrics, name
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"plots", "shap", "evaluation", "model_card.md", "feature_list.json"} <= artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/calibration.png", "plots/gains.png"} <= plots
    children = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert len(children) == 3
    assert all(set(c.data.metrics) == {"objective"} for c in children if c.data.metrics)


def test_models_are_registered_with_signature_and_alias(pipeline):
    client = MlflowClient()
    for target in ("churn", "propensity", "cltv"):
        name = f"segments-{target}"
        challenger = client.get_model_version_by_alias(name, "challenger")
        info = mlflow.models.get_model_info(f"models:/{name}/{challenger.version}")
        assert info.signature is not None and info.signature.inputs.input_names()
        report = json.loads((pipeline / "reports" / "evaluate" / f"{target}.json").read_text())
        if report["verdict"]["promote"]:
            champion = client.get_model_version_by_alias(name, "champion")
            assert str(champion.version) == str(challenger.version)


def test_same_seed_gives_the_same_predictions(pipeline):
    features = pd.read_parquet(pipeline / "data" / "features" / "features.parquet")
    model_dir = pipeline / "data" / "models" / "churn" / "model"
    before = mlflow.sklearn.load_model(str(model_dir))
    sample = features.drop(columns=["customer_id", "as_of"]).head(500)
    bgnbd = pd.read_parquet(pipeline / "data" / "bgnbd" / "bgnbd.parquet")
    sample = features.head(500).merge(bgnbd, on=["customer_id", "as_of"], how="left")
    sample = sample[list(before.feature_names_in_)]
    result = run_in(
        [str(Path(sys.executable).parent / "dvc"), "repro", "-f", "train@churn"], pipeline
    )
    assert result.returncode == 0, result.stderr[-3000:]
    after = mlflow.sklearn.load_model(str(model_dir))
    np.testing.assert_array_equal(before.predict_proba(sample), after.predict_proba(sample))


def test_a_degraded_model_is_not_promoted(pipeline):
    from models.evaluation import evaluate_scores
    from pipelines import evaluate
    from pipelines.config import load_params

    params = load_params(pipeline / "params.yaml")
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.4).astype(float)
    scores = {"model": rng.random(len(y)), "recency": y + rng.normal(0, 1, len(y))}
    ev = evaluate_scores("churn", y, scores, 100, 0.95, seed=1)
    verdict = evaluate.gate(ev, None, params)
    assert verdict["promote"] is False and "does not beat it" in verdict["message"]
    client = MlflowClient()
    name = "segments-churn"
    champion_before = _alias(client, name, "champion")
    trained = json.loads((pipeline / "reports" / "train" / "churn.json").read_text())
    registered = evaluate._register("churn", trained, verdict)
    challenger = client.get_model_version_by_alias(name, "challenger")
    assert str(challenger.version) == str(registered["version"])
    assert _alias(client, name, "champion") == champion_before


def _alias(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None
