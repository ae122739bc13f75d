"""Fairness audit: do the models and the segments treat groups of customers differently?

Sensitive attributes (age band, gender) are kept out of the features, but a model can still treat
groups differently through proxies. This module measures the outcome per group of each audited
attribute, on plain arrays and frames:

- at evaluation (holdout, labels known), per candidate and group: the base rate and the mean
  prediction, the target's quality metrics (calibration and ranking), the share the target's
  action selects, and the true-positive rate of that selection;
- at scoring (no labels), per group: the share of the group in every tier, segment and
  activation file, and the group's share of each of them.

Two comparisons across the groups large enough to read (``min_group_size`` customers, or positives
for true-positive rates):

- disparity ratio: the lowest group's selection rate over the highest's (1 = parity). The
  four-fifths rule flags a ratio below 0.8;
- equal-opportunity difference: the highest group's true-positive rate minus the lowest's, i.e.
  among the customers the action should reach, how much likelier one group is to be reached.

What "selected" and "should be selected" mean per target (`action_selection`): classification,
the tiers the segments act on (medium and high: score >= ``<target>_medium``) among those with the
label; value, the top tiers (vip and high: the top ``value_shares[0] + value_shares[1]`` by
predicted value) among the true top customers by actual value (actual > 0); time to the next order
(no tier), a predicted median wait within the horizon among those who ordered within it.

Intervals are percentile bootstraps resampling customers within each group (so each keeps its
size). For a rate that bootstrap is exactly binomial (multinomial for a true-positive rate), which
is drawn directly; quality metrics resample rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning

from features.targets import CLASSIFICATION, SURVIVAL, TARGETS, VALUE, spec
from models.activation import activation_file
from models.metrics import ALL_METRICS, bootstrap_indices, metric_with_interval
from models.segmentation import TierRules, target_tier, value_tier

FOUR_FIFTHS = 0.8
MISSING_GROUP = "(missing)"
TOO_SMALL = "too small to read"
# A group is compared only if, at parity, it would hold this many of the selected: a rare tier or
# segment (24 "Loyal" customers spread over five age bands) otherwise shows a group with none of
# them and a ratio of 0 whose resampled interval cannot widen.
MIN_EXPECTED_SELECTED = 5
# The tiers a target's segments act on, by tier rule (models.segmentation).
ACTED_ON = {"threshold": ("high", "medium"), "value_shares": ("vip", "high")}
# Quality per group, by task: calibration first, then ranking.
GROUP_METRICS = {
    CLASSIFICATION: ("ece", "roc_auc", "pr_auc"),
    VALUE: ("aggregate_bias_pct", "normalized_gini"),
    SURVIVAL: ("median_coverage", "concordance"),
}
# What base_rate and mean_prediction mean, by task (for the model card and the report).
OUTCOMES = {
    CLASSIFICATION: ("share with the label", "mean predicted probability"),
    VALUE: ("mean actual value", "mean predicted value"),
    SURVIVAL: ("share ordering within the horizon", "median predicted days"),
}


@dataclass(frozen=True)
class AuditSettings:
    n_bootstrap: int
    min_group_size: int
    confidence: float
    seed: int


def group_labels(values: pd.Series) -> np.ndarray:
    """An attribute's values as group names; missing values form a group of their own."""
    return values.astype("string").fillna(MISSING_GROUP).to_numpy(dtype=object)


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def _rounded(value: float) -> float | None:
    """A figure as written to JSON: 6 decimals, None where undefined (NaN is not JSON)."""
    value = float(value)
    return round(value, 6) if np.isfinite(value) else None


def _entry(value: float, ci_low: float, ci_high: float) -> dict:
    return {"value": _rounded(value), "ci_low": _rounded(ci_low), "ci_high": _rounded(ci_high)}


def _below(entry: dict, key: str, limit: float) -> bool:
    return entry[key] is not None and entry[key] < limit


def _above(entry: dict, key: str, limit: float) -> bool:
    return entry[key] is not None and entry[key] > limit


def _ratio(rates: np.ndarray) -> np.ndarray:
    """min / max over the groups (axis 0); NaN where no group is selected at all."""
    top = rates.max(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(top > 0, rates.min(axis=0) / top, np.nan)


def disparity(selected: np.ndarray, groups: np.ndarray, settings: AuditSettings) -> dict:
    """Per group its size, selection rate (with interval) and share of the selected; across the
    readable groups the disparity ratio (lowest rate / highest) with its interval."""
    selected = np.asarray(selected, bool)
    rng = np.random.default_rng(settings.seed)
    total = max(int(selected.sum()), 1)
    pooled_rate = float(selected.mean()) if len(selected) else 0.0
    per_group, readable = {}, {}
    for name in sorted(set(groups)):
        chosen = selected[groups == name]
        n, k = len(chosen), int(chosen.sum())
        samples = rng.binomial(n, k / n, settings.n_bootstrap) / n
        per_group[name] = {
            "customers": n,
            "readable": n >= settings.min_group_size,
            "rate": _entry(k / n, *_interval(samples, settings.confidence)),
            "share_of_selected": round(k / total, 6),
        }
        if n >= settings.min_group_size and n * pooled_rate >= MIN_EXPECTED_SELECTED:
            readable[name] = (k / n, samples)
    return {"groups": per_group, **_compare(readable, settings.confidence, _ratio, "ratio")}


def _compare(readable: dict, level: float, across, name: str) -> dict:
    """``across`` (ratio or difference) of the readable groups' rates, with its bootstrap
    interval and the groups at both ends."""
    if len(readable) < 2:
        return {name: _entry(np.nan, np.nan, np.nan), "lowest": None, "highest": None}
    names = list(readable)
    points = np.array([readable[g][0] for g in names])
    point = float(across(points[:, None])[0])
    low, high = _interval(across(np.vstack([readable[g][1] for g in names])), level)
    # Basic interval: an extreme over groups is biased away from parity in the resamples as in
    # the sample, so the percentiles are reflected about the estimate (bounded to [0, 1]).
    return {
        name: _entry(point, np.clip(2 * point - high, 0, 1), np.clip(2 * point - low, 0, 1)),
        "lowest": names[int(np.argmin(points))],
        "highest": names[int(np.argmax(points))],
    }


def _spread(rates: np.ndarray) -> np.ndarray:
    return rates.max(axis=0) - rates.min(axis=0)


def opportunity(
    selected: np.ndarray, positive: np.ndarray, groups: np.ndarray, settings: AuditSettings
) -> dict:
    """Per group the true-positive rate of the selection (with interval); across the groups with
    at least ``min_group_size`` positives the equal-opportunity difference (highest - lowest)."""
    selected, positive = np.asarray(selected, bool), np.asarray(positive, bool)
    rng = np.random.default_rng(settings.seed + 1)
    per_group, readable = {}, {}
    for name in sorted(set(groups)):
        mask = groups == name
        hit = int((selected & positive & mask).sum())
        positives = int((positive & mask).sum())
        n = int(mask.sum())
        shares = np.array([hit, positives - hit, n - positives]) / n
        counts = rng.multinomial(n, shares, settings.n_bootstrap)
        with np.errstate(divide="ignore", invalid="ignore"):
            samples = counts[:, 0] / (counts[:, 0] + counts[:, 1])
        rate = hit / positives if positives else float("nan")
        per_group[name] = {
            "positives": positives,
            "true_positive_rate": _entry(rate, *_interval(samples, settings.confidence)),
        }
        if positives >= settings.min_group_size:
            readable[name] = (rate, samples)
    compared = _compare(readable, settings.confidence, _spread, "difference")
    return {"groups": per_group, **compared}


def action_selection(
    target: str, y: np.ndarray, score: np.ndarray, tiers: TierRules, horizon_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Whom the target's action selects, and whom it should select (see the module docstring)."""
    entry = spec(target)
    y, score = np.asarray(y, float), np.asarray(score, float)
    if entry.tier_rule is None:  # time to the next order: ordering within the horizon
        return score <= horizon_days, np.isfinite(y)
    acted_on = ACTED_ON[entry.tier_rule]
    selected = target_tier(entry, pd.Series(score), tiers).isin(acted_on).to_numpy()
    if entry.is_classification:
        return selected, y == 1
    truly_top = value_tier(pd.Series(y), tiers.value_shares).isin(acted_on).to_numpy()
    return selected, truly_top & (y > 0)


def _outcome(task: str, y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    if task == SURVIVAL:
        return float(np.isfinite(y).mean()), float(np.median(score))
    return float(y.mean()), float(score.mean())


def group_quality(
    target: str,
    y: np.ndarray,
    score: np.ndarray,
    groups: np.ndarray,
    settings: AuditSettings,
    intervals: bool = True,
) -> dict:
    """Per group: base rate, mean prediction and the task's quality metrics (`GROUP_METRICS`),
    with intervals (rows resampled within the group) for the readable groups if asked."""
    task = spec(target).task
    y, score = np.asarray(y, float), np.asarray(score, float)
    out = {}
    for name in sorted(set(groups)):
        mask = groups == name
        gy, gs = y[mask], score[mask]
        base_rate, mean_prediction = _outcome(task, gy, gs)
        entry = {"base_rate": _rounded(base_rate), "mean_prediction": _rounded(mean_prediction)}
        draws = settings.n_bootstrap if intervals and len(gy) >= settings.min_group_size else 0
        indices = bootstrap_indices(len(gy), draws, settings.seed)
        for metric in GROUP_METRICS[task]:
            entry[metric] = _metric_entry(ALL_METRICS[metric], gy, gs, indices, settings.confidence)
        out[name] = entry
    return out


def _metric_entry(metric, y: np.ndarray, score: np.ndarray, indices, level: float) -> dict:
    """A metric with its bootstrap interval; None where it is undefined (one class only): a
    small group often has one, which is no news worth a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", "No positive class found in y_true")
        try:
            if len(indices):
                return _entry(**metric_with_interval(metric, y, score, indices, level))
            value = float(metric(y, score))
        except (ValueError, ZeroDivisionError):
            value = np.nan
    return _entry(value, np.nan, np.nan)


def audit_score(
    target: str,
    y: np.ndarray,
    score: np.ndarray,
    groups: np.ndarray,
    tiers: TierRules,
    horizon_days: float,
    settings: AuditSettings,
    intervals: bool = True,
) -> dict:
    """One score against one attribute: per group quality (intervals if asked: they cost a
    resampled metric each), selection and true-positive rates; the disparity ratio and the
    equal-opportunity difference across groups."""
    selected, positive = action_selection(target, y, score, tiers, horizon_days)
    quality = group_quality(target, y, score, groups, settings, intervals)
    rates = disparity(selected, groups, settings)
    reached = opportunity(selected, positive, groups, settings)
    per_group = {}
    for name, selection in rates["groups"].items():
        size = {k: v for k, v in selection.items() if k != "rate"}
        per_group[name] = {
            **size,
            **quality[name],
            "selection_rate": selection["rate"],
            **reached["groups"][name],
        }
    ratio = rates["ratio"]
    return {
        "groups": per_group,
        "disparity_ratio": ratio | {"lowest": rates["lowest"], "highest": rates["highest"]},
        "four_fifths": _below(ratio, "value", FOUR_FIFTHS),
        "opportunity_difference": reached["difference"]
        | {"lowest": reached["lowest"], "highest": reached["highest"]},
    }


def audit_candidates(
    target: str,
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    attributes: pd.DataFrame,
    tiers: TierRules,
    horizon_days: float,
    settings: AuditSettings,
    intervals: bool = True,
) -> dict:
    """Every score's `audit_score` for every attribute (a column of ``attributes``, one row per
    holdout row), by score then attribute."""
    groups = {a: group_labels(attributes[a]) for a in attributes.columns}
    return {
        name: {
            attribute: audit_score(
                target, y, score, labels, tiers, horizon_days, settings, intervals
            )
            for attribute, labels in groups.items()
        }
        for name, score in scores.items()
    }


def _describe(entry: dict, what: str) -> str:
    return (
        f"{what} {entry['value']:.3f} [{entry['ci_low']:.3f}, {entry['ci_high']:.3f}] "
        f"({entry['lowest']} lowest, {entry['highest']} highest)"
    )


def refusals(
    audit: dict, max_disparity: float | None, max_opportunity_difference: float | None
) -> dict[str, str]:
    """The candidates the fairness gate refuses, each with its reason.

    A candidate is refused when, for some attribute, the whole interval of its disparity ratio
    lies below ``1 / max_disparity`` (1.25: the four-fifths rule), or the whole interval of its
    equal-opportunity difference lies above ``max_opportunity_difference``. Clearly exceeded,
    not just by the point estimate, so a small group's noise does not refuse a model. ``None``
    switches a limit off."""
    refused = {}
    for name, by_attribute in audit.items():
        reasons = []
        for attribute, found in by_attribute.items():
            ratio, gap = found["disparity_ratio"], found["opportunity_difference"]
            if max_disparity is not None and _below(ratio, "ci_high", 1 / max_disparity):
                reasons.append(
                    f"{_describe(ratio, f'selection-rate ratio by {attribute}')} is below "
                    f"1/{max_disparity:g} = {1 / max_disparity:.3f}"
                )
            if max_opportunity_difference is not None and _above(
                gap, "ci_low", max_opportunity_difference
            ):
                reasons.append(
                    f"{_describe(gap, f'true-positive-rate gap by {attribute}')} is above "
                    f"{max_opportunity_difference:g}"
                )
        if reasons:
            refused[name] = "; ".join(reasons)
    return refused


def worst_disparity(by_attribute: dict) -> tuple[str | None, dict | None]:
    """The attribute whose disparity ratio is lowest (the clearest: lowest upper bound)."""
    known = {a: f["disparity_ratio"] for a, f in by_attribute.items()}
    known = {a: r for a, r in known.items() if r["ci_high"] is not None}
    if not known:
        return None, None
    attribute = min(known, key=lambda a: (known[a]["ci_high"], known[a]["value"]))
    return attribute, known[attribute]


# --- at scoring: each group's share of every tier, segment and activation file ---------------


def scoring_audit(
    frame: pd.DataFrame, attributes: list[str], columns: list[str], settings: AuditSettings
) -> dict:
    """Per attribute: the groups' sizes and, for every value of every column (a tier, the
    segment, the activation file), each group's rate (with interval) and share of its members,
    and the disparity ratio across the readable groups."""
    out = {}
    for attribute in attributes:
        groups = group_labels(frame[attribute])
        names, sizes = np.unique(groups, return_counts=True)
        out[attribute] = {
            "groups": {
                str(g): {
                    "customers": int(n),
                    "share": round(n / len(frame), 6),
                    "readable": bool(n >= settings.min_group_size),
                }
                for g, n in zip(names, sizes, strict=True)
            },
            "columns": {
                column: _column_disparity(frame[column], groups, settings) for column in columns
            },
        }
        out[attribute]["worst"] = _worst_value(out[attribute]["columns"])
    return out


def _column_disparity(values: pd.Series, groups: np.ndarray, settings: AuditSettings) -> dict:
    out = {}
    for value in sorted(values.dropna().unique()):
        found = disparity(values.eq(value).fillna(False).to_numpy(bool), groups, settings)
        out[str(value)] = {
            "groups": found["groups"],
            "disparity_ratio": found["ratio"]
            | {"lowest": found["lowest"], "highest": found["highest"]},
            "four_fifths": _below(found["ratio"], "value", FOUR_FIFTHS),
        }
    return out


def _worst_value(columns: dict) -> dict | None:
    """The column value whose disparity ratio is clearest below parity (lowest upper bound)."""
    found = [
        (entry["disparity_ratio"]["ci_high"], column, value, entry["disparity_ratio"])
        for column, values in columns.items()
        for value, entry in values.items()
        if entry["disparity_ratio"]["ci_high"] is not None
    ]
    if not found:
        return None
    _, column, value, ratio = min(found, key=lambda item: (item[0], item[3]["value"]))
    return {"column": column, "value": value, "disparity_ratio": ratio}


# --- at evaluation: the holdout's audit, as the evaluate stage runs it --------------------------


def describe_selection(target: str, tiers: TierRules, horizon_days: float) -> str:
    """What the audit counts as selected, and as should-be-selected, for ``target``."""
    entry = spec(target)
    if entry.tier_rule is None:
        return (
            f"selected: predicted to order within {horizon_days:g} days; should be: ordered "
            "within them"
        )
    acted_on = " and ".join(ACTED_ON[entry.tier_rule])
    if entry.tier_rule == "threshold":
        threshold = getattr(tiers, f"{entry.name}_medium")
        return (
            f"selected: {entry.tier_column} {acted_on} ({entry.score_column} >= {threshold:g}); "
            "should be: the label is true"
        )
    share = sum(tiers.value_shares[: len(ACTED_ON[entry.tier_rule])])
    return (
        f"selected: {entry.tier_column} {acted_on} (top {share:.0%} by {entry.score_column}); "
        f"should be: top {share:.0%} by actual value (above 0)"
    )


@dataclass
class HoldoutAudit:
    """Everything the holdout's audit reads; `run` audits candidates, `add_intervals` adds the
    per-group quality intervals of one (the served one: they cost a resampled metric each)."""

    target: str
    y: np.ndarray
    scores: dict[str, np.ndarray]
    attributes: pd.DataFrame  # one column per audited attribute present, one row per holdout row
    absent: list[str]  # audited attributes the customers table lacks
    tiers: TierRules
    horizon_days: float
    settings: AuditSettings

    def _audit(self, names: list[str], intervals: bool) -> dict:
        chosen = {n: self.scores[n] for n in names}
        return audit_candidates(
            self.target,
            self.y,
            chosen,
            self.attributes,
            self.tiers,
            self.horizon_days,
            self.settings,
            intervals,
        )

    def run(self, names: list[str], max_disparity, max_opportunity_difference) -> dict:
        """The audit of candidates ``names`` and the gate's refusals (`refusals`)."""
        found = self._audit(names, intervals=False)
        return {
            "attributes": list(self.attributes.columns),
            "absent": list(self.absent),
            "selection": describe_selection(self.target, self.tiers, self.horizon_days),
            "min_group_size": self.settings.min_group_size,
            "n_bootstrap": self.settings.n_bootstrap,
            "confidence": self.settings.confidence,
            "limits": {
                "max_disparity": max_disparity,
                "max_opportunity_difference": max_opportunity_difference,
            },
            "candidates": found,
            "refused": refusals(found, max_disparity, max_opportunity_difference),
        }

    def add_intervals(self, report: dict, name: str) -> dict:
        """``report`` with candidate ``name`` audited with per-group quality intervals."""
        report["candidates"][name] = self._audit([name], intervals=True)[name]
        report["served"] = name
        return report


# What the export audit compares: every target's tier, the segment, the activation file.
EXPORT_COLUMNS = (
    *(t.tier_column for t in TARGETS.values() if t.tier_column),
    "segment",
    "activation_file",
)


def audit_export(
    segments: pd.DataFrame, attributes: pd.DataFrame, absent: list[str], settings: AuditSettings
) -> dict:
    """The export's ``fairness.json``: `scoring_audit` of every tier, segment and activation
    file (``segments`` with consent) by each attribute (``attributes``: one row per customer)."""
    frame = segments.assign(activation_file=activation_file(segments)).reset_index(drop=True)
    frame = pd.concat([frame, attributes.reset_index(drop=True)], axis=1)
    return {
        "attributes": list(attributes.columns),
        "absent": list(absent),
        "min_group_size": settings.min_group_size,
        "n_bootstrap": settings.n_bootstrap,
        "confidence": settings.confidence,
        "four_fifths": FOUR_FIFTHS,
        "by_attribute": scoring_audit(
            frame, list(attributes.columns), list(EXPORT_COLUMNS), settings
        ),
    }
