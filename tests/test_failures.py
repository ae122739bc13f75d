"""Failure injection: a stage killed at the worst moment leaves its previous outputs as they were,
and the next run (what `dvc repro` does with a stage it has not recorded) recovers with no manual
step. Writers are stopped just before their rename by the hook of `pipelines.files` and killed
there; exports are covered in tests/test_export.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.dummy import DummyClassifier

from features.definitions import SEASONAL
from features.targets import TARGETS, spec
from models import tracking
from pipelines import features, ingest, registry
from pipelines.champions import RETRAIN
from pipelines.exits import EXIT_NO_MODEL
from pipelines.files import fingerprint
from synthetic.shop import ShopSpec, generate_shop
from tests.conftest import GOOD_PURCHASE, GOOD_VIEW, kill, leftovers, paused_at_rename, write_params


def _stage(module: str, params) -> list[str]:
    return [sys.executable, "-m", f"pipelines.{module}", "--params", str(params)]


def test_ingest_killed_at_its_rename_keeps_the_last_layer_and_the_next_run_recovers(tmp_path):
    later = {**GOOD_PURCHASE, "event_time": "2024-07-15T08:00:00Z", "order_id": "o2"}
    csv = tmp_path / "events.csv"
    pd.DataFrame([GOOD_PURCHASE, GOOD_VIEW]).to_csv(csv, index=False)
    params = write_params(tmp_path, {"path": str(csv)}, max_reject_fraction=0.5)
    ingest.main(str(params))
    outputs = [tmp_path / "validated", tmp_path / "reports" / "ingest.json"]
    before = fingerprint(outputs)
    pd.DataFrame([GOOD_PURCHASE, GOOD_VIEW, later]).to_csv(csv, index=False)  # new data

    kill(paused_at_rename(_stage("ingest", params), "*/validated"))

    assert fingerprint(outputs) == before
    assert len(leftovers(tmp_path)) == 1  # the killed run's temporary folder
    assert ingest.main(str(params))["accepted"] == 3  # the rerun, as `dvc repro` would
    assert fingerprint(outputs) != before and leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A small shop ingested and turned into features: a stage's previous outputs."""
    folder = tmp_path_factory.mktemp("built")
    generate_shop(ShopSpec(n_customers=120, dirty_fraction=0.0), seed=3).events.to_parquet(
        folder / "events.parquet"
    )
    path = write_params(folder, {"path": str(folder / "events.parquet")}, reference_time=None)
    params = yaml.safe_load(path.read_text())
    params["features"]["step_days"] = 60  # fewer cutoffs: a faster stage
    params["paths"] |= {
        "features_dir": str(folder / "features"),
        "features_report": str(folder / "reports" / "features.json"),
    }
    path.write_text(yaml.safe_dump(params))
    ingest.main(str(path))
    features.main(str(path))
    return folder, params


def test_features_killed_at_its_rename_keep_the_last_tables(built, tmp_path):
    folder, params = built
    outputs = [folder / "features", folder / "reports" / "features.json"]
    before = fingerprint(outputs)
    changed = tmp_path / "params.yaml"  # no seasonal window: other tables
    seasonal = {**params["features"], "seasonal_window_days": 0}
    changed.write_text(yaml.safe_dump({**params, "features": seasonal}))

    kill(paused_at_rename(_stage("features", changed), "*/features"))

    assert fingerprint(outputs) == before
    [temporary] = leftovers(folder)
    written = pd.read_parquet(folder / temporary / "features.parquet").columns
    assert SEASONAL[0] not in written  # the killed run had new tables ready
    assert SEASONAL[0] in pd.read_parquet(folder / "features" / "features.parquet").columns


# --- the registry: `evaluate` moves `champion` only once every candidate is registered ------------

REGISTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from types import SimpleNamespace
    import mlflow
    from models import tracking
    from pipelines import files, registry
    uri, run_id, model_uri = sys.argv[1:]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    set_alias = tracking.set_alias
    def set_alias_after_a_pause(name, alias, version):
        files._pause_if_asked(Path("registry") / f"{name}@{alias}")  # the hook, at this step
        set_alias(name, alias, version)
    tracking.set_alias = set_alias_after_a_pause
    trained = {"candidates": {"xgboost": {"model_uri": model_uri, "run_id": run_id}}}
    ev = SimpleNamespace(champion="xgboost", candidates=["xgboost"], promoted=True)
    registry.register_candidates("churn", trained, ev)
    """
)


@pytest.fixture
def store(tmp_path):
    """A tracking store of its own for the test (the session's URIs come back after)."""
    before = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    tracking.experiment_for("churn", tmp_path / "artifacts")
    yield uri
    mlflow.set_tracking_uri(before[0])
    mlflow.set_registry_uri(before[1])


def _logged_model(constant: int) -> dict:
    X, y = pd.DataFrame({"x": np.arange(4.0)}), np.array([0, 1, 0, 1])
    with mlflow.start_run() as run:
        model = DummyClassifier(strategy="constant", constant=constant).fit(X, y)
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    return {"model_uri": info.model_uri, "run_id": run.info.run_id}


def test_evaluate_killed_while_registering_leaves_champion_on_a_complete_version(store):
    name = spec("churn").registered_model
    ev = SimpleNamespace(champion="xgboost", candidates=["xgboost"], promoted=True)
    first = registry.register_candidates("churn", {"candidates": {"xgboost": _logged_model(0)}}, ev)
    second = _logged_model(1)
    command = [sys.executable, "-c", REGISTER, store, second["run_id"], second["model_uri"]]

    kill(paused_at_rename(command, f"registry/{name}@champion"))

    assert tracking.alias_version(name, "xgboost") == "2"  # the killed run got that far
    assert tracking.alias_version(name, tracking.CHAMPION) == first["version"] == "1"
    served = mlflow.sklearn.load_model(f"models:/{name}@{tracking.CHAMPION}")
    assert served.predict(pd.DataFrame({"x": [1.0]})).tolist() == [0]
    rerun = registry.register_candidates("churn", {"candidates": {"xgboost": second}}, ev)
    assert tracking.alias_version(name, tracking.CHAMPION) == rerun["version"] == "3"


# --- the tracking store lost: one command, named by `segments score`, recovers ------------------


def _stages_run(log: str) -> set[str]:
    return set(re.findall(r"Running stage '([^'@]+)", log))


def _emptied_store(repo: Path, store: Path):
    """Run commands in ``repo`` as if its mlflow.db were removed: pointed at a new, empty store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env |= {"MLFLOW_TRACKING_URI": f"sqlite:///{store}"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"

    def run(*args):
        return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=1800)

    return run


@pytest.mark.slow
def test_an_emptied_tracking_store_is_named_with_the_command_that_recovers_it(pipeline, tmp_path):
    run = _emptied_store(pipeline, tmp_path / "emptied.db")  # its outputs stay as they are

    refused = run(sys.executable, "-m", "pipelines.cli", "score", "--allow-drift")

    assert refused.returncode == EXIT_NO_MODEL, refused.stderr
    assert RETRAIN in " ".join(refused.stderr.split())  # the one command, whatever the wrapping
    assert "Stage 'train@churn' didn't change" in run("dvc", "repro", "--dry").stdout
    planned = run("dvc", *RETRAIN.split()[1:], "--dry").stdout  # what it would run, forced
    assert _stages_run(planned) == {"train", "evaluate", "score", "measure"}  # not features, BG/NBD
    assert all(f"Running stage 'train@{target}'" in planned for target in TARGETS)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("SEGMENTS_TEST_FULL_RECOVERY"),
    reason="retrains every target (~3.5 min on 2 busy cores); set SEGMENTS_TEST_FULL_RECOVERY=1",
)
def test_the_named_command_serves_again_from_the_emptied_store(pipeline, tmp_path):
    """The test above, carried out on a copy: each target is served again from the new store."""
    repo = tmp_path / "repo"
    shutil.copytree(pipeline, repo, symlinks=True)
    run = _emptied_store(repo, repo / "emptied.db")

    recovered = run("dvc", *RETRAIN.split()[1:])

    assert recovered.returncode == 0, recovered.stdout[-3000:] + recovered.stderr[-3000:]
    assert _stages_run(recovered.stdout) == {"train", "evaluate", "score", "measure"}
    uri = f"sqlite:///{repo / 'emptied.db'}"
    client = mlflow.MlflowClient(uri, uri)
    manifest = json.loads((repo / "exports" / "latest" / "manifest.json").read_text())
    for target in TARGETS:
        served = client.get_model_version_by_alias(spec(target).registered_model, "champion")
        assert manifest["models"][target]["run_id"] == served.run_id
