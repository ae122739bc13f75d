"""Shared fixtures: small hand-written event frames and paths to the optional real data."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from features.ingest import (
    SOURCE_FILE,
    SOURCE_ROW,
    AmountOutlierRule,
    IngestResult,
    ValueFormat,
    validate_events,
)
from pipelines.files import PAUSE_ENV

REPO = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = (
    REPO.parent / "shared" / "data" / "online_retail_ii_sample" / "online_retail_ii_sample.csv.gz"
)
REFERENCE = pd.Timestamp("2025-01-01", tz="UTC")

GOOD_PURCHASE = {
    "customer_id": "c1",
    "event_time": "2024-03-01T10:00:00Z",
    "event_type": "purchase",
    "order_id": "o1",
    "amount": "19.90",
    "quantity": "2",
    "product_id": "p1",
    "category": "home",
    "channel": "web",
}
GOOD_VIEW = {
    "customer_id": "c1",
    "event_time": "2024-02-28 09:00:00",
    "event_type": "page_view",
}


def raw_frame(rows: list[dict], file: str = "events.csv") -> pd.DataFrame:
    """Rows as a CSV would give them (text, missing as NaN), with provenance columns."""
    columns = list(GOOD_PURCHASE)
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)
    frame[SOURCE_FILE] = file
    frame[SOURCE_ROW] = range(len(frame))
    return frame


def ingest_rows(
    rows: list[dict],
    timezone: str = "UTC",
    anonymous: str = "keep",
    style: ValueFormat = ValueFormat(),
    outliers: AmountOutlierRule | None = AmountOutlierRule(),
) -> IngestResult:
    raw = raw_frame(rows)
    original = raw.drop(columns=[SOURCE_FILE, SOURCE_ROW])
    return validate_events(raw, original, REFERENCE, timezone, anonymous, style, outliers)


@pytest.fixture(scope="session")
def online_retail_path() -> Path:
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"Online Retail II sample not found at {ONLINE_RETAIL} (../shared is absent)")
    return ONLINE_RETAIL


PRIVACY_FILES = ("suppression", "salt", "erasure_log")  # privacy files


def write_params(tmp_path: Path, source: dict, **ingest) -> Path:
    """The repository's params.yaml under tmp_path with another event source (and ingest
    settings); what the ingest stage writes also lands under tmp_path."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["seed"] = 7
    params["paths"].update(
        raw_dir=str(tmp_path / "raw"),
        validated_dir=str(tmp_path / "validated"),
        ingest_report=str(tmp_path / "reports" / "ingest.json"),
    )
    params["privacy"].update(  # the repository's suppression list stays out of these tests
        {
            key: str(tmp_path / "privacy" / Path(params["privacy"][key]).name)
            for key in PRIVACY_FILES
        }
    )
    source = {"kind": "events", **source}
    params["ingest"].update({"source": source, "reference_time": "2025-01-01T00:00:00Z", **ingest})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


# --- failure injection: a writer stopped at its rename, then killed or let go --------------------


def paused_at_rename(command: list[str], target_glob: str, cwd: Path = REPO) -> subprocess.Popen:
    """Start ``command`` with the hook of `pipelines.files` armed and return it once it waits
    before renaming a target matching ``target_glob``: `kill` it there, or let it finish by
    writing a line to its stdin (``communicate("\\n")``)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, PAUSE_ENV: target_glob},
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = []
    for line in process.stderr:
        said.append(line)
        if line.startswith(PAUSE_ENV):
            return process
    process.wait()
    raise AssertionError(f"{command} exited {process.returncode} before pausing: {said[-20:]}")


def kill(process: subprocess.Popen) -> None:
    process.kill()
    process.communicate()
    assert process.returncode == -signal.SIGKILL


def leftovers(folder: Path) -> list[str]:
    """Temporaries of the atomic writers in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


# --- a whole pipeline, run once per session by the real `dvc repro` in a fresh copy --------------

SMALL = {
    ("synthetic", "n_customers"): 2500,
    ("train", "n_trials"): 2,
    ("train", "max_training_snapshots"): 2,
    ("train", "cv_folds"): 2,
    ("train", "timeout_s"): 60,
    ("evaluate", "n_bootstrap"): 40,
}
SMALL_SEARCH = {"max_rounds": 60, "max_depth": [2, 4]}


def _copy_repo(dest: Path) -> None:
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _shrink_params(dest: Path, source: dict | None = None) -> None:
    params = yaml.safe_load((dest / "params.yaml").read_text())
    for (section, key), value in SMALL.items():
        params[section][key] = value
    params["train"]["search"].update(SMALL_SEARCH)
    params["mlflow"]["tracking_uri"] = f"sqlite:///{dest / 'mlflow.db'}"
    if source is not None:
        params["ingest"]["source"].update(source)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


REPRO_LOG = "repro.log"  # what `dvc repro` printed, next to the copy it ran in


def run_in(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)


def fresh_repro(dest: Path, source: dict | None = None) -> Path:
    """Copy the repository to ``dest``, shrink the params (and change the source), `dvc repro`."""
    dest.mkdir(parents=True)
    _copy_repo(dest)
    _shrink_params(dest, source)
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        run_in(command, dest)
    result = run_in([str(Path(sys.executable).parent / "dvc"), "repro"], dest)
    (dest / REPRO_LOG).write_text(result.stdout + result.stderr)  # for tests that read the log
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return dest


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Path:
    dest = fresh_repro(tmp_path_factory.mktemp("fresh") / "repo")
    mlflow.set_tracking_uri(f"sqlite:///{dest / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{dest / 'mlflow.db'}")
    return dest


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any attempt to unpickle (pickle, cloudpickle, joblib) fails the test."""
    import pickle

    import cloudpickle
    import joblib

    def refuse(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    for module, name in (
        (pickle, "load"),
        (pickle, "loads"),
        (cloudpickle, "load"),
        (cloudpickle, "loads"),
        (joblib, "load"),
    ):
        monkeypatch.setattr(module, name, refuse)


@pytest.fixture(autouse=True)
def _pipeline_store(request):
    """Point MLflow at the pipeline's store before each test that reads it: a test run in
    process (`segments measure`, `segments uplift`) points the global URIs at its own store."""
    if "pipeline" in request.fixturenames:
        store = f"sqlite:///{request.getfixturevalue('pipeline') / 'mlflow.db'}"
        mlflow.set_tracking_uri(store)
        mlflow.set_registry_uri(store)
