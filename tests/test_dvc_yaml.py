"""dvc.yaml against the rest of the repository: each stage lists the project code it imports, so
no change can leave a stale stage cached, and `make clean` removes every stage output and nothing
else that git tracks."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
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


# --- every stage lists the project code it runs -------------------------------------------------

PACKAGES = ("features", "models", "pipelines", "reporting", "synthetic")


def module_file(name: str) -> Path | None:
    """The project source file of a dotted module name (None: not a project module)."""
    path = REPO.joinpath(*name.split("."))
    if name.split(".")[0] not in PACKAGES or path.is_dir():
        return None  # package __init__ files hold only a docstring (checked below)
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def imported_names(source: Path) -> set[str]:
    """Every module an ``import`` or ``from ... import`` anywhere in the file may load."""
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):  # `from models import plots` loads models.plots
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def project_files_reached(module: str) -> set[str]:
    """The project .py files that running ``python -m module`` imports, transitively."""
    todo, seen = [module_file(module)], set()
    while todo:
        source = todo.pop()
        if source is None or source in seen:
            continue
        seen.add(source)
        todo.extend(module_file(name) for name in imported_names(source))
    return {source.relative_to(REPO).as_posix() for source in seen}


def stage_modules() -> list[tuple[str, str, set[str]]]:
    found = []
    for address, (cmd, deps, _) in stages().items():
        (module,) = re.findall(r"python -m (\S+)", cmd)
        found.append((address, module, {dep for dep in deps if dep.endswith(".py")}))
    return found


@pytest.mark.parametrize(("stage", "module", "listed"), stage_modules(), ids=lambda v: str(v))
def test_stage_deps_list_exactly_the_project_code_it_imports(stage, module, listed):
    reached = project_files_reached(module)
    assert sorted(reached - listed) == [], f"{stage}: imported but missing from deps in dvc.yaml"
    assert sorted(listed - reached) == [], f"{stage}: listed in deps but not imported"


def test_package_init_files_hold_no_code():
    for package in PACKAGES:
        tree = ast.parse((REPO / package / "__init__.py").read_text())
        assert [type(node) for node in tree.body] in ([], [ast.Expr]), package
