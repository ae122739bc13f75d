"""The targets, each declared once: every other module reads what it needs from here.

It lives in `features` (the lowest layer) because the label query reads it too; it is plain data
and imports nothing heavy.

A target is what the pipeline predicts for every customer. Its entry says what the label is (the
label query in `features.definitions` builds the column of the same name), which task it is, how
it is judged, which candidates may serve it, how the BG/NBD model forecasts it, and how it is
exported, tiered and explained. Adding a target means an entry here, its horizon in
``params.yaml`` (``targets.<name>``) and its label expression; an unknown target is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Tasks: a probability, an amount, or a time to an event (right-censored at the horizon: the label
# is the days to it within the horizon, +inf when it did not happen; see models.survival).
CLASSIFICATION, VALUE, SURVIVAL = "classification", "value", "survival"
MODEL_PREFIX = "segments-"  # MLflow: experiment and registered model per target ("scoring" too)
LABEL_DTYPE = {CLASSIFICATION: "int8", VALUE: "float64", SURVIVAL: "float64"}
# How the probabilistic model reads a target: P(no order), P(order), expected value, or the
# median days to the next order.
NO_ORDER, ORDER, EXPECTED_VALUE, NEXT_ORDER_DAYS = "no_order", "order", "value", "days"


@dataclass(frozen=True)
class Target:
    name: str
    task: str  # classification | value | survival
    orientation: str  # no_order | order | value | days: what a higher score means, in BG/NBD terms
    headline: str  # the metric the champion and the search are judged by (higher is better)
    label: str  # for the model card; {h} is the horizon, {lookback} the churn lookback
    score_column: str  # export column of the served prediction
    tier_column: str | None  # None: no tier
    tier_rule: str | None  # "threshold" (<name>_high / _medium in TierRules), "value_shares"
    reasons_up_down: tuple[str, str]  # what a positive / negative contribution does
    prior_column: str  # the bgnbd stage's per-cutoff forecast of this target
    prior_info: tuple[str, str, str]  # that column's unit, description and reason phrase
    prior_is_feature: bool  # the column is also a model input (of every target's models)
    candidates: tuple[str, ...]  # simplest first (see models.selection)
    population: str | None = None  # label column that must be true for a row to count
    monotone: dict[str, int] = field(default_factory=dict)  # optional constraints (train.monotone)
    extra_export_columns: tuple[str, ...] = ()  # derived columns exported after the tier
    activation_columns: tuple[str, ...] = ()  # what campaign tools get in the activation files
    baselines: tuple[str, ...] = ("recency", "frequency", "rfm_score", "last_period_spend")
    since_schema: str = "1.0"  # export schema version that added its columns (later: appended)
    report_name: str = ""  # what the segment report calls the prediction ("churn risk")
    population_note: str = ""  # who it is predicted for, when not everyone ({lookback}: days)

    @property
    def registered_model(self) -> str:
        """The MLflow registered model that holds this target's candidates."""
        return f"{MODEL_PREFIX}{self.name}"

    @property
    def export_columns(self) -> tuple[str, ...]:
        tier = (self.tier_column,) if self.tier_column else ()
        return (self.score_column, *tier, *self.extra_export_columns)

    @property
    def reason_prefix(self) -> str:
        return self.name

    @property
    def is_value(self) -> bool:
        return self.task == VALUE

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION

    @property
    def is_survival(self) -> bool:
        return self.task == SURVIVAL


_PROBABILITY_CANDIDATES = ("probabilistic", "rfm", "boosted_prior", "xgboost")

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            name="churn",
            task=CLASSIFICATION,
            orientation=NO_ORDER,
            headline="roc_auc",
            label="no order in the {h} days after the cutoff, among customers with an order in "
            "the {lookback} days before it",
            score_column="churn_probability",
            tier_column="churn_tier",
            tier_rule="threshold",
            reasons_up_down=("raises churn risk", "lowers churn risk"),
            prior_column="bgnbd_p_no_order_churn",
            prior_is_feature=True,
            prior_info=(
                "probability",
                "BG/NBD probability of no order in the churn horizon",
                "{value:.0%} chance of no order in the churn window (BG/NBD)",
            ),
            candidates=_PROBABILITY_CANDIDATES,
            population="churn_eligible",
            report_name="churn risk",
            population_note="churn is predicted only for customers with an order in the last "
            "{lookback} days",
            # Recency only where it is never missing (churn's population has an order), since
            # missing values reach the booster as the lowest number.
            monotone={"days_since_last_order": 1, "orders_total": -1},
            activation_columns=("churn_tier",),
        ),
        Target(
            name="propensity",
            task=CLASSIFICATION,
            orientation=ORDER,
            headline="pr_auc",
            label="at least one order in the {h} days after the cutoff, among all known customers",
            score_column="purchase_probability",
            tier_column="propensity_tier",
            tier_rule="threshold",
            reasons_up_down=("makes a purchase likelier", "makes a purchase less likely"),
            report_name="purchase chance",
            prior_column="bgnbd_p_no_order_propensity",
            prior_is_feature=True,
            prior_info=(
                "probability",
                "BG/NBD probability of no order in the propensity horizon",
                "{value:.0%} chance of no order in the next weeks (BG/NBD)",
            ),
            candidates=_PROBABILITY_CANDIDATES,
            monotone={"orders_total": 1},
            activation_columns=("propensity_tier",),
        ),
        Target(
            name="cltv",
            task=VALUE,
            orientation=EXPECTED_VALUE,
            headline="normalized_gini",
            label="net spend (purchases minus refunds, floored at 0) in the {h} days after the "
            "cutoff",
            score_column="predicted_cltv",
            tier_column="value_tier",
            tier_rule="value_shares",
            reasons_up_down=("raises expected value", "lowers expected value"),
            report_name="predicted spend",
            prior_column="bgnbd_expected_value",
            prior_is_feature=True,
            prior_info=(
                "currency",
                "BG/NBD x Gamma-Gamma expected spend in the value horizon",
                "{value:,.0f} expected spend (BG/NBD)",
            ),
            candidates=("probabilistic", "persistence", "rfm", "boosted_prior", "xgboost"),
            monotone={"orders_total": 1},
            extra_export_columns=("value_level",),
            activation_columns=("value_level",),
        ),
        Target(
            name="next_order",
            task=SURVIVAL,
            orientation=NEXT_ORDER_DAYS,
            headline="concordance",
            label="days from the cutoff to the next order, right-censored at {h} days (no order "
            "within them), among all known customers",
            score_column="next_order_days",
            tier_column=None,
            tier_rule=None,
            reasons_up_down=("pushes the next order later", "brings the next order sooner"),
            report_name="next order",
            prior_column="bgnbd_median_days_next_order",
            prior_is_feature=False,
            prior_info=(
                "days",
                "BG/NBD median days to the next order",
                "next order expected in {value:.0f} days (BG/NBD)",
            ),
            candidates=("probabilistic", "xgboost"),
            monotone={"days_since_last_order": 1, "orders_total": -1},
            extra_export_columns=("expected_next_order_date",),
            activation_columns=("expected_next_order_date",),  # to time a campaign
            since_schema="1.1",
        ),
    )
}


def spec(name: str) -> Target:
    """The registry entry of ``name``; an unknown target is an error, never a default."""
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown target '{name}': the targets are {', '.join(TARGETS)}") from None


def target_names() -> tuple[str, ...]:
    return tuple(TARGETS)


# Export columns that are not a target's: the uplift of a model learned from a past campaign
# (`models.uplift`), appended after `group` in schema 1.2 (empty without such a model).
UPLIFT_COLUMNS, UPLIFT_SINCE_SCHEMA = ("uplift", "uplift_tier"), "1.2"


def schema_version() -> str:
    """The export schema: 1.0 plus one minor version per target, or other column set, added
    since (columns appended)."""
    versions = [t.since_schema for t in TARGETS.values()] + [UPLIFT_SINCE_SCHEMA]
    return max(versions, key=lambda v: tuple(map(int, v.split("."))))


def tier_columns() -> tuple[str, ...]:
    """The tier column of every target that has one, in registry order."""
    return tuple(t.tier_column for t in TARGETS.values() if t.tier_column)


def activation_columns() -> tuple[str, ...]:
    """The activation files' columns: who, which segment, and each target's campaign columns."""
    return ("customer_id", "segment", *(c for t in TARGETS.values() for c in t.activation_columns))


def label_columns() -> tuple[str, ...]:
    """The label table's columns besides the keys: populations, then every target's label."""
    populations = [t.population for t in TARGETS.values() if t.population]
    return (*dict.fromkeys(populations), *TARGETS)


# --- params.yaml's `targets` section: a horizon per registered target ---------------------------


class TargetParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon_days: int = Field(ge=1)
    lookback_days: int | None = None  # churn only: who counts as a customer who can churn


class TargetsParams(BaseModel):
    """One entry per registered target (features.targets), each named and none unknown."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, TargetParams]
    churn: TargetParams  # read by name: its lookback defines who can churn

    @model_validator(mode="after")
    def _registered(self) -> TargetsParams:
        names, known = set(self.horizons()), set(TARGETS)
        if names != known:
            raise ValueError(
                f"targets: unknown {sorted(names - known)} / missing {sorted(known - names)}; "
                f"the registered targets (features/targets.py) are {', '.join(TARGETS)}"
            )
        return self

    def horizons(self) -> dict[str, int]:
        return {name: target.horizon_days for name, target in self}
