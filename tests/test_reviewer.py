"""What a reviewer and a newcomer open: a real MLflow server over the project's store, the
executed notebook, and the segment report written with the export."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import requests
from nbclient import NotebookClient

from features.targets import TARGETS
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(pipeline):
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{pipeline / 'mlflow.db'}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=pipeline,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health", timeout=2).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("mlflow server did not start within 90 s")
    yield base
    server.terminate()
    server.wait(timeout=30)


def _api(base: str, path: str, **params) -> dict:
    response = requests.get(f"{base}/api/2.0/mlflow/{path}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def test_reviewer_reads_champions_metrics_and_artifacts_over_rest(mlflow_server):
    base = mlflow_server
    experiments = _api(base, "experiments/search", max_results=50)["experiments"]
    assert {t.registered_model for t in TARGETS.values()} <= {e["name"] for e in experiments}
    found = 0
    for target, entry in TARGETS.items():
        name = entry.registered_model
        versions = _api(base, "registered-models/get", name=name)["registered_model"]
        aliases = {a["alias"] for a in versions.get("aliases", [])}
        assert "challenger" in aliases
        alias = "champion" if "champion" in aliases else "challenger"
        version = _api(base, "registered-models/alias", name=name, alias=alias)["model_version"]
        run = _api(base, "runs/get", run_id=version["run_id"])["run"]
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        assert any(k.startswith("holdout_") for k in metrics)
        assert "model_minus_best_baseline_ci_low" in metrics
        files = _api(base, "artifacts/list", run_id=version["run_id"])["files"]
        assert "model_card.md" in {f["path"] for f in files}
        card = requests.get(
            f"{base}/get-artifact",
            params={"path": "model_card.md", "run_uuid": version["run_id"]},
            timeout=30,
        )
        assert card.ok and f"# Model card: {target}" in card.text
        found += 1
    assert found == len(TARGETS)


def test_notebook_runs_top_to_bottom_on_the_latest_results(pipeline):
    notebook = nbformat.read(REPO / "notebooks" / "01-explore-segments.ipynb", as_version=4)
    env_before = dict(os.environ)
    os.environ["SEGMENTS_ROOT"] = str(pipeline)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{pipeline / 'mlflow.db'}"
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute(cwd=str(pipeline))
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(str(o.get("text", "")) + str(o.get("data", {})) for o in outputs)
    assert "customers" in text and "segment" in text


def test_segment_report_is_self_contained_html(pipeline):
    report = ((pipeline / "exports" / "latest").resolve() / "report.html").read_text()
    assert report.startswith("<!doctype html>") and "Segment report as of" in report
    assert "data:image/png;base64," in report and "Model quality" in report
    assert "http://" not in report and "https://" not in report  # nothing to fetch
    assert 'alt="cltv: predicted and actual spend by decile"' in report
    assert "Why customers are in each segment" in report and "Suggested action" in report
