"""A saved uplift model: a folder of XGBoost boosters as native JSON and a JSON of settings (no
pickle), written by ``segments uplift`` and read by ``segments score`` (``score.uplift.model``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from models.uplift import (
    UpliftLearner,
    export_uplift,
    learner_from_state,
    learner_state,
)
from pipelines.config import Params
from pipelines.exits import EXIT_NO_UPLIFT_MODEL, ScoringError
from pipelines.files import atomic_dir, fingerprint
from pipelines.io import write_json

MODEL = "model"
SETTINGS = "settings.json"
NO_MODEL = "no uplift model (score.uplift.model is null): uplift is empty and uplift_tier n/a"


def save_uplift(learner: UpliftLearner, about: dict, folder: Path) -> Path:
    """Write ``folder/model/``: each booster as ``<name>.json`` and ``settings.json`` (the
    learner's params and learned scalars under ``learner``, and ``about``)."""
    settings, raw = learner_state(learner)
    with atomic_dir(folder / MODEL) as staging:
        for name, data in raw.items():
            (staging / f"{name}.json").write_bytes(data)
        write_json({"learner": settings, **about}, staging / SETTINGS)
    return folder / MODEL


def load_uplift(folder: Path) -> tuple[UpliftLearner, dict]:
    """The learner saved in ``folder`` (the ``uplift`` folder or its ``model``) and the rest of
    its settings; a missing or unreadable model is a refusal."""
    model = Path(folder) / MODEL if (Path(folder) / MODEL).is_dir() else Path(folder)
    try:
        settings = json.loads((model / SETTINGS).read_text())
        raw = {p.stem: p.read_bytes() for p in sorted(model.glob("*.json")) if p.name != SETTINGS}
        learner = learner_from_state(settings.pop("learner"), raw)
    except (OSError, ValueError, KeyError) as error:
        raise ScoringError(
            EXIT_NO_UPLIFT_MODEL,
            f"score.uplift.model = {folder}: no readable uplift model there ({error})",
            "run `segments uplift --export <as_of>` on a measured campaign, or set it to null",
        ) from error
    return learner, settings | {"sha256": fingerprint([model])}  # every file of the model


def load_for_export(params: Params) -> tuple[UpliftLearner, dict] | None:
    """The uplift model ``score.uplift.model`` names (None: none named); refuses early when it
    names none that can be read, before any scoring work."""
    return None if params.score.uplift.model is None else load_uplift(params.score.uplift.model)


def with_uplift(params: Params, segments: pd.DataFrame, loaded) -> tuple[pd.DataFrame, dict]:
    """The export with its uplift columns, and the manifest's record of where they came from.
    A model whose held-out Qini interval did not clear zero is not used (columns empty)."""
    rules = params.score.uplift
    if loaded is None:
        return export_uplift(segments, None, {}, rules), {"model": None, "note": NO_MODEL}
    learner, settings = loaded
    record = {"model": str(rules.model)} | {
        k: settings.get(k) for k in ("sha256", "as_of", "until", "window_days", "unit", "holdout")
    }
    if not settings.get("beats_random", False):
        note = "its held-out Qini interval does not clear zero: uplift empty, uplift_tier n/a"
        return export_uplift(segments, None, {}, rules), record | {"used": False, "note": note}
    out = export_uplift(segments, learner, settings["categories"], rules, settings["scale"])
    return out, record | {"used": True}
