"""The house plan, checked: stages are thin entry points that never import each other."""

from __future__ import annotations

from tests.conftest import REPO
from tests.test_dvc_yaml import module_file, project_files_reached, stage_modules

STAGES = sorted({module for _, module, _ in stage_modules()})  # what dvc.yaml runs


def stage_file(module: str) -> str:
    return module_file(module).relative_to(REPO).as_posix()


def test_the_stages_are_the_modules_dvc_yaml_runs():
    names = ("bgnbd", "evaluate", "features", "generate", "ingest", "score", "train")
    assert [f"pipelines.{name}" for name in names] == STAGES


def test_no_stage_imports_another_stage():
    for module in STAGES:
        others = {stage_file(other) for other in STAGES if other != module}
        assert sorted(others & project_files_reached(module)) == [], f"{module} imports a stage"
