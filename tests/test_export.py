"""Exports for batch jobs: checksummed, atomic (even when the writer is killed), idempotent."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from features.targets import schema_version
from pipelines.export import MANIFEST, previous_export, publish, read_latest
from pipelines.files import sha256_file
from tests.conftest import REPO


def _segments(n: int = 100, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "segment": rng.choice(["Champions", "At risk", "Hibernating"], n),
            "churn_probability": rng.random(n).round(6),
        }
    )


def _publish(folder, as_of="2025-01-01", seed=0):
    tables = {"segments.parquet": _segments(seed=seed), "activation/champions.csv": _segments()[:5]}
    return publish(folder, as_of, tables, {"provenance.json": {"models": "x"}}, {"rows": 100})


def test_manifest_lists_the_sha256_of_every_file(tmp_path):
    folder, changed = _publish(tmp_path)
    assert changed and folder == tmp_path / "2025-01-01"
    manifest = json.loads((folder / MANIFEST).read_text())
    assert set(manifest["files"]) == {
        "segments.parquet",
        "activation/champions.csv",
        "provenance.json",
    }
    for name, digest in manifest["files"].items():
        assert sha256_file(folder / name) == digest
    assert manifest["schema_version"] == schema_version() and manifest["as_of"] == "2025-01-01"
    assert (tmp_path / "latest").resolve() == folder.resolve()
    frame, _ = read_latest(tmp_path)
    pd.testing.assert_frame_equal(frame, _segments())


def test_republishing_the_same_content_changes_nothing(tmp_path):
    folder, _ = _publish(tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in folder.rglob("*")}
    manifest = (folder / MANIFEST).read_text()
    _, changed = _publish(tmp_path)
    assert changed is False
    assert (folder / MANIFEST).read_text() == manifest
    assert {p.name: p.stat().st_mtime_ns for p in folder.rglob("*")} == before
    _, changed = _publish(tmp_path, seed=1)
    assert changed is True
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_an_export_is_readable_by_group_and_others_under_umask_022(tmp_path):
    previous = os.umask(0o022)
    try:
        folder, _ = _publish(tmp_path)
    finally:
        os.umask(previous)
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert folders and files
    assert {stat.S_IMODE(p.stat().st_mode) for p in folders} == {0o755}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}


def test_tampered_file_is_detected(tmp_path):
    folder, _ = _publish(tmp_path)
    (folder / "activation" / "champions.csv").write_text("customer_id\nintruder\n")
    with pytest.raises(ValueError, match="checksum does not match"):
        read_latest(tmp_path)


def test_previous_export_is_the_newest_strictly_earlier_one(tmp_path):
    for as_of in ("2024-11-01", "2024-12-01", "2025-01-01"):
        _publish(tmp_path, as_of)
    assert previous_export(tmp_path, "2025-01-01").name == "2024-12-01"
    assert previous_export(tmp_path, "2024-11-01") is None


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np, pandas as pd
    from pipelines.export import publish
    n = 4_000_000
    big = pd.DataFrame({"customer_id": np.arange(n).astype(str), "x": np.random.rand(n)})
    tables = {f"part{i}.csv": big for i in range(6)}
    print("writing", flush=True)
    publish(__import__("pathlib").Path(sys.argv[1]), "2025-01-01", tables, {}, {"rows": n})
    """
)


def test_a_killed_export_leaves_the_previous_one_untouched(tmp_path):
    folder, _ = _publish(tmp_path)
    digests = {p.name: sha256_file(p) for p in folder.rglob("*") if p.is_file()}
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 120
    while not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]:
        assert time.monotonic() < deadline and writer.poll() is None, "writer never started"
        time.sleep(0.05)
    time.sleep(0.5)  # mid-write
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert {p.name: sha256_file(p) for p in folder.rglob("*") if p.is_file()} == digests
    assert (tmp_path / "latest").resolve() == folder.resolve()
    read_latest(tmp_path)  # still verifies
