"""The `segments` command is installed and documents its subcommands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipelines.cli import app


def test_installed_command_shows_help():
    segments = Path(sys.executable).parent / "segments"
    result = subprocess.run([str(segments), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("generate", "ingest", "score", "explain", "version"):
        assert command in result.stdout


def test_ingest_failure_is_one_clear_error_and_exit_code_2(tmp_path):
    from tests.conftest import write_params

    params = write_params(tmp_path, {"path": str(tmp_path / "missing.csv")})
    result = CliRunner().invoke(app, ["ingest", "--params", str(params)])
    assert result.exit_code == 2
    assert "missing.csv: input file or folder does not exist" in result.output


def test_ingest_summarises_and_is_silent_under_quiet(tmp_path):
    import pandas as pd

    from tests.conftest import GOOD_PURCHASE, GOOD_VIEW, write_params

    csv = tmp_path / "events.csv"
    pd.DataFrame([GOOD_PURCHASE, GOOD_VIEW]).to_csv(csv, index=False)
    params = write_params(tmp_path, {"path": str(csv)})
    loud = CliRunner().invoke(app, ["ingest", "--params", str(params)])
    assert loud.exit_code == 0 and "ingest" in loud.output and "2 events" in loud.output
    quiet = CliRunner().invoke(app, ["ingest", "--params", str(params), "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
