"""`segments measure` and the `measure` stage on a hand-made export and simulated campaign events:
where results land, the MLflow run, and the refusals (too early, no control group)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from pipelines import measure as stage
from pipelines.cli import app
from pipelines.exits import EXIT_NOT_MEASURABLE, EXIT_TOO_EARLY
from pipelines.export import publish
from pipelines.io import write_events_by_month
from synthetic.campaign import CampaignSpec, example_export, simulate_campaign
from tests.conftest import REPO


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """One MLflow store for the module (making one takes seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def shop(tmp_path, monkeypatch, store):
    """params.yaml under tmp_path, an export of 2026-01-01 with groups, 30 days of events."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["paths"].update(validated_dir=str(tmp_path / "validated"), reports_dir=str(tmp_path))
    params["score"]["exports_dir"] = str(tmp_path / "exports")
    params["mlflow"] = {
        "tracking_uri": store,
        "artifact_root": str(tmp_path / "mlartifacts"),
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    segments = example_export(4000, seed=1).assign(group="target")
    segments.loc[segments.index[::4], "group"] = "control"
    publish(tmp_path / "exports", "2026-01-01", {"segments.parquet": segments}, {}, {})
    _, _, events = simulate_campaign(segments, CampaignSpec(), np.full(4000, 60.0), 3)
    write_events_by_month(events, tmp_path / "validated" / "events")
    return path, segments


def test_measure_writes_beside_the_export_and_logs_a_run(shop):
    params, _ = shop
    result = CliRunner().invoke(app, ["measure", "--export", "2026-01-01", "--params", str(params)])
    assert result.exit_code == 0, result.output
    folder = params.parent / "exports" / "2026-01-01" / "measurement"
    (written,) = folder.glob("*.json")
    measured = json.loads(written.read_text())
    assert written.stem == measured["until"] and measured["until"] >= "2026-01-29"
    assert measured["status"] == "measured" and measured["analysis"] == "intent to treat"
    assert measured["overall"]["metrics"]["purchase_rate"]["ci"][0] < 0.5
    assert "Campaign measurement" in written.with_suffix(".html").read_text()
    assert "purchase rate lift" in result.output
    experiment = MlflowClient().get_experiment_by_name("segments-scoring").experiment_id
    (run,) = MlflowClient().search_runs([experiment], "params.status = 'measured'")
    assert run.data.tags["export_as_of"] == "2026-01-01"
    assert "purchase_rate_lift/all" in run.data.metrics


def test_measure_refuses_too_early_and_an_export_without_groups(shop):
    params, segments = shop
    early = ["measure", "--until", "2026-01-03", "--params", str(params)]
    result = CliRunner().invoke(app, early)
    assert result.exit_code == EXIT_TOO_EARLY and "shorter than campaign.min_days" in result.output
    publish(
        params.parent / "exports",
        "2026-01-01",
        {"segments.parquet": segments.drop(columns="group")},
        {},
        {},
    )
    result = CliRunner().invoke(app, ["measure", "--params", str(params)])
    assert result.exit_code == EXIT_NOT_MEASURABLE and "no control group" in result.output


def test_the_stage_records_too_early_on_data_that_ends_at_the_export(shop):
    params, _ = shop
    config = yaml.safe_load(params.read_text())
    config["campaign"]["until"] = "2025-12-31"
    params.write_text(yaml.safe_dump(config))
    result = stage.main(str(params))
    assert result["status"] == "too early" and "no events" in result["note"]
    written = json.loads((params.parent / "measurement.json").read_text())
    assert written == json.loads(json.dumps(result))
    assert (params.parent / "measurement.html").exists()
    assert pd.Timestamp(written["as_of"]) == pd.Timestamp("2026-01-01")


def test_republishing_an_export_keeps_its_measurements(shop):
    params, segments = shop
    folder = params.parent / "exports" / "2026-01-01"
    (folder / "measurement").mkdir()
    (folder / "measurement" / "2026-01-30.json").write_text("{}")
    changed = segments.assign(segment="Loyal")
    _, written = publish(
        params.parent / "exports", "2026-01-01", {"segments.parquet": changed}, {}, {}
    )
    assert written and (folder / "measurement" / "2026-01-30.json").read_text() == "{}"
    assert (
        "measurement/2026-01-30.json"
        not in json.loads((folder / "manifest.json").read_text())["files"]
    )
