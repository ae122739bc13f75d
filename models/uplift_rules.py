"""Settings of uplift learning (``uplift`` in params.yaml) and of the export's uplift columns
(``score.uplift``), validated where params.yaml is read; light, like every module the config
imports (`models.uplift` holds the learners). Like the rest of the config, no defaults but
"none": every value is in params.yaml."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UpliftLearnerParams(_Strict):
    """XGBoost settings of every model of the T- and X-learners."""

    n_estimators: int = Field(ge=1)
    max_depth: int = Field(ge=1)
    learning_rate: float = Field(gt=0.0)
    min_child_weight: float = Field(ge=0.0)  # the control group is small
    subsample: float = Field(gt=0.0, le=1.0)


class UpliftParams(_Strict):
    """Learning uplift from a measured campaign (``segments uplift``)."""

    holdout_share: float = Field(gt=0.0, lt=1.0)  # of each group, to judge
    n_bootstrap: int = Field(ge=20)  # resamples of the Qini intervals
    ks: tuple[float, ...]  # uplift at the top k share of customers
    learner: UpliftLearnerParams


class UpliftExportRules(_Strict):
    """The uplift model an export uses and its tiers (`models.uplift.uplift_tiers`)."""

    model: Path | None = None  # a folder `segments uplift` wrote; None: uplift empty, tier n/a
    high_share: float = Field(ge=0.0, le=1.0)  # top share (if positive): high
    medium_share: float = Field(ge=0.0, le=1.0)  # the next share: medium
    negative_below: float = Field(le=0.0)  # below: negative (do not contact)
