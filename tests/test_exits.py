"""Exit codes live in one module (pipelines.exits): the README documents exactly those numbers,
and no stage or command exits with a number of its own."""

from __future__ import annotations

import ast
import re

from pipelines.exits import MEANINGS
from tests.conftest import REPO


def test_readme_documents_every_exit_code_and_no_other():
    readme = (REPO / "README.md").read_text()
    start = readme.index("Exit codes of `segments score`")
    paragraph = readme[start : readme.index("\n\n", start)]
    assert {int(code) for code in re.findall(r"`(\d+)`", paragraph)} == set(MEANINGS)


def _literal_codes(source: str) -> list[int]:
    """Integer literals given as an exit code: sys.exit(2), typer.Exit(code=2), SystemExit(2)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if name.split(".")[-1] in ("exit", "Exit", "SystemExit", "ScoringError"):
            given = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "code")]
            found += [a.value for a in given if isinstance(a, ast.Constant) and a.value != 0]
    return found


def test_exit_codes_are_named_not_literal():
    assert _literal_codes("import sys\nsys.exit(2)\ntyper.Exit(code=1)") == [2, 1]
    literal = {
        path.relative_to(REPO).as_posix(): codes
        for path in sorted((REPO / "pipelines").glob("*.py"))
        if (codes := _literal_codes(path.read_text()))
    }
    assert literal == {}
