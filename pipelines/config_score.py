"""The ``score`` section of ``params.yaml`` (stage `score` and `segments score`): the drift guard,
tiers, segment rules, control groups, the uplift columns and the report; the ``campaign``
section, measuring what a campaign on an export added; and ``uplift``, learning from it.
`pipelines.config` reads the whole file; this holds the part that grows with the scoring policy.
Light imports only, like `pipelines.config`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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


class ControlParams(Strict):
    """Control groups held out of every export's activation files (`models.control`)."""

    share: float = Field(gt=0.0, lt=1.0)  # of each segment (fresh) or of everyone (persistent)
    mode: Literal["fresh", "persistent"]
    salt_env: str  # env var of the salt; unset: derived from the id salt
    max_relative_mde: float = Field(gt=0.0)  # power: above this a segment is "too small"
    order_value_cv: float = Field(ge=0.0)  # power: spread of spend given a purchase


class UpliftLearnerParams(Strict):
    """XGBoost settings of every model of the T- and X-learners."""

    n_estimators: int = Field(ge=1)
    max_depth: int = Field(ge=1)
    learning_rate: float = Field(gt=0.0)
    min_child_weight: float = Field(ge=0.0)  # the control group is small
    subsample: float = Field(gt=0.0, le=1.0)


class UpliftParams(Strict):
    """Learning uplift from a measured campaign (``segments uplift``)."""

    holdout_share: float = Field(gt=0.0, lt=1.0)  # of each group, to judge
    n_bootstrap: int = Field(ge=20)  # resamples of the Qini intervals
    ks: tuple[float, ...]  # uplift at the top k share of customers
    learner: UpliftLearnerParams


class UpliftExportRules(Strict):
    """The uplift model an export uses and its tiers (`models.uplift.uplift_tiers`)."""

    model: Path | None = None  # a folder `segments uplift` wrote; None: uplift empty, tier n/a
    high_share: float = Field(ge=0.0, le=1.0)  # top share (if positive): high
    medium_share: float = Field(ge=0.0, le=1.0)  # the next share: medium
    negative_below: float = Field(le=0.0)  # below: negative (do not contact)


class ScoreParams(Strict):
    model_alias: str
    top_k_reasons: int = Field(ge=1, le=10)
    exports_dir: Path
    csv: bool
    id_salt_env: str  # salt for pseudonymised ids in MLflow artifacts
    drift: DriftParams
    tiers: TierRules
    segments: list[SegmentRule]
    control: ControlParams
    uplift: UpliftExportRules  # the uplift model of the export and its tiers
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


class CampaignParams(Strict):
    """Measuring a campaign after an export (stage ``measure``, ``segments measure``)."""

    until: str | None = None  # last day measured by the stage; None: the last event's day
    cost_per_contact: float | None = Field(default=None, ge=0)  # None: no ROI
    confidence: float = Field(gt=0.5, lt=1.0)
    min_days: int = Field(ge=1)  # a shorter window is too early
    min_group_customers: int = Field(ge=2)  # fewer in a group: too small
