"""The ``score`` section of ``params.yaml`` (stage `score` and `segments score`): the drift guard,
tiers, segment rules and the report. `pipelines.config` reads the whole file; this holds the part
that grows with the scoring policy. Light imports only, like `pipelines.config`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.segmentation import SegmentRule, TierRules


class Strict(BaseModel):
    """A params section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftParams(Strict):
    """Limits of the drift guard; `models.drift.DriftRules` says what each one bounds."""

    warn_psi: float = Field(gt=0)
    refuse_psi: float = Field(gt=0)
    refuse_prediction_psi: float = Field(gt=0)
    window_days: int = Field(ge=1)  # must be one of features.order_windows_days (and activity)
    min_volume_ratio: float = Field(gt=0, lt=1)
    max_rate_ratio: float = Field(gt=1)
    new_customer_days: int = Field(ge=1)
    max_new_share_ratio: float = Field(gt=1)
    max_missing_share: float = Field(ge=0, le=1)


class ReportParams(Strict):
    """The segment report: the shop's currency and a suggested action per segment name."""

    currency: str = Field(min_length=1)  # the symbol money is shown with ("£", "€", "US$ ")
    actions: dict[str, str] = Field(default_factory=dict)


class ScoreParams(Strict):
    model_alias: str
    top_k_reasons: int = Field(ge=1, le=10)
    exports_dir: Path
    csv: bool
    id_salt_env: str  # salt for pseudonymised ids in MLflow artifacts
    drift: DriftParams
    tiers: TierRules
    segments: list[SegmentRule]
    report: ReportParams

    @model_validator(mode="after")
    def _actions_name_segments(self) -> ScoreParams:
        unknown = sorted(set(self.report.actions) - {rule.name for rule in self.segments})
        if unknown:
            raise ValueError(
                f"score.report.actions: {unknown} are not segment names (score.segments); "
                "check the spelling or add the segment"
            )
        return self

    @field_validator("segments")
    @classmethod
    def _catch_all_last(cls, rules: list[SegmentRule]) -> list[SegmentRule]:
        if not rules or rules[-1].when:
            raise ValueError("score.segments: the last rule must have no conditions (catch-all)")
        names = [rule.name for rule in rules]
        if len(set(names)) != len(names):
            raise ValueError(f"score.segments: names must be unique, got {names}")
        return rules
