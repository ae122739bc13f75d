"""Models are saved as JSON (XGBoost boosters in XGBoost's own JSON) inside a code-based MLflow
pyfunc, and load without unpickling anything: the loaded model predicts and explains exactly as
the fitted one, foreign or pickled model folders are refused, and a whole pipeline run leaves no
pickle in its model folders nor a pickle warning in its log."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.base import clone

from features.targets import TARGETS
from models import artefacts, serving, tracking
from models.explain import contributions
from models.frames import as_model_input
from models.horizon import ServedAtHorizon
from models.selection import make_scorer
from tests.conftest import REPRO_LOG
from tests.test_scorers import HORIZONS, PARAMS, _customers, _labels

SETTINGS = {"n_estimators": 25, "max_depth": 3, "n_jobs": 1}
PICKLE_EXTENSIONS = (".pkl", ".pickle", ".joblib")


def _method(target: str) -> str:
    return "predict_proba" if TARGETS[target].is_classification else "predict"


@pytest.fixture(scope="module")
def fitted() -> dict:
    """Every candidate of every target, fitted on small frames (the BG/NBD prior is given)."""
    train, valid = _customers(1200, 1), _customers(800, 2)
    y_train, y_valid = _labels(train, 3), _labels(valid, 4)
    rng = np.random.default_rng(5)
    for y in (y_train, y_valid):
        n = len(y["churn"])
        y["next_order"] = np.where(rng.random(n) < 0.5, rng.uniform(1, 90, n), np.inf)
    X, X_valid = train.drop(columns="customer_id"), valid.drop(columns="customer_id")
    models = {}
    for target, entry in TARGETS.items():
        for candidate in entry.candidates:
            tuned = candidate in ("boosted_prior", "xgboost")
            model = make_scorer(
                target,
                candidate,
                SETTINGS if tuned else {},
                seed=7,
                prior=PARAMS.to_dict(),
                horizon_days=HORIZONS[target],
            ).fit(X, y_train[target], eval_set=(X_valid, y_valid[target]))
            models[target, candidate] = model
    isotonic = make_scorer("churn", "xgboost", {**SETTINGS, "calibration": "isotonic"}, seed=7)
    models["churn", "isotonic"] = isotonic.fit(
        X, y_train["churn"], eval_set=(X_valid, y_valid["churn"])
    )
    served = ServedAtHorizon(
        model=models["cltv", "boosted_prior"],
        target="cltv",
        bgnbd_params=PARAMS.to_dict(),
        served_days=400,
        trained_days=365,
    )
    models["cltv", "served_at_horizon"] = served.fitted()
    return {"models": models, "X": X, "X_valid": X_valid}


def test_every_candidate_round_trips_through_json_exactly(fitted, tmp_path, no_unpickling):
    X = fitted["X_valid"]
    for (target, candidate), model in fitted["models"].items():
        folder = tmp_path / target / candidate
        folder.mkdir(parents=True)
        artefacts.write(model, folder)
        loaded = artefacts.read(folder)
        assert type(loaded) is type(model) and loaded.get_params(deep=False).keys() == (
            model.get_params(deep=False).keys()
        )
        method = _method(target)
        np.testing.assert_array_equal(
            getattr(loaded, method)(X), getattr(model, method)(X), err_msg=f"{target}/{candidate}"
        )
        values, base = contributions(loaded, X)
        expected, expected_base = contributions(model, X)
        np.testing.assert_array_equal(values.to_numpy(), expected.to_numpy())
        np.testing.assert_array_equal(base, expected_base)
        assert not [p for p in folder.iterdir() if p.suffix != ".json"]


def test_the_mlflow_model_loads_from_json_and_predicts_like_the_fitted_one(
    fitted, tmp_path, no_unpickling
):
    X, X_valid = fitted["X"], fitted["X_valid"]
    for target, candidate in (("churn", "boosted_prior"), ("next_order", "xgboost")):
        model = fitted["models"][target, candidate]
        path = tmp_path / target / "model"
        tracking.save_model(model, X, path, target)
        pyfunc = serving.load(str(path))
        rows = X_valid[list(model.feature_names_in_)]
        expected = getattr(model, _method(target))(rows)
        np.testing.assert_allclose(pyfunc.predict(rows), expected, rtol=1e-9, atol=0)
        values, _ = contributions(serving.estimator(pyfunc), rows)
        np.testing.assert_allclose(values.to_numpy(), contributions(model, rows)[0].to_numpy())
        info = mlflow.models.get_model_info(str(path))
        assert set(info.flavors) == {"python_function"} and info.signature is not None
        assert sorted(p.suffix for p in path.rglob("*") if p.is_file()) == sorted(
            [".json"] * 4 + [".py", ".txt", ".yaml", ".yaml", ""]
        )  # estimator, booster, two input examples; code; requirements; envs; MLmodel


def test_a_declared_hyper_parameter_list_drives_init_get_params_and_clone(fitted):
    for model in fitted["models"].values():
        declared = {f.name for f in fields(model)}
        assert set(model.get_params(deep=False)) == declared
        copy = clone(model)
        assert copy.get_params(deep=False).keys() == declared
        assert not [name for name in vars(copy) if name.endswith("_")]  # unfitted
    with pytest.raises(TypeError):
        make_scorer("churn", "xgboost").__class__(5)  # keyword-only, as in scikit-learn


def test_saving_refuses_state_it_would_lose_and_loading_refuses_foreign_classes(fitted, tmp_path):
    model = clone(fitted["models"]["churn", "rfm"])
    model.cache = {"rows": 1}  # neither a hyper-parameter nor learned (no trailing _)
    with pytest.raises(artefacts.ArtefactError, match="cache"):
        artefacts.encode(model)
    document, _ = artefacts.encode(fitted["models"]["churn", "rfm"])
    document["estimator"]["__estimator__"] = "Popen"
    with pytest.raises(artefacts.ArtefactError, match="Popen"):
        artefacts.decode(document, lambda name: b"")
    folder = tmp_path / "outside"
    folder.mkdir()
    artefacts.write(fitted["models"]["churn", "xgboost"], folder)
    state = json.loads((folder / artefacts.STATE_FILE).read_text())
    state["estimator"]["learned"]["trees_"]["__booster__"] = "../../etc/passwd"
    (folder / artefacts.STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(artefacts.ArtefactError, match="booster_<n>.json"):
        artefacts.read(folder)


def test_a_pickled_or_changed_model_folder_is_refused_before_anything_runs(
    fitted, tmp_path, no_unpickling
):
    model, X = fitted["models"]["churn", "rfm"], fitted["X"]
    pickled = tmp_path / "pickled"
    mlflow.sklearn.save_model(
        model, pickled, serialization_format="cloudpickle", pip_requirements=["scikit-learn"]
    )
    with pytest.raises(AssertionError, match="unpickle"):  # what the refusal spares us
        mlflow.sklearn.load_model(str(pickled))
    with pytest.raises(serving.UnsafeModelError, match="pickle"):
        serving.load(str(pickled))
    changed = tmp_path / "changed"
    tracking.save_model(model, X, changed, "churn")
    code = changed / serving.MODEL_FILE
    code.write_text(code.read_text() + "import os\n")
    with pytest.raises(serving.UnsafeModelError, match="differs"):
        serving.load(str(changed))


def test_scoring_refuses_an_unsafe_champion_with_its_own_exit_code(monkeypatch):
    from pipelines import champions
    from pipelines.exits import EXIT_UNSAFE_MODEL, ScoringError

    def unsafe(uri):
        raise serving.UnsafeModelError(f"the model at {uri} is a pickle")

    monkeypatch.setattr(serving, "load", unsafe)
    with pytest.raises(ScoringError) as refused:
        champions._load("churn", "segments-churn", "champion", "3")
    assert refused.value.code == EXIT_UNSAFE_MODEL and "dvc repro" in refused.value.hint


# --- on a whole pipeline run ---------------------------------------------------------------------


def _pickles(folder: Path) -> list[str]:
    """Files that are pickles, by extension or by the pickle protocol 2-5 header."""
    found = []
    for path in (p for p in folder.rglob("*") if p.is_file()):
        with path.open("rb") as f:
            head = f.read(2)
        if path.suffix in PICKLE_EXTENSIONS or (
            head[:1] == b"\x80" and head[1:2] in b"\x02\x03\x04\x05"
        ):
            found.append(str(path.relative_to(folder)))
    return found


@pytest.mark.slow
def test_the_pipeline_writes_no_pickle_and_logs_no_pickle_warning(pipeline):
    for folder in ("mlartifacts", "data/models"):
        assert (pipeline / folder).is_dir()
        assert _pickles(pipeline / folder) == [], folder
    log = (pipeline / REPRO_LOG).read_text()
    assert "Running stage 'train@churn'" in log
    assert [line for line in log.splitlines() if "pickle" in line.lower()] == []


@pytest.mark.slow
def test_every_registered_model_loads_without_unpickling(pipeline, no_unpickling):
    features = pd.read_parquet(pipeline / "data" / "features" / "features.parquet")
    bgnbd = pd.read_parquet(pipeline / "data" / "bgnbd" / "bgnbd.parquet")
    rows = features.merge(bgnbd, on=["customer_id", "as_of"]).head(200)
    rows = as_model_input(rows.drop(columns=["customer_id", "as_of"]))  # as scoring types them
    client, loaded = MlflowClient(), 0
    for target, entry in TARGETS.items():
        for version in client.search_model_versions(f"name = '{entry.registered_model}'"):
            pyfunc = serving.load(f"models:/{entry.registered_model}/{version.version}")
            model = serving.estimator(pyfunc)
            X = rows[list(model.feature_names_in_)]
            np.testing.assert_array_equal(pyfunc.predict(X), getattr(model, _method(target))(X))
            values, base = contributions(model, X)
            assert values.notna().all().all() and np.isfinite(base).all()
            loaded += 1
    assert loaded >= sum(len(entry.candidates) for entry in TARGETS.values())
