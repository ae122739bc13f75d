"""`segments uplift` on a hand-made export and a simulated campaign with known, heterogeneous
effects: what it writes (JSON boosters, no pickle), the MLflow run, the refusals, and the next
export's uplift columns (filled with a model that beats random, empty otherwise)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from features.targets import activation_columns
from models.activation import activation_lists
from models.control import assign_groups
from pipelines.cli import app
from pipelines.config import load_params
from pipelines.exits import EXIT_NO_UPLIFT_MODEL, EXIT_NOT_MEASURABLE, EXIT_TOO_EARLY
from pipelines.export import publish
from pipelines.io import write_events_by_month
from pipelines.uplift_model import load_for_export, load_uplift, with_uplift
from synthetic.campaign import (
    HETEROGENEOUS_PURCHASE_EFFECTS,
    CampaignSpec,
    example_export,
    simulate_campaign,
)
from tests.conftest import REPO

N = 40_000


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """params.yaml, an export of 2026-01-01 with fresh control groups, 30 days of a campaign
    with heterogeneous effects after it, and who it reached."""
    root = tmp_path_factory.mktemp("uplift")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["paths"].update(validated_dir=str(root / "validated"), reports_dir=str(root))
    params["score"]["exports_dir"] = str(root / "exports")
    params["mlflow"] = {
        "tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
        "artifact_root": str(root / "mlartifacts"),
    }
    params["uplift"]["n_bootstrap"] = 100
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    segments = example_export(N, seed=5)
    segments["group"] = assign_groups(segments, "salt", "2026-01-01", 0.1, "fresh").to_numpy()
    publish(root / "exports", "2026-01-01", {"segments.parquet": segments}, {}, {})
    spec = CampaignSpec(reach=0.9, purchase_effects=HETEROGENEOUS_PURCHASE_EFFECTS)
    truth, outcomes, events = simulate_campaign(segments, spec, np.full(N, 60.0), 5)
    write_events_by_month(events, root / "validated" / "events")
    outcomes.loc[outcomes["treated"], ["customer_id"]].to_csv(root / "sent.csv", index=False)
    return path, segments, truth


@pytest.fixture(scope="module")
def learned(shop):
    params, _, _ = shop
    args = ["uplift", "--export", "2026-01-01", "--params", str(params)]
    result = CliRunner().invoke(app, [*args, "--contacted", str(params.parent / "sent.csv")])
    assert result.exit_code == 0, result.output
    return result, params.parent / "exports" / "2026-01-01" / "uplift"


@pytest.fixture(autouse=True)
def _no_env_store(monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_uplift_writes_a_json_model_and_a_report_beside_the_export(learned):
    result, folder = learned
    report = json.loads((folder / "report.json").read_text())
    assert report["beats_random"] and report["until"] >= "2026-01-29"
    assert report["contact_rate"] == pytest.approx(0.9, abs=0.02)
    assert report["contacted_control"] == 0
    assert set(report["rankings"]) == {"t_learner", "x_learner", "propensity", "random"}
    assert "Qini" in result.output and "<- kept" in result.output
    names = sorted(p.name for p in (folder / "model").iterdir())
    assert "settings.json" in names and all(n.endswith(".json") for n in names)
    assert (folder / "qini.png").stat().st_size > 0 and (folder / "qini.csv").exists()
    experiment = MlflowClient().get_experiment_by_name("segments-scoring").experiment_id
    (run,) = MlflowClient().search_runs([experiment], "attributes.run_name LIKE 'uplift-%'")
    assert run.data.params["chosen"] == report["chosen"]
    assert run.data.metrics[f"qini_low/{report['chosen']}"] > 0


def test_the_next_export_ranks_the_persuadables_first(shop, learned):
    params, segments, truth = shop
    _, folder = learned
    config = load_params(params)
    config = config.model_copy(
        update={
            "score": config.score.model_copy(
                update={"uplift": config.score.uplift.model_copy(update={"model": folder})}
            )
        }
    )
    out, record = with_uplift(config, segments, load_for_export(config))
    assert record["used"] and record["unit"].endswith("from being contacted")
    assert list(out.columns[-2:]) == ["uplift", "uplift_tier"]
    kinds = truth["kind"].to_numpy()
    assert out.loc[kinds == "persuadable", "uplift"].mean() > out["uplift"].mean()
    high = out["uplift_tier"] == "high"
    assert (kinds[high] == "persuadable").mean() > (kinds == "persuadable").mean()
    negative = (out["uplift_tier"] == "negative").to_numpy()
    dogs = kinds == "sleeping dog"
    assert dogs[negative].mean() > 0.5 > 0.1 > dogs.mean()
    full = out.assign(**{c: "-" for c in activation_columns() if c not in out})
    lists, _ = activation_lists(full)  # with uplift tiers, still no control customer
    control = set(out.loc[out["group"] == "control", "customer_id"])
    assert lists and not any(set(frame["customer_id"]) & control for frame in lists.values())
    assert all(frame.columns[-1] == "uplift_tier" for frame in lists.values())


def test_a_model_that_does_not_beat_random_is_not_used(shop, learned):
    params, segments, _ = shop
    _, folder = learned
    learner, settings = load_uplift(folder)
    out, record = with_uplift(
        load_params(params), segments, (learner, settings | {"beats_random": False})
    )
    assert not record["used"] and "does not clear zero" in record["note"]
    assert out["uplift"].isna().all() and (out["uplift_tier"] == "n/a").all()


def test_uplift_refuses_too_early_a_missing_model_and_a_leaking_list(shop, tmp_path):
    params, _, _ = shop
    early = ["uplift", "--until", "2026-01-03", "--params", str(params)]
    result = CliRunner().invoke(app, early)
    assert result.exit_code == EXIT_TOO_EARLY and "too early" in result.output
    bad = tmp_path / "sent.csv"
    bad.write_text("id\nC1\n")
    result = CliRunner().invoke(app, ["uplift", "--contacted", str(bad), "--params", str(params)])
    assert result.exit_code == EXIT_NOT_MEASURABLE
    config = load_params(params)
    config = config.model_copy(
        update={
            "score": config.score.model_copy(
                update={
                    "uplift": config.score.uplift.model_copy(update={"model": tmp_path / "nowhere"})
                }
            )
        }
    )
    with pytest.raises(Exception) as refused:
        load_for_export(config)
    assert getattr(refused.value, "code", None) == EXIT_NO_UPLIFT_MODEL
