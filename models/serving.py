"""Registered models as MLflow pyfunc models that load without unpickling anything.

A model is logged "from code" (MLflow 3): the MLflow model folder holds `MODEL_CODE`, three lines
that hand MLflow an `EstimatorModel`, and the fitted estimator as JSON artefacts
(`models.artefacts`: hyper-parameters, learned attributes and XGBoost boosters in XGBoost's own
JSON format). Loading runs this package's code on that JSON; no pickle is written or read.

`load` checks a model folder before MLflow runs anything from it: it must be one this module
saved (format in the MLmodel metadata, the pyfunc flavour only, code-based) and its code file
must be exactly `MODEL_CODE`, so a model in a shared registry cannot bring code of its own (a
pickle from an older version, or a changed code file, is refused with `UnsafeModelError`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import Model
from mlflow.pyfunc import PyFuncModel, PythonModel

from models import artefacts

FORMAT = "segments-pyfunc-json/1"  # MLmodel metadata "format" of the models saved here
MODEL_FILE = "segments_model.py"  # the code MLflow runs to load a model
MODEL_CODE = '''"""A predictive-segments model: its estimator is JSON under artifacts/."""

from mlflow.models import set_model

from models.serving import EstimatorModel

set_model(EstimatorModel())
'''
ARTEFACT = "estimator"  # the pyfunc artifact: the folder `models.artefacts.write` fills
METHODS = ("predict", "predict_proba")  # what the pyfunc's predict may call on the estimator
# Pinned in the model's requirements.txt (the project itself is installed from its repository).
REQUIREMENTS = ("mlflow", "numpy", "pandas", "scipy", "scikit-learn", "xgboost")


class UnsafeModelError(ValueError):
    """A model folder this version does not load: not saved by `models.serving`, or changed."""


class EstimatorModel(PythonModel):
    """The pyfunc of a fitted estimator read from JSON; ``predict`` calls the estimator's
    ``predict`` or ``predict_proba`` (the MLflow model's ``model_config["method"]``)."""

    def load_context(self, context) -> None:
        method = context.model_config.get("method")
        if method not in METHODS:
            raise UnsafeModelError(f"model_config method {method!r} is not one of {METHODS}")
        self.method = method
        self.estimator = artefacts.read(Path(context.artifacts[ARTEFACT]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        return getattr(self.estimator, self.method)(model_input)


@contextmanager
def model_files(model, method: str) -> Iterator[dict]:
    """The arguments of ``mlflow.pyfunc.save_model`` / ``log_model`` for ``model``, whose pyfunc
    calls ``method``: the code file and the JSON artefacts, in a temporary folder."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    with tempfile.TemporaryDirectory() as tmp:
        code, folder = Path(tmp) / MODEL_FILE, Path(tmp) / ARTEFACT
        code.write_text(MODEL_CODE)
        folder.mkdir()
        artefacts.write(model, folder)
        yield {
            "python_model": str(code),
            "artifacts": {ARTEFACT: str(folder)},
            "model_config": {"method": method},
            "metadata": {"format": FORMAT},
            "pip_requirements": [f"{name}=={version(name)}" for name in REQUIREMENTS],
        }


def check(folder: Path) -> None:
    """Refuse (`UnsafeModelError`) a model folder `load` must not run: see the module docstring."""
    meta = Model.load(str(folder))
    where = f"the model at {folder}"
    if (meta.metadata or {}).get("format") != FORMAT:
        raise UnsafeModelError(
            f"{where} is not a {FORMAT} model (flavours: {sorted(meta.flavors)}); it may be a "
            "pickle saved by an older version"
        )
    pyfunc = meta.flavors.get("python_function", {})
    code = pyfunc.get("model_code_path")
    if set(meta.flavors) != {"python_function"} or code is None or Path(code).name != MODEL_FILE:
        raise UnsafeModelError(f"{where} is not a code-based pyfunc model running {MODEL_FILE}")
    stored = Path(folder) / MODEL_FILE
    if not stored.is_file() or stored.read_text() != MODEL_CODE:
        raise UnsafeModelError(f"{where}: {MODEL_FILE} differs from the code this version runs")


def load(uri: str) -> PyFuncModel:
    """The pyfunc of a model `model_files` saved (a local folder or any MLflow model URI, e.g.
    ``models:/name@alias``), checked by `check` before MLflow runs it."""
    local = Path(uri)
    if not local.is_dir():
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    check(local)
    return mlflow.pyfunc.load_model(str(local))


def estimator(pyfunc: PyFuncModel):
    """The fitted estimator inside a pyfunc `load` returned (what scoring and SHAP use)."""
    return pyfunc.unwrap_python_model().estimator


def load_estimator(uri: str):
    """The fitted estimator of the model at ``uri`` (see `load`)."""
    return estimator(load(uri))
