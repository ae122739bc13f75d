"""The one place where ``params.yaml`` is read and validated into typed objects.

``params.yaml`` holds every value: the schema sets no defaults of its own, except "none" for the
keys that may be left out (``null``, empty maps, a source format of ``auto``). It imports only
light modules, so reading params never loads XGBoost, Optuna, MLflow, SHAP or scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, model_validator

from features.targets import TargetsParams
from models.search_space import SearchSpace
from pipelines.config_ingest import IngestParams, PrivacyParams
from pipelines.config_score import CampaignParams, ScoreParams, Strict, UpliftParams
from synthetic.shop import ShopSpec


class PathParams(Strict):
    raw_dir: Path
    validated_dir: Path
    ingest_report: Path
    features_dir: Path
    features_report: Path
    bgnbd: Path
    bgnbd_params: Path
    models_dir: Path
    optuna_dir: Path
    reports_dir: Path
    id_salt: Path  # made once by the score stage (owner-only); the environment's salt wins


class ExplicitSnapshots(Strict):
    """Cutoffs set by hand instead of derived from the data (all three together)."""

    training: list[str]
    holdout: str
    scoring: str


class FeatureParams(Strict):
    backend: Literal["duckdb", "spark"]
    step_days: int = Field(ge=1)
    min_history_days: int = Field(ge=0)
    min_training_snapshots: int = Field(ge=1)
    order_windows_days: tuple[int, ...]
    seasonal_window_days: int = Field(ge=0)  # > 0: the same window a year earlier
    activity_windows_days: tuple[int, ...]
    include_sensitive: bool
    snapshots: ExplicitSnapshots | None = None


class MlflowParams(Strict):
    tracking_uri: str  # MLFLOW_TRACKING_URI overrides
    artifact_root: Path


class TrainParams(Strict):
    max_training_snapshots: int = Field(ge=1)
    cv_folds: int = Field(ge=1)  # purged rolling-origin validation folds (where data allows)
    fold_spacing_days: int = Field(ge=1)  # validation cutoffs about a season apart
    n_trials: int = Field(ge=1)
    timeout_s: float | None  # null: no time limit
    calibration: Literal["platt", "isotonic"]
    monotone: bool  # monotone constraints on recency and frequency (models.selection)
    search: SearchSpace


class GateParams(Strict):
    """Choice of the champion: a more complex candidate replaces the current one only when the
    lower bound of its paired difference over it exceeds ``min_difference``."""

    min_difference: float


class FairnessGateParams(Strict):
    """The promotion gate's fairness limits (`models.fairness.refusals`); None: report only.

    A candidate is refused when, for some audited attribute, the whole interval of its disparity
    ratio lies below ``1 / max_disparity`` (1.25: the four-fifths rule), or the whole interval of
    its equal-opportunity difference lies above ``max_opportunity_difference``."""

    max_disparity: float | None = Field(ge=1.0)
    max_opportunity_difference: float | None = Field(gt=0.0, le=1.0)


class EvaluateParams(Strict):
    n_bootstrap: int = Field(ge=20)
    confidence: float = Field(gt=0.5, lt=1.0)
    gate: GateParams
    fairness: FairnessGateParams


class FairnessParams(Strict):
    """The fairness audit at evaluation and at scoring (`models.fairness`)."""

    attributes: tuple[str, ...]  # customers-table columns; absent ones are reported as absent
    n_bootstrap: int = Field(ge=20)
    confidence: float = Field(gt=0.5, lt=1.0)
    min_group_size: int = Field(ge=1)  # smaller groups are shown but never compared


class Params(Strict):
    seed: int
    paths: PathParams
    synthetic: ShopSpec
    ingest: IngestParams
    features: FeatureParams
    targets: TargetsParams
    mlflow: MlflowParams
    train: TrainParams
    evaluate: EvaluateParams
    score: ScoreParams
    campaign: CampaignParams
    uplift: UpliftParams
    privacy: PrivacyParams
    fairness: FairnessParams

    @model_validator(mode="after")
    def _drift_window_is_a_feature_window(self) -> Params:
        window, features = self.score.drift.window_days, self.features
        if (
            window not in features.order_windows_days
            or window not in features.activity_windows_days
        ):
            raise ValueError(
                f"score.drift.window_days ({window}) must be one of features.order_windows_days "
                f"{list(features.order_windows_days)} and of features.activity_windows_days "
                f"{list(features.activity_windows_days)}: the drift guard's data checks read them"
            )
        return self


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate the parameters file; errors name the offending key."""
    text = Path(path).read_text()
    return Params.model_validate(yaml.safe_load(text) or {})
