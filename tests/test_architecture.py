"""The house plan, checked: stages are thin entry points that never import each other, and no
module or function grows past the floors of issue 13."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO
from tests.test_dvc_yaml import PACKAGES, module_file, project_files_reached, stage_modules

STAGES = sorted({module for _, module, _ in stage_modules()})  # what dvc.yaml runs


def stage_file(module: str) -> str:
    return module_file(module).relative_to(REPO).as_posix()


def test_the_stages_are_the_modules_dvc_yaml_runs():
    names = ("bgnbd", "evaluate", "features", "generate", "ingest", "measure", "score", "train")
    assert [f"pipelines.{name}" for name in names] == STAGES


def test_no_stage_imports_another_stage():
    for module in STAGES:
        others = {stage_file(other) for other in STAGES if other != module}
        assert sorted(others & project_files_reached(module)) == [], f"{module} imports a stage"


# --- floors ---------------------------------------------------------------------------------------

MAX_PIPELINES_MODULE_LINES = 200
MAX_FUNCTION_LINES = 50
LONG_FUNCTIONS_ALLOWED = {
    "features/catalogue.py:_rfm_entries",  # data literals: one catalogue entry after another
    "features/catalogue.py:_other_entries",
}


def test_no_module_in_pipelines_is_over_200_lines():
    sizes = {
        path.name: len(path.read_text().splitlines())
        for path in sorted((REPO / "pipelines").glob("*.py"))
    }
    assert {n: s for n, s in sizes.items() if s > MAX_PIPELINES_MODULE_LINES} == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_is_over_50_lines(package):
    long = {}
    for path in sorted((REPO / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{path.relative_to(REPO).as_posix()}:{node.name}"
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and name not in LONG_FUNCTIONS_ALLOWED:
                    long[name] = lines
    assert long == {}
