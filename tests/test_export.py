"""Exports for batch jobs: checksummed, atomic (even when the writer is killed), idempotent."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml

from features.targets import schema_version
from pipelines.exits import EXIT_BUSY, ScoringError
from pipelines.export import MANIFEST, previous_export, publish, read_latest
from pipelines.files import sha256_file
from pipelines.locking import EXPORTS_LOCK as LOCK
from pipelines.locking import exclusive_lock, only_writer
from tests.conftest import REPO, kill, leftovers, paused_at_rename, write_params


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


@pytest.mark.parametrize(
    ("umask", "folder_mode", "file_mode"), [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)]
)
def test_an_export_has_the_permissions_of_the_umask(tmp_path, umask, folder_mode, file_mode):
    """Under umask 022 another user can read the export: folders 0755, files 0644."""
    previous = os.umask(umask)
    try:
        with exclusive_lock(tmp_path / "exports" / LOCK):  # as `segments score` holds it
            folder, _ = _publish(tmp_path / "exports")
    finally:
        os.umask(previous)
    assert (tmp_path / "exports" / "latest").resolve() == folder.resolve()
    folders = [tmp_path / "exports", folder, *(p for p in folder.rglob("*") if p.is_dir())]
    files = [tmp_path / "exports" / LOCK, *(p for p in folder.rglob("*") if p.is_file())]
    assert len(folders) == 3 and len(files) == 5  # exports/, <as_of>/, activation/; lock + 4
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in folders} == dict.fromkeys(
        folders, folder_mode
    )
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in files} == dict.fromkeys(files, file_mode)


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


LOCKED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import pandas as pd
    from pipelines.export import publish
    from pipelines.locking import only_writer
    folder, seed = Path(sys.argv[1]), int(sys.argv[2])
    frame = pd.DataFrame({"customer_id": ["c1", "c2"], "x": [seed, seed + 1]})
    with only_writer(folder):  # as `segments score` holds it, from its start
        publish(folder, "2025-01-01", {"segments.parquet": frame}, {}, {"rows": 2})
    """
)


def _writer(folder, seed: int, target: str = "*/2025-01-01"):
    command = [sys.executable, "-c", LOCKED_WRITER, str(folder), str(seed)]
    return paused_at_rename(command, target)


def test_a_second_score_into_the_same_folder_is_refused_while_the_first_finishes(tmp_path):
    first = _writer(tmp_path, seed=1)  # holds the lock, stopped just before its rename
    second = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "score", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )  # a real `segments score`
    first.communicate("\n")
    assert first.returncode == 0
    assert second.returncode == EXIT_BUSY, second.stderr
    assert "another export is being written to" in second.stderr and "hint:" in second.stderr
    frame, manifest = read_latest(tmp_path)  # one complete export, checksums verified
    assert frame["x"].tolist() == [1, 2] and set(manifest["files"]) == {"segments.parquet"}
    assert leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        LOCK,
        "2025-01-01",
        "latest",
    ]
    with exclusive_lock(tmp_path / LOCK):  # the winner's exit freed it
        pass


def test_a_score_killed_at_its_rename_keeps_the_export_and_the_next_one_publishes(tmp_path):
    folder, _ = _publish(tmp_path)
    digests = {p.name: sha256_file(p) for p in folder.rglob("*") if p.is_file()}

    kill(_writer(tmp_path, seed=1))

    assert {p.name: sha256_file(p) for p in folder.rglob("*") if p.is_file()} == digests
    read_latest(tmp_path)  # the pointer and the checksums still agree
    assert len(leftovers(tmp_path)) == 1  # the killed writer's temporary folder
    _, changed = _publish(tmp_path, seed=1)
    assert changed and leftovers(tmp_path) == []


def test_the_dvc_score_stage_is_refused_too_while_the_folder_is_locked(tmp_path):
    from pipelines import score

    path = write_params(tmp_path, {"path": str(tmp_path / "events.csv")})
    params = yaml.safe_load(path.read_text())
    params["score"]["exports_dir"] = str(tmp_path / "exports")
    path.write_text(yaml.safe_dump(params))
    with only_writer(tmp_path / "exports"), pytest.raises(ScoringError) as refused:
        score.main(str(path))
    assert refused.value.code == EXIT_BUSY and "another export" in refused.value.cause
