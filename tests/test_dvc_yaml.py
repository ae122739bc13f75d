"""dvc.yaml against the rest of the repository: `make clean` removes every stage output and
nothing else that git tracks."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

from dvc.repo import Repo

from tests.conftest import REPO


@cache
def stages() -> dict[str, tuple[str, list[str], list[str]]]:
    """Each stage as DVC resolves it (foreach expanded, params interpolated): cmd, deps, outs."""
    with Repo(str(REPO)) as repo:
        return {
            stage.addressing: (
                stage.cmd,
                [str(dep.def_path) for dep in stage.deps],
                [str(out.def_path) for out in stage.outs],
            )
            for stage in repo.index.stages
        }


def stage_outputs() -> set[Path]:
    return {Path(out) for _, _, outs in stages().values() for out in outs}


def make_clean_removes() -> list[Path]:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "clean"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    (command,) = [line.split() for line in dry_run.stdout.splitlines() if line.startswith("rm ")]
    assert command[:2] == ["rm", "-rf"]
    return [Path(path) for path in command[2:]]


def covered(path: Path, folders) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def test_make_clean_removes_every_stage_output():
    removed = make_clean_removes()
    assert sorted(str(out) for out in stage_outputs() if not covered(out, removed)) == []


def test_make_clean_keeps_what_git_tracks_that_no_stage_writes():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    kept = [Path(name) for name in tracked if not covered(Path(name), stage_outputs())]
    assert Path("reports/bench_real.json") in kept
    assert sorted(str(name) for name in kept if covered(name, make_clean_removes())) == []
