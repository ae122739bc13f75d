"""The model card: what a reviewer needs to judge whether to trust and use a model."""

from __future__ import annotations

from features.targets import spec
from models.fairness import FOUR_FIFTHS, GROUP_METRICS, OUTCOMES, TOO_SMALL, worst_disparity


def _interval(entry: dict) -> str:
    return f"{entry['value']:.4f} [{entry['ci_low']:.4f}, {entry['ci_high']:.4f}]"


def model_card(summary: dict, context: dict) -> str:
    """Markdown model card from the evaluation summary and the training context."""
    target, champion = summary["target"], summary["champion"]
    lines = [
        f"# Model card: {target}",
        "",
        f"**Served by: {champion}** ({DESCRIPTIONS.get(champion, champion)}).",
        "",
        "## Intended use",
        f"Rank and score customers by {target} for marketing activation (segments, audiences). "
        "Not for decisions about individuals with legal or similarly significant effects.",
        "",
        *_data(summary, context),
        "",
        *_selection(summary),
        "",
        f"## Holdout metrics (95% bootstrap intervals); headline: {summary['headline_metric']}",
        *_metrics_table(summary),
        "",
        *_validation_versus_holdout(summary),
        "",
        *fairness_section(summary),
        "",
        "## Settings of the tuned candidates",
        *[
            f"- {name}: {entry['best_params']}"
            for name, entry in context["candidates"].items()
            if entry.get("best_params")
        ],
        "",
        *EXPLANATIONS,
        "",
        *LIMITATIONS,
    ]
    if context.get("sufficiency_message"):
        lines.append(f"- Data sufficiency: {context['sufficiency_message']}")
    return "\n".join(lines) + "\n"


def _data(summary: dict, context: dict) -> list[str]:
    """Cutoffs, population and label, horizons, holdout size and the BG/NBD fit."""
    label = spec(summary["target"]).label.format(
        h=context["horizon_days"], lookback=context["lookback"]
    )
    return [
        "## Data",
        f"- training cutoffs (most recent fold): {context['training_cutoffs']}; validation folds "
        f"(purged rolling origin): {context['validation']}; holdout (out of time): "
        f"{context['holdout']}",
        f"- population and label: {label}",
        _horizon(context),
        f"- holdout rows: {summary['holdout_rows']}; data fingerprint: {context['fingerprint']}",
        f"- BG/NBD parameters of the probabilistic and boosted scorers: fitted at "
        f"{context.get('prior_cutoff') or 'n/a (too few buyers)'} from events before it only",
    ]


def _horizon(context: dict) -> str:
    return (
        f"- horizon: served at {context.get('served_days', context['horizon_days'])} days; "
        f"trained at {context.get('trained_days', context['horizon_days'])} days"
        + (
            ""
            if context.get("served_days", 0) == context.get("trained_days", 0)
            else " and rescaled by the BG/NBD ratio of expectations"
        )
        + (
            f"; judged on the holdout at {context['horizon_days']} days"
            if context.get("backtested", True)
            else "; **not backtested at this horizon** (judged at the training horizon)"
        )
    )


def _validation_versus_holdout(summary: dict) -> list[str]:
    lines = [
        "## Validation versus holdout",
        "| candidate | validation (mean of folds) | holdout | gap |",
        "|---|---|---|---|",
    ]
    for name, gap in summary.get("validation_to_holdout_gap", {}).items():
        lines.append(
            f"| {name} | {gap['validation']:.4f} | {gap['holdout']:.4f} | {gap['gap']:+.4f} |"
        )
    return lines


EXPLANATIONS = (
    "## Explanations",
    "Per-customer reasons are exact and additive for every scorer. XGBoost: TreeSHAP values of "
    "the booster in its raw-margin space (log-odds for churn and propensity, log of expected "
    "value for CLTV). Probabilistic model: exact Shapley values over its four inputs "
    "(orders, days since the last order, days since the first order, average order value) "
    "against the median buyer of the validation cutoff, in the same margin space. Boosted from "
    "the prior: the prior's Shapley values plus TreeSHAP of the trees' correction. RFM and "
    "persistence: exact Shapley values of the prediction itself. The reported probability is "
    "a monotone (calibrated) transform of the margin, so a reason that raises the margin "
    "raises the probability, but reasons do not add up in probability units.",
)
LIMITATIONS = (
    "## Limitations",
    "- Judged on one out-of-time holdout; behaviour can drift after it (see the drift guard).",
    "- Labels need a fully observed horizon, so the newest behaviour is only in the features.",
    "- Customer attributes (country, channel) are static and taken as of the latest data.",
    "- Sensitive attributes are excluded from features unless a parameter opts them in.",
)

DESCRIPTIONS = {
    "probabilistic": "BG/NBD, with Gamma-Gamma for value, calibrated on validation",
    "rfm": "RFM score mapped by isotonic regression",
    "persistence": "last 365 days' spend scaled to the horizon",
    "boosted_prior": "XGBoost correcting the BG/NBD prediction from its base margin",
    "xgboost": "XGBoost on all features, calibrated",
}


def _selection(summary: dict) -> list[str]:
    diff = summary["champion_minus_best_baseline"]
    lines = [
        "## Which scorer serves, and why",
        "Simplest first: the best of the probabilistic and simple scorers starts as champion; a "
        "more complex candidate replaces it only when the paired 95% interval of its headline "
        "difference lies above zero.",
        "",
        f"- {summary['champion']} minus best baseline ({summary['best_baseline']}) on "
        f"{summary['headline_metric']}: {_interval(diff)}",
    ]
    for step in summary.get("selection", []):
        verb = "replaced" if step["replaced"] else "did not replace"
        lines.append(
            f"- {step['challenger']} {verb} {step['incumbent']}: {_interval(step['difference'])}"
        )
    for name, diff in summary.get("candidate_minus_probabilistic", {}).items():
        lines.append(f"- {name} minus the probabilistic model: {_interval(diff)}")
    return lines


def _metrics_table(summary: dict) -> list[str]:
    metrics = list(summary["scores"][summary["champion"]])
    lines = ["| score | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for score, values in summary["scores"].items():
        cells = [_interval(values[m]) if m in values else "" for m in metrics]
        marker = " (serves)" if score == summary["champion"] else ""
        lines.append(f"| {score}{marker} | " + " | ".join(cells) + " |")
    return lines


def _figure(entry: dict | None) -> str:
    """value [low, high], the value alone without an interval, n/a when undefined."""
    if not entry or entry.get("value") is None:
        return "n/a"
    if entry.get("ci_low") is None:
        return f"{entry['value']:.4f}"
    return _interval(entry)


def fairness_section(summary: dict) -> list[str]:
    """The served model's audit per attribute, every candidate's worst disparity, the gate."""
    audit = summary.get("fairness")
    if audit is None:
        return []
    lines = ["## Fairness audit"]
    if not audit["attributes"]:
        looked = ", ".join(audit["absent"]) or "none configured"
        return [
            *lines,
            f"No sensitive attribute is in the customers table (audited: {looked}); "
            "nothing could be audited.",
        ]
    observed, predicted = OUTCOMES[spec(summary["target"]).task]
    lines += [
        f"Holdout outcomes by group ({audit['confidence']:.0%} bootstrap intervals within each "
        f"group). {audit['selection'].capitalize()}. Disparity ratio: lowest group's selection "
        f"rate / highest's (the four-fifths rule flags < {FOUR_FIFTHS}); equal-opportunity "
        "difference: highest group's true-positive rate - lowest's. Groups under "
        f"{audit['min_group_size']} customers (or positives) are {TOO_SMALL} and not compared. "
        f"base rate: {observed}; mean prediction: {predicted}.",
    ]
    if audit["absent"]:
        lines.append(f"Not in the customers table, so not audited: {', '.join(audit['absent'])}.")
    served = audit["served"]
    for attribute, found in audit["candidates"][served].items():
        lines += ["", f"### {attribute} ({served}, which serves)", *_group_table(summary, found)]
        lines += _comparisons(found)
    lines += ["", *_gate(audit)]
    return lines


def _group_table(summary: dict, found: dict) -> list[str]:
    metrics = GROUP_METRICS[spec(summary["target"]).task]
    header = ["group", "customers", "base rate", "mean prediction", *metrics, "selected", "TPR"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]
    for group, entry in found["groups"].items():
        size = f"{entry['customers']}" + ("" if entry["readable"] else f" ({TOO_SMALL})")
        cells = [
            group,
            size,
            _figure({"value": entry["base_rate"]}),
            _figure({"value": entry["mean_prediction"]}),
            *(_figure(entry[m]) for m in metrics),
            _figure(entry["selection_rate"]),
            _figure(entry["true_positive_rate"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _comparisons(found: dict) -> list[str]:
    ratio, gap = found["disparity_ratio"], found["opportunity_difference"]
    flag = " **below four-fifths**" if found["four_fifths"] else ""
    return [
        f"- disparity ratio: {_figure(ratio)} ({ratio['lowest']} lowest, {ratio['highest']} "
        f"highest){flag}",
        f"- equal-opportunity difference: {_figure(gap)} ({gap['lowest']} lowest, "
        f"{gap['highest']} highest)",
    ]


def _gate(audit: dict) -> list[str]:
    shown = {k: "off" if v is None else f"{v:g}" for k, v in audit["limits"].items()}
    lines = [
        f"Gate limits (evaluate.fairness): max_disparity {shown['max_disparity']}, "
        f"max_opportunity_difference {shown['max_opportunity_difference']}. Every candidate's "
        "lowest disparity ratio:",
    ]
    for name, by_attribute in audit["candidates"].items():
        attribute, ratio = worst_disparity(by_attribute)
        shown = f"{_figure(ratio)} by {attribute}" if attribute else "n/a"
        refused = audit["refused"].get(name)
        lines.append(f"- {name}: {shown}" + (f"; **refused**: {refused}" if refused else ""))
    return lines
