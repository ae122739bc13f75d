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
import yaml
from mlflow import MlflowClient

from features.targets import MODEL_PREFIX, TARGETS
from models.serving import load_estimator
from pipelines.export import read_latest
from tests.conftest import SMALL, run_in

pytestmark = pytest.mark.slow


def test_every_layer_is_written_and_ingest_reconciles(pipeline):
    report = json.loads((pipeline / "reports" / "ingest.json").read_text())
    assert report["reconciled"] is True
    assert report["rows_read"] == (
        report["accepted"]
        + report["anonymous"]
        + report["quarantined"]
        + report["duplicates_removed"]
        + report["suppressed"]
    )
    assert report["quarantined"] > 0 and report["duplicates_removed"] > 0
    for path in ("data/validated/events", "data/features/features.parquet", "data/bgnbd"):
        assert (pipeline / path).exists(), path
    for target, entry in TARGETS.items():
        for candidate in entry.candidates:
            model = pipeline / "data" / "models" / target / candidate / "model" / "MLmodel"
            assert model.exists(), model
        assert json.loads((pipeline / "reports" / "evaluate" / f"{target}.json").read_text())


def test_second_repro_has_nothing_to_do(pipeline):
    result = run_in([str(Path(sys.executable).parent / "dvc"), "status"], pipeline)
    assert "up to date" in result.stdout, result.stdout


def test_mlflow_parent_run_holds_what_a_reviewer_needs(pipeline):
    client = MlflowClient()
    trained = json.loads((pipeline / "reports" / "train" / "churn.json").read_text())
    run = client.get_run(trained["candidates"]["xgboost"]["run_id"])
    assert run.data.params["target"] == "churn" and run.data.params["n_trials"] == str(
        SMALL["train", "n_trials"]
    )
    assert run.data.params["candidate"] == "xgboost"
    assert {"git_commit", "data_fingerprint", "holdout_cutoff"} <= set(run.data.tags)
    metrics = run.data.metrics
    for name in (
        "holdout_roc_auc",
        "holdout_roc_auc_ci_low",
        "holdout_bgnbd_roc_auc",
        "holdout_recency_roc_auc",
        "holdout_ece",
        "model_minus_best_baseline",
        "validation_to_holdout_gap",
    ):
        assert name in metrics, name
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"plots", "shap", "evaluation", "model_card.md", "feature_list.json"} <= artifacts
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/calibration.png", "plots/gains.png"} <= plots
    children = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert len(children) == SMALL["train", "n_trials"]
    assert all(set(c.data.metrics) == {"objective"} for c in children if c.data.metrics)


def test_every_candidate_is_registered_and_the_champion_is_the_reported_scorer(pipeline):
    client = MlflowClient()
    for target, entry in TARGETS.items():
        name = entry.registered_model
        report = json.loads((pipeline / "reports" / "evaluate" / f"{target}.json").read_text())
        trained = json.loads((pipeline / "reports" / "train" / f"{target}.json").read_text())
        assert set(report["candidates"]) == set(trained["candidates"])
        for candidate in trained["candidates"]:
            version = client.get_model_version_by_alias(name, candidate)
            assert version.tags["scorer"] == candidate
            info = mlflow.models.get_model_info(f"models:/{name}/{version.version}")
            assert info.signature is not None and info.signature.inputs.input_names()
        champion = client.get_model_version_by_alias(name, "champion")
        assert champion.tags["scorer"] == report["champion"] == report["verdict"]["champion"]
        challenger = client.get_model_version_by_alias(name, "challenger")
        assert challenger.tags["scorer"] != report["champion"]
        # The served scorer is at least as good as the best baseline's point estimate, and a
        # more complex candidate serves only with an interval above zero over a simpler one.
        scores, headline = report["scores"], report["headline_metric"]
        served = scores[report["champion"]][headline]["value"]
        assert served >= scores[report["best_baseline"]][headline]["value"] - 0.02
        for step in report["selection"]:
            assert step["replaced"] == (step["difference"]["ci_low"] > 0)


def test_same_seed_gives_the_same_predictions(pipeline):
    features = pd.read_parquet(pipeline / "data" / "features" / "features.parquet")
    model_dir = pipeline / "data" / "models" / "churn" / "xgboost" / "model"
    before = load_estimator(str(model_dir))
    sample = features.drop(columns=["customer_id", "as_of"]).head(500)
    bgnbd = pd.read_parquet(pipeline / "data" / "bgnbd" / "bgnbd.parquet")
    sample = features.head(500).merge(bgnbd, on=["customer_id", "as_of"], how="left")
    sample = sample[list(before.feature_names_in_)]
    result = run_in(
        [str(Path(sys.executable).parent / "dvc"), "repro", "-f", "train@churn"], pipeline
    )
    assert result.returncode == 0, result.stderr[-3000:]
    after = load_estimator(str(model_dir))
    np.testing.assert_array_equal(before.predict_proba(sample), after.predict_proba(sample))


def test_reasons_of_every_served_scorer_add_up(pipeline):
    from models.explain import contributions
    from models.frames import as_model_input, predict_target

    features = pd.read_parquet(pipeline / "data" / "features" / "features.parquet")
    bgnbd = pd.read_parquet(pipeline / "data" / "bgnbd" / "bgnbd.parquet")
    rows = features.merge(bgnbd, on=["customer_id", "as_of"]).head(300)
    rows = as_model_input(rows.drop(columns=["customer_id", "as_of"]))
    rows = rows[rows["orders_total"] > 0]
    for target, entry in TARGETS.items():
        for candidate in entry.candidates:
            path = pipeline / "data" / "models" / target / candidate / "model"
            model = load_estimator(str(path))
            values, base = contributions(model, rows)
            prediction = predict_target(target, model, rows)
            np.testing.assert_allclose(
                values.sum(axis=1) + base,
                model.reason_value(prediction),
                rtol=1e-4,
                atol=1e-3,
                err_msg=f"{target}/{candidate}",
            )


def test_next_order_is_censored_judged_by_concordance_and_exported_with_a_date(pipeline):
    labels = pd.read_parquet(pipeline / "data" / "features" / "labels.parquet")
    waits = labels["next_order"].dropna()
    horizon = json.loads((pipeline / "data" / "features" / "snapshots.json").read_text())
    assert np.isinf(waits).any() and (waits[np.isfinite(waits)] > 0).all()
    assert waits[np.isfinite(waits)].max() <= horizon["targets"]["next_order"]["horizon_days"]
    report = json.loads((pipeline / "reports" / "evaluate" / "next_order.json").read_text())
    served = report["scores"][report["champion"]]
    assert report["headline_metric"] == "concordance" and served["concordance"]["value"] > 0.5
    assert 0 <= served["median_coverage"]["value"] <= 1
    segments, manifest = read_latest(pipeline / "exports")
    assert manifest["schema_version"] == "1.2"
    assert list(segments.columns[-2:]) == ["uplift", "uplift_tier"]  # no uplift model: empty
    assert segments["uplift"].isna().all() and manifest["uplift"]["model"] is None
    days = segments["next_order_days"]
    assert days.notna().all() and (days > 0).all()
    ends = pd.to_datetime(segments["as_of"]) + pd.to_timedelta(days, unit="D")
    assert (ends.dt.strftime("%Y-%m-%d") == segments["expected_next_order_date"]).all()
    assert segments["next_order_reason_1_phrase"].notna().all()


def test_fairness_is_audited_for_every_target_logged_and_exported(pipeline):
    attributes = yaml.safe_load((pipeline / "params.yaml").read_text())["fairness"]["attributes"]
    client = MlflowClient()
    for target, entry in TARGETS.items():
        report = json.loads((pipeline / "reports" / "evaluate" / f"{target}.json").read_text())
        audit = report["fairness"]
        assert audit["attributes"] == attributes and audit["absent"] == []
        assert set(audit["candidates"]) == set(report["candidates"]) and audit["refused"] == {}
        for found in audit["candidates"][audit["served"]].values():
            ratio = found["disparity_ratio"]
            assert ratio["ci_low"] <= ratio["value"] <= ratio["ci_high"] <= 1, target
        version = client.get_model_version_by_alias(entry.registered_model, "champion")
        metrics = client.get_run(version.run_id).data.metrics
        for attribute in attributes:
            assert f"fairness_{attribute}_disparity_ratio_ci_high" in metrics, target
        logged = {a.path for a in client.list_artifacts(version.run_id, "fairness")}
        assert {f"fairness/{attribute}.json" for attribute in attributes} <= logged
    folder = (pipeline / "exports" / "latest").resolve()
    exported = json.loads((folder / "fairness.json").read_text())
    assert list(exported["by_attribute"]) == attributes
    columns = exported["by_attribute"][attributes[0]]["columns"]
    assert {"churn_tier", "value_tier", "segment", "activation_file"} <= set(columns)
    assert "fairness.json" in json.loads((folder / "manifest.json").read_text())["files"]
    report = (folder / "report.html").read_text()
    assert 'id="fairness"' in report and "Served models on the holdout" in report
    scoring = client.get_experiment_by_name(f"{MODEL_PREFIX}scoring")
    run = client.search_runs(  # the newest export's run (measurements log there too)
        [scoring.experiment_id],
        "attributes.run_name LIKE 'score-%'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )[0]
    assert "fairness.json" in {a.path for a in client.list_artifacts(run.info.run_id)}
