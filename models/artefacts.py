"""Fitted estimators as JSON, so that loading a model never unpickles anything.

An estimator is saved the way the scikit-learn contract describes it: its class (from a fixed
allow-list, never an import path read from the file), its hyper-parameters (``get_params``) and
its learned attributes (the names ending in ``_``). Values are plain JSON; a few tagged objects
carry what JSON has no word for: NumPy arrays (``__ndarray__`` with dtype and shape), tuples,
non-finite floats, BG/NBD parameters, nested estimators (a calibrator, the scorer a
`models.horizon.ServedAtHorizon` wraps) and XGBoost boosters. A booster is stored in XGBoost's
own JSON model format, in a file of its own (``booster_<n>.json``) that XGBoost, or anything that
reads its format, opens without our code; its run-time configuration goes with it.

Saving refuses anything it cannot write exactly (an attribute that is neither a hyper-parameter
nor learned, an object of another type), so a model is either saved whole or not at all; loading
refuses classes outside the allow-list and booster files outside the folder.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import xgboost as xgb
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from models.estimators import CalibratedXGBClassifier, TweedieCLTVRegressor
from models.horizon import ServedAtHorizon
from models.probabilistic import BGNBDParams
from models.scorers import (
    PersistenceScorer,
    PriorBoostedClassifier,
    PriorBoostedRegressor,
    ProbabilisticScorer,
    RFMScorer,
)
from models.survival import AFTRegressor

FORMAT = "segments-estimator-json/1"  # changes when an older reader could misread a new file
STATE_FILE = "estimator.json"
ESTIMATORS: dict[str, type[BaseEstimator]] = {
    cls.__name__: cls
    for cls in (
        CalibratedXGBClassifier,
        TweedieCLTVRegressor,
        AFTRegressor,
        PriorBoostedClassifier,
        PriorBoostedRegressor,
        ProbabilisticScorer,
        RFMScorer,
        PersistenceScorer,
        ServedAtHorizon,
        LogisticRegression,  # calibrators
        IsotonicRegression,
    )
}
_BOOSTER_FILE = re.compile(r"booster_\d+\.json")
_SKLEARN_PRIVATE = {"_sklearn_version"}  # what BaseEstimator adds to its state by itself


class ArtefactError(ValueError):
    """A model that cannot be saved as, or read back from, JSON artefacts."""


def encode(model: BaseEstimator) -> tuple[dict, dict[str, bytes]]:
    """The JSON document of a fitted ``model`` and its boosters' files (name -> XGBoost JSON)."""
    boosters: dict[str, bytes] = {}
    document = {
        "format": FORMAT,
        "versions": {name: version(name) for name in ("scikit-learn", "xgboost")},
        "estimator": _encode(model, boosters),
    }
    return document, boosters


def decode(document: dict, booster: Callable[[str], bytes]) -> BaseEstimator:
    """The estimator of an `encode` document; ``booster(name)`` gives a booster file's bytes."""
    if document.get("format") != FORMAT:
        raise ArtefactError(f"not a {FORMAT} document (format: {document.get('format')!r})")
    return _decode(document["estimator"], booster)


def write(model: BaseEstimator, folder: Path) -> None:
    """`encode` into ``folder`` (which must exist): `STATE_FILE` and one file per booster."""
    document, boosters = encode(model)
    (folder / STATE_FILE).write_text(json.dumps(document, indent=1, allow_nan=False))
    for name, raw in boosters.items():
        (folder / name).write_bytes(raw)


def read(folder: Path) -> BaseEstimator:
    """The estimator `write` saved in ``folder``."""
    folder = Path(folder)

    def booster(name: str) -> bytes:
        if not _BOOSTER_FILE.fullmatch(name):
            raise ArtefactError(f"booster file name {name!r} in {folder} is not booster_<n>.json")
        return (folder / name).read_bytes()

    return decode(json.loads((folder / STATE_FILE).read_text()), booster)


# --- encoding ------------------------------------------------------------------------------------


def _encode(value, boosters: dict[str, bytes]):
    if isinstance(value, BaseEstimator):
        return _encode_estimator(value, boosters)
    if isinstance(value, xgb.Booster):
        name = f"booster_{len(boosters)}.json"
        boosters[name] = bytes(value.save_raw("json"))
        return {"__booster__": name, "config": json.loads(value.save_config())}
    if isinstance(value, BGNBDParams):
        return {"__bgnbd__": _encode(value.to_dict(), boosters)}
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": _encode(value.tolist(), boosters),
            "dtype": value.dtype.str,
            "shape": list(value.shape),
        }
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}  # 'nan', 'inf' or '-inf'
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, boosters) for v in value]}
    if isinstance(value, list):
        return [_encode(v, boosters) for v in value]
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str) or k.startswith("__")]
        if bad:
            raise ArtefactError(f"cannot save a dict with key(s) {bad} as JSON")
        return {k: _encode(v, boosters) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ArtefactError(f"cannot save a {type(value).__name__} as JSON: {value!r:.80}")


def _encode_estimator(model: BaseEstimator, boosters: dict[str, bytes]) -> dict:
    name = type(model).__name__
    if ESTIMATORS.get(name) is not type(model):
        raise ArtefactError(f"{name} is not an estimator models.artefacts can save")
    params = model.get_params(deep=False)
    state = model.__getstate__()  # IsotonicRegression's leaves out what it rebuilds on load
    learned = {k: v for k, v in state.items() if k.endswith("_")}
    other = set(state) - set(params) - set(learned) - _SKLEARN_PRIVATE
    if other:
        raise ArtefactError(
            f"{name} holds {sorted(other)}: neither a hyper-parameter nor a learned attribute "
            "(ending in _), so it would be lost"
        )
    return {
        "__estimator__": name,
        "params": _encode(params, boosters),
        "learned": _encode(learned, boosters),
    }


# --- decoding ------------------------------------------------------------------------------------


def _decode(value, booster: Callable[[str], bytes]):
    if isinstance(value, list):
        return [_decode(v, booster) for v in value]
    if not isinstance(value, dict):
        return value
    if "__estimator__" in value:
        return _decode_estimator(value, booster)
    if "__booster__" in value:
        loaded = xgb.Booster()
        loaded.load_model(bytearray(booster(value["__booster__"])))
        loaded.load_config(json.dumps(value["config"]))
        return loaded
    if "__bgnbd__" in value:
        return BGNBDParams.from_dict(_decode(value["__bgnbd__"], booster))
    if "__ndarray__" in value:
        items = _decode(value["__ndarray__"], booster)
        return np.array(items, dtype=np.dtype(value["dtype"])).reshape(value["shape"])
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(_decode(v, booster) for v in value["__tuple__"])
    return {k: _decode(v, booster) for k, v in value.items()}


def _decode_estimator(value: dict, booster: Callable[[str], bytes]) -> BaseEstimator:
    cls = ESTIMATORS.get(value["__estimator__"])
    if cls is None:
        raise ArtefactError(f"{value['__estimator__']!r} is not an estimator this version reads")
    model = cls(**_decode(value["params"], booster))
    # What unpickling does, without pickle: the learned attributes go into the fresh estimator's
    # state (IsotonicRegression rebuilds its interpolation function there).
    model.__setstate__({**model.__getstate__(), **_decode(value["learned"], booster)})
    return model
