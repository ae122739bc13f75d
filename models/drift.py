"""The drift guard: does today's model input look like what each model was validated on, or like
broken data? Pure functions over feature frames; `pipelines.guard` wires them to the files.

Each model is judged against its **holdout cutoff**, the snapshot its metrics were measured on,
with four kinds of check:

- **data checks** on the last ``window_days`` of events, as the feature table sums them: the volume
  of each event type (a tracking outage empties one), the median order amount (a currency or unit
  change multiplies it), orders per buying customer (a replayed order load doubles it), the share of
  active customers who are new (re-keyed ids look like new customers) and the share of customers
  known at the reference who have vanished (re-keyed or deleted history). These are ratios to the
  reference's own figures, so a shop that grows or ages passes them.
- **prediction PSI**: each model's scores against its scores on the holdout rows.
- **feature PSI** per model input. Features that grow with calendar time (days since the first or
  last event, tenure: `ageing_features`, read from the feature catalogue) are compared in a
  time-relative form, their value over the snapshot's largest value, so a shop that simply got
  older is not drift. A feature PSI refuses only far above the usual 0.25 rule of thumb: campaign
  calendars alone move "days since the last email open" to a PSI of 0.6 in a month, while broken
  inputs show as a PSI of several units.

A failed check refuses scoring (unless the operator allows it); every figure goes to ``drift.json``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from features.catalogue import build_catalogue
from features.definitions import ACTIVITY_TYPES, FeatureRules

EPSILON = 1e-4
# Features that add up floating-point numbers can differ in their last bits from run to run (the
# engine adds in thread order), and a bin edge is often a value that customers share exactly (a
# spend of 42.22). Values are rounded to this many decimals before binning, so a customer on an
# edge falls on the same side in every run and the same inputs give the same PSI.
DECIMALS = 9
MIN_EVENTS = 50  # an event type rarer than this in the reference window is not volume-checked
MIN_BUYERS = 20  # fewer buyers (new active customers) in a window: no rate (new-customer) check
MIN_SHARE = 0.01  # floor of the reference's new-customer share in its ratio


# Families of features measured in days since a customer's first or last event: they grow with
# calendar time for every customer who does nothing, so a shop that ages moves them.
AGEING_FAMILIES = ("tenure", "recency", "engagement recency")


def ageing_features(rules: FeatureRules) -> list[str]:
    """Features whose values grow with calendar time, from the feature catalogue."""
    catalogue = build_catalogue(rules)
    return [i.name for i in catalogue if i.unit == "days" and i.family in AGEING_FAMILIES]


@dataclass(frozen=True)
class DriftRules:
    """Limits of the drift guard (``score.drift`` in params.yaml)."""

    warn_psi: float = 0.1  # feature or prediction PSI reported as a warning above this
    refuse_psi: float = 1.0  # feature PSI that refuses (time-relative form for ageing features)
    refuse_prediction_psi: float = 0.5  # a model's prediction PSI against its holdout that refuses
    window_days: int = 30  # window of the data checks (an order and activity window of features)
    min_volume_ratio: float = 0.25  # an event type's volume below this share of the reference's
    max_rate_ratio: float = 1.5  # order amount / orders per buyer beyond this factor either way
    new_customer_days: int = 90  # "new": first seen at most this long before the cutoff
    max_new_share_ratio: float = 2.0  # new share of active customers over the reference's share
    max_missing_share: float = 0.05  # reference customers absent now (re-keyed or deleted ids)


@dataclass(frozen=True)
class Finding:
    """One failed check: what was measured, against which limit, and what to do about it."""

    check: str
    model: str
    figure: float
    limit: float
    cause: str
    hint: str
    severity: float  # how far past the limit (>1), to order refusals

    @property
    def name(self) -> str:
        return f"{self.model}:{self.check}"


def _shares(labels: pd.Series, categories) -> np.ndarray:
    counts = labels.value_counts().reindex(categories, fill_value=0).to_numpy(float)
    return np.clip(counts / max(counts.sum(), 1), EPSILON, None)


def _bucket(values: pd.Series, edges: np.ndarray | None) -> pd.Series:
    if edges is None:
        return values.astype("string").fillna("<missing>")
    codes = np.searchsorted(edges, values.to_numpy(float), side="right").astype(object)
    codes[values.isna().to_numpy()] = "<missing>"
    return pd.Series(codes, index=values.index).astype(str)


def psi(expected: pd.Series, actual: pd.Series, bins: int = 10) -> float:
    """PSI of ``actual`` against ``expected``; numeric features use expected's quantile bins."""
    numeric = pd.api.types.is_numeric_dtype(expected) and not pd.api.types.is_bool_dtype(expected)
    edges = None
    if numeric:
        expected, actual = (
            expected.astype(float).round(DECIMALS),
            actual.astype(float).round(DECIMALS),
        )
        finite = expected.dropna().to_numpy(float)
        edges = (
            np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
            if len(finite)
            else np.array([])
        )
    e, a = _bucket(expected, edges), _bucket(actual, edges)
    categories = sorted(set(e.unique()) | set(a.unique()))
    e_share, a_share = _shares(e, categories), _shares(a, categories)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def time_relative(values: pd.Series) -> pd.Series:
    """A feature that grows with calendar time as a share of the snapshot's largest value."""
    values = values.astype(float)
    top = values.max()
    return values / top if top and top > 0 else values


def feature_psi(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], ageing: Collection[str]
) -> dict[str, float]:
    """PSI per column, worst first; ``ageing`` columns in their time-relative form."""
    values = {}
    for column in (c for c in columns if c in reference and c in current):
        before, now = reference[column], current[column]
        if column in ageing:
            before, now = time_relative(before), time_relative(now)
        values[column] = round(psi(before, now), 6)
    return dict(sorted(values.items(), key=lambda item: -item[1]))


def _window_sum(features: pd.DataFrame, column: str) -> float | None:
    return round(float(features[column].sum()), DECIMALS) if column in features else None


def window_profile(features: pd.DataFrame, rules: DriftRules) -> dict:
    """What the last ``window_days`` of events looked like, from one feature snapshot: events per
    type, buyers, median order amount, orders per buyer, and the share of active customers who
    are new. Figures whose feature columns the table lacks are None."""
    w = rules.window_days
    orders, spend = f"orders_{w}d", f"spend_{w}d"
    volumes = {kind: _window_sum(features, f"{kind}_{w}d") for kind in ACTIVITY_TYPES}
    volumes["purchase"] = _window_sum(features, orders)
    profile = {"events": volumes, "buyers": 0, "median_order_amount": None}
    profile |= {"orders_per_buyer": None, "new_share": None, "active": 0}
    if orders in features:
        buying = features[orders] > 0
        profile["buyers"] = int(buying.sum())
        if spend in features and buying.any():
            per_order = features.loc[buying, spend] / features.loc[buying, orders]
            profile["median_order_amount"] = round(float(per_order.median()), DECIMALS)
        profile["orders_per_buyer"] = round(
            float(features.loc[buying, orders].mean() or 0), DECIMALS
        )
    counted = [f"{kind}_{w}d" for kind in ACTIVITY_TYPES if f"{kind}_{w}d" in features]
    counted += [orders] if orders in features else []
    if counted and "tenure_days" in features:
        active = features[counted].gt(0).any(axis=1)
        profile["active"] = int(active.sum())
        new = features.loc[active, "tenure_days"] <= rules.new_customer_days
        profile["new_share"] = round(float(new.mean()), DECIMALS) if active.any() else None
    return profile


def _ratio(now, before, floor: float = 0.0) -> float | None:
    if now is None or before is None or max(before, floor) <= 0:
        return None
    return float(now) / max(float(before), floor)


def _volume_findings(model: str, before: dict, now: dict, rules: DriftRules) -> list[Finding]:
    found = []
    for kind, volume in before["events"].items():
        if volume is None or volume < MIN_EVENTS or now["events"].get(kind) is None:
            continue
        ratio = now["events"][kind] / volume
        if ratio < rules.min_volume_ratio:
            found.append(
                Finding(
                    f"volume:{kind}",
                    model,
                    round(ratio, 4),
                    rules.min_volume_ratio,
                    f"{kind} events in the last {rules.window_days} days fell to {ratio:.0%} of "
                    f"the {model} model's reference window (limit {rules.min_volume_ratio:.0%}; "
                    f"{now['events'][kind]:,.0f} against {volume:,.0f})",
                    f"a tracking or feed outage upstream? Check that {kind} events still reach "
                    "the source, re-ingest, then score",
                    rules.min_volume_ratio / max(ratio, EPSILON),
                )
            )
    return found


RATE_CHECKS = {  # profile figure -> (check name, words, hint)
    "median_order_amount": (
        "order_amount",
        "the median order amount",
        "a currency or unit change upstream (cents for euros, another currency)? Convert "
        "amounts to the unit the models were trained on, re-ingest, then score",
    ),
    "orders_per_buyer": (
        "orders_per_buyer",
        "orders per buying customer",
        "orders loaded twice (a replayed or overlapping load, new order ids)? Remove the "
        "duplicated orders upstream, re-ingest, then score",
    ),
}


def _rate_findings(model: str, before: dict, now: dict, rules: DriftRules) -> list[Finding]:
    found = []
    if min(before["buyers"], now["buyers"]) < MIN_BUYERS:
        return found
    for figure, (check, words, hint) in RATE_CHECKS.items():
        ratio = _ratio(now[figure], before[figure])
        if ratio is None or 1 / rules.max_rate_ratio <= ratio <= rules.max_rate_ratio:
            continue
        cause = (
            f"{words} in the last {rules.window_days} days is {ratio:.2f}x the {model} model's "
            f"reference ({now[figure]:,.2f} against {before[figure]:,.2f}; limit "
            f"{rules.max_rate_ratio}x either way)"
        )
        severity = max(ratio, 1 / max(ratio, EPSILON)) / rules.max_rate_ratio
        found.append(
            Finding(check, model, round(ratio, 4), rules.max_rate_ratio, cause, hint, severity)
        )
    return found


def _identity_findings(
    model: str, before: dict, now: dict, missing_share: float, rules: DriftRules
) -> list[Finding]:
    found = []
    ratio = _ratio(now["new_share"], before["new_share"], MIN_SHARE)
    newcomers = (now["new_share"] or 0) * now["active"]
    if ratio is not None and ratio > rules.max_new_share_ratio and newcomers >= MIN_BUYERS:
        found.append(
            Finding(
                "new_customers",
                model,
                round(ratio, 4),
                rules.max_new_share_ratio,
                f"{now['new_share']:.0%} of the customers active in the last "
                f"{rules.window_days} days are new (first seen within "
                f"{rules.new_customer_days} days), {ratio:.1f}x the {model} model's reference "
                f"share of {before['new_share']:.0%} (limit {rules.max_new_share_ratio}x)",
                "customer ids changed upstream (a new CRM or id scheme)? Map the new ids to the "
                "old ones before ingest, then score",
                ratio / rules.max_new_share_ratio,
            )
        )
    if missing_share > rules.max_missing_share:
        found.append(
            Finding(
                "missing_customers",
                model,
                round(missing_share, 4),
                rules.max_missing_share,
                f"{missing_share:.0%} of the customers known at the {model} model's reference "
                f"cutoff are absent now (limit {rules.max_missing_share:.0%})",
                "customer ids were re-keyed or history was deleted upstream; restore the ids "
                "(or retrain on the new ones with `dvc repro`)",
                missing_share / max(rules.max_missing_share, EPSILON),
            )
        )
    return found


def data_findings(
    model: str, reference: pd.DataFrame, current: pd.DataFrame, rules: DriftRules
) -> tuple[dict, list[Finding]]:
    """The data checks of one model: both window profiles, the share of reference customers
    absent now, and the checks that failed."""
    before, now = window_profile(reference, rules), window_profile(current, rules)
    missing = float((~reference["customer_id"].isin(current["customer_id"])).mean())
    found = _volume_findings(model, before, now, rules) + _rate_findings(model, before, now, rules)
    found += _identity_findings(model, before, now, missing, rules)
    figures = {"reference": before, "current": now, "missing_share": round(missing, 6)}
    return figures, found


def _psi_findings(
    model: str, psis: dict[str, float], prediction: float | None, rules: DriftRules
) -> list[Finding]:
    found = []
    if prediction is not None and prediction > rules.refuse_prediction_psi:
        found.append(
            Finding(
                "predictions",
                model,
                round(prediction, 4),
                rules.refuse_prediction_psi,
                f"the {model} model's predictions shifted: PSI {prediction:.2f} against its "
                f"holdout predictions (limit {rules.refuse_prediction_psi})",
                "its inputs differ from what it was validated on (drift.json lists the features "
                "that moved): check the data, retrain on recent cutoffs (`dvc repro`), or pass "
                "--allow-drift once the shift is understood",
                prediction / rules.refuse_prediction_psi,
            )
        )
    for column, value in psis.items():
        if value > rules.refuse_psi:
            found.append(
                Finding(
                    f"feature:{column}",
                    model,
                    value,
                    rules.refuse_psi,
                    f"feature drift too large: PSI {value:.2f} on '{column}' for the {model} "
                    f"model (limit {rules.refuse_psi})",
                    "the model's input is far from its holdout snapshot: check the data behind "
                    "this feature, retrain on recent cutoffs (`dvc repro`), or pass --allow-drift "
                    "once the shift is understood",
                    value / rules.refuse_psi,
                )
            )
    return found


def prediction_psi(reference: np.ndarray | None, current: np.ndarray | None) -> float | None:
    """PSI of a model's scores against its holdout scores (customers outside its population,
    NaN, left out)."""
    if reference is None or current is None:
        return None
    before, now = pd.Series(reference, dtype=float), pd.Series(current, dtype=float)
    return round(psi(before.dropna(), now.dropna()), 6)


def assess_model(
    model: str,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    columns: list[str],
    ageing: Collection[str],
    scores: tuple[np.ndarray, np.ndarray] | None,
    rules: DriftRules,
) -> tuple[dict, list[Finding]]:
    """One model's drift report against its reference snapshot, and the checks it fails.

    ``frames``: the reference (holdout) and current feature snapshots, every feature column;
    ``columns``: the model's inputs; ``scores``: its predictions on both, or None."""
    reference, current = frames
    psis = feature_psi(reference, current, columns, ageing)
    predicted = prediction_psi(*scores) if scores is not None else None
    figures, found = data_findings(model, reference, current, rules)
    report = {
        "psi": psis,
        "max_psi": max(psis.values(), default=0.0),
        "warn": [c for c, v in psis.items() if v > rules.warn_psi],
        "time_relative": sorted(c for c in psis if c in ageing),
        "prediction_psi": predicted,
        "data": figures,
    }
    return report, found + _psi_findings(model, psis, predicted, rules)


CHECK_ORDER = (  # the most specific cause first: it names what broke
    "volume",
    "order_amount",
    "orders_per_buyer",
    "missing_customers",
    "new_customers",
    "predictions",
    "feature",
)


def _rank(finding: Finding) -> tuple[int, float]:
    return CHECK_ORDER.index(finding.check.split(":")[0]), -finding.severity


def decide(assessed: dict[str, tuple[dict, list[Finding]]], rules: DriftRules, allow: bool) -> dict:
    """The guard's report: each model's figures, every failed check (most specific and worst
    first, as ``refusals`` and their names in ``over_limit``) and whether the operator allowed
    them."""
    drift: dict = {model: report for model, (report, _) in assessed.items()}
    found = sorted((f for _, fs in assessed.values() for f in fs), key=_rank)
    drift["refusals"] = [{"name": f.name, **asdict(f)} for f in found]
    drift["over_limit"] = [f.name for f in found]
    drift["thresholds"] = asdict(rules)
    drift["allowed"] = bool(allow)
    return drift


def refusal(drift: dict) -> dict | None:
    """The first failed check when the operator has not allowed drift: scoring must refuse.
    None when it may go on."""
    if drift["allowed"] or not drift["refusals"]:
        return None
    return drift["refusals"][0]
