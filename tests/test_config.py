"""Reading params: light to import, and params.yaml the one place for every value."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from pydantic import ValidationError

from pipelines.config import Params, load_params
from tests.conftest import REPO

HEAVY = ("xgboost", "optuna", "mlflow", "shap", "sklearn")


def test_reading_params_loads_no_modelling_library():
    code = (
        "import sys, pipelines.config\n"
        "pipelines.config.load_params('params.yaml')\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing pipelines.config loaded {result.stdout}"


@pytest.mark.parametrize(
    "key", ["seed", "paths.features_dir", "features.seasonal_window_days", "train.search"]
)
def test_a_key_missing_from_params_yaml_is_an_error_not_a_hidden_default(key):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    *parents, name = key.split(".")
    section = params
    for parent in parents:
        section = section[parent]
    del section[name]
    with pytest.raises(ValidationError, match=rf"{key}\n\s+Field required"):
        Params.model_validate(params)


def test_params_yaml_is_valid():
    assert load_params(REPO / "params.yaml").features.seasonal_window_days == 90
