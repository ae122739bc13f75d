"""The one place where ``params.yaml`` is read and validated into typed objects.

``params.yaml`` holds every value: the schema sets no defaults of its own, except "none" for the
keys that may be left out (``null``, empty maps, a source format of ``auto``). It imports only
light modules, so reading params never loads XGBoost, Optuna, MLflow, SHAP or scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.contract import EVENT_COLUMNS, EVENT_TYPES
from features.targets import TargetsParams
from models.search_space import SearchSpace
from models.segmentation import SegmentRule, TierRules
from models.uplift_rules import UpliftExportRules, UpliftParams
from synthetic.shop import ShopSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathParams(_Strict):
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


class SourceParams(_Strict):
    """Where raw events come from and how their columns map onto the event contract."""

    kind: Literal["events", "online_retail_ii"]
    path: Path
    customers_path: Path | None = None
    format: Literal["auto", "csv", "parquet"] = "auto"
    timezone: str | None = None  # zone of naive timestamps; None: UTC, or the built-in mapping's
    column_map: dict[str, str] = Field(default_factory=dict)
    event_type_map: dict[str, str] = Field(default_factory=dict)
    default_event_type: str | None = None
    customers_column_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("column_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(EVENT_COLUMNS))
        if unknown:
            raise ValueError(
                f"column_map keys must be contract columns {list(EVENT_COLUMNS)}; got {unknown}"
            )
        return value

    @field_validator("event_type_map")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if v not in EVENT_TYPES})
        if bad:
            raise ValueError(f"event_type_map values must be one of {list(EVENT_TYPES)}; got {bad}")
        return value


class SufficiencyParams(_Strict):
    min_purchasing_customers: int = Field(ge=1)
    min_history_days: int = Field(ge=1)


class IngestParams(_Strict):
    source: SourceParams
    reference_time: str | None = None
    max_reject_fraction: float = Field(ge=0.0, le=1.0)
    anonymous: Literal["keep", "reject"]  # rows without a customer id: own table or reject
    sufficiency: SufficiencyParams


class ExplicitSnapshots(_Strict):
    """Cutoffs set by hand instead of derived from the data (all three together)."""

    training: list[str]
    holdout: str
    scoring: str


class FeatureParams(_Strict):
    backend: Literal["duckdb", "spark"]
    step_days: int = Field(ge=1)
    min_history_days: int = Field(ge=0)
    min_training_snapshots: int = Field(ge=1)
    order_windows_days: tuple[int, ...]
    seasonal_window_days: int = Field(ge=0)  # > 0: the same window a year earlier
    activity_windows_days: tuple[int, ...]
    include_sensitive: bool
    snapshots: ExplicitSnapshots | None = None


class MlflowParams(_Strict):
    tracking_uri: str  # MLFLOW_TRACKING_URI overrides
    artifact_root: Path


class TrainParams(_Strict):
    max_training_snapshots: int = Field(ge=1)
    cv_folds: int = Field(ge=1)  # purged rolling-origin validation folds (where data allows)
    fold_spacing_days: int = Field(ge=1)  # validation cutoffs about a season apart
    n_trials: int = Field(ge=1)
    timeout_s: float | None  # null: no time limit
    calibration: Literal["platt", "isotonic"]
    monotone: bool  # monotone constraints on recency and frequency (models.selection)
    search: SearchSpace


class GateParams(_Strict):
    """Champion: a more complex candidate wins when its paired gain's low bound > this."""

    min_difference: float


class EvaluateParams(_Strict):
    n_bootstrap: int = Field(ge=20)
    confidence: float = Field(gt=0.5, lt=1.0)
    gate: GateParams


class DriftParams(_Strict):
    warn_psi: float
    refuse_psi: float


class ControlParams(_Strict):
    """Control groups held out of every export's activation files (`models.control`)."""

    share: float = Field(gt=0.0, lt=1.0)  # of each segment (fresh) or of everyone (persistent)
    mode: Literal["fresh", "persistent"]
    salt_env: str  # env var of the salt; unset: derived from the id salt
    max_relative_mde: float = Field(gt=0.0)  # power: above this a segment is "too small"
    order_value_cv: float = Field(ge=0.0)  # power: spread of spend given a purchase


class ScoreParams(_Strict):
    model_alias: str
    top_k_reasons: int = Field(ge=1, le=10)
    exports_dir: Path
    csv: bool
    id_salt_env: str  # salt for pseudonymised ids in MLflow artifacts
    drift: DriftParams
    tiers: TierRules
    segments: list[SegmentRule]
    control: ControlParams
    uplift: UpliftExportRules

    @field_validator("segments")
    @classmethod
    def _catch_all_last(cls, rules: list[SegmentRule]) -> list[SegmentRule]:
        if not rules or rules[-1].when:
            raise ValueError("score.segments: the last rule must have no conditions (catch-all)")
        if len({rule.name for rule in rules}) != len(rules):
            raise ValueError(f"score.segments: names must be unique, got {[r.name for r in rules]}")
        return rules


class CampaignParams(_Strict):
    """Measuring a campaign after an export (stage ``measure``, ``segments measure``)."""

    until: str | None = None  # last day measured by the stage; None: the last event's day
    cost_per_contact: float | None = Field(default=None, ge=0)  # None: no ROI
    confidence: float = Field(gt=0.5, lt=1.0)
    min_days: int = Field(ge=1)  # a shorter window is too early
    min_group_customers: int = Field(ge=2)  # fewer in a group: too small


class Params(_Strict):
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


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate the parameters file; errors name the offending key."""
    text = Path(path).read_text()
    return Params.model_validate(yaml.safe_load(text) or {})
