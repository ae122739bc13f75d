"""The one place where ``params.yaml`` is read and validated into typed objects."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.contract import EVENT_COLUMNS, EVENT_TYPES
from models.segmentation import SegmentRule, TierRules
from models.tuning import SearchSpace
from synthetic.shop import ShopSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathParams(_Strict):
    raw_dir: Path = Path("data/raw/synthetic")
    validated_dir: Path = Path("data/validated")
    ingest_report: Path = Path("reports/ingest.json")
    features_dir: Path = Path("data/features")
    features_report: Path = Path("reports/features.json")
    bgnbd: Path = Path("data/bgnbd/bgnbd.parquet")
    bgnbd_params: Path = Path("data/bgnbd/params.json")
    models_dir: Path = Path("data/models")
    optuna_dir: Path = Path("data/optuna")
    reports_dir: Path = Path("reports")


class SourceParams(_Strict):
    """Where raw events come from and how their columns map onto the event contract."""

    kind: Literal["events", "online_retail_ii"] = "events"
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
    min_purchasing_customers: int = Field(500, ge=1)
    min_history_days: int = Field(365, ge=1)


class IngestParams(_Strict):
    source: SourceParams
    reference_time: str | None = None
    max_reject_fraction: float = Field(0.05, ge=0.0, le=1.0)
    anonymous: Literal["keep", "reject"] = "keep"  # rows without a customer id: own table or reject
    sufficiency: SufficiencyParams = SufficiencyParams()


class ExplicitSnapshots(_Strict):
    """Cutoffs set by hand instead of derived from the data (all three together)."""

    training: list[str]
    holdout: str
    scoring: str


class FeatureParams(_Strict):
    backend: Literal["duckdb", "spark"] = "duckdb"
    step_days: int = Field(30, ge=1)
    min_history_days: int = Field(90, ge=0)
    min_training_snapshots: int = Field(3, ge=1)
    order_windows_days: tuple[int, ...] = (7, 30, 90, 365)
    seasonal_window_days: int = Field(0, ge=0)  # > 0: the same window a year earlier
    activity_windows_days: tuple[int, ...] = (30, 90)
    include_sensitive: bool = False
    snapshots: ExplicitSnapshots | None = None


class TargetParams(_Strict):
    horizon_days: int = Field(ge=1)
    lookback_days: int | None = None  # churn only: who counts as a customer who can churn


class TargetsParams(_Strict):
    churn: TargetParams = TargetParams(horizon_days=90, lookback_days=365)
    propensity: TargetParams = TargetParams(horizon_days=30)
    cltv: TargetParams = TargetParams(horizon_days=365)

    def horizons(self) -> dict[str, int]:
        return {name: target.horizon_days for name, target in self}


class MlflowParams(_Strict):
    tracking_uri: str = "sqlite:///mlflow.db"  # MLFLOW_TRACKING_URI overrides
    artifact_root: Path = Path("mlartifacts")


class TrainParams(_Strict):
    max_training_snapshots: int = Field(6, ge=1)
    cv_folds: int = Field(3, ge=1)  # purged rolling-origin validation folds (where data allows)
    fold_spacing_days: int = Field(91, ge=1)  # validation cutoffs about a season apart
    n_trials: int = Field(12, ge=1)
    timeout_s: float | None = 180
    calibration: Literal["platt", "isotonic"] = "platt"
    monotone: bool = False  # monotone constraints on recency and frequency (models.selection)
    search: SearchSpace = SearchSpace()


class GateParams(_Strict):
    """Choice of the champion: a more complex candidate replaces the current one only when the
    lower bound of its paired difference over it exceeds ``min_difference``."""

    min_difference: float = 0.0


class EvaluateParams(_Strict):
    n_bootstrap: int = Field(300, ge=20)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    gate: GateParams = GateParams()


class DriftParams(_Strict):
    warn_psi: float = 0.1
    refuse_psi: float = 0.25


class ScoreParams(_Strict):
    model_alias: str = "champion"
    top_k_reasons: int = Field(3, ge=1, le=10)
    exports_dir: Path = Path("exports")
    csv: bool = False
    id_salt_env: str = "SEGMENTS_ID_SALT"  # salt for pseudonymised ids in MLflow artifacts
    drift: DriftParams = DriftParams()
    tiers: TierRules = TierRules()
    segments: list[SegmentRule]

    @field_validator("segments")
    @classmethod
    def _catch_all_last(cls, rules: list[SegmentRule]) -> list[SegmentRule]:
        if not rules or rules[-1].when:
            raise ValueError("score.segments: the last rule must have no conditions (catch-all)")
        names = [rule.name for rule in rules]
        if len(set(names)) != len(names):
            raise ValueError(f"score.segments: names must be unique, got {names}")
        return rules


class Params(_Strict):
    seed: int = 42
    paths: PathParams = PathParams()
    synthetic: ShopSpec = ShopSpec()
    ingest: IngestParams
    features: FeatureParams = FeatureParams()
    targets: TargetsParams = TargetsParams()
    mlflow: MlflowParams = MlflowParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    score: ScoreParams | None = None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate the parameters file; errors name the offending key."""
    text = Path(path).read_text()
    return Params.model_validate(yaml.safe_load(text) or {})
