"""The model card: what a reviewer needs to judge whether to trust and use a model."""

from __future__ import annotations

LABEL_DEFINITIONS = {
    "churn": "no order in the {h} days after the cutoff, among customers with an order in the "
    "{lookback} days before it",
    "propensity": "at least one order in the {h} days after the cutoff, among all known customers",
    "cltv": "net spend (purchases minus refunds, floored at 0) in the {h} days after the cutoff",
}


def _interval(entry: dict) -> str:
    return f"{entry['value']:.4f} [{entry['ci_low']:.4f}, {entry['ci_high']:.4f}]"


def model_card(summary: dict, context: dict) -> str:
    """Markdown model card from the evaluation summary and the training context."""
    target, headline = summary["target"], summary["headline_metric"]
    label = LABEL_DEFINITIONS[target].format(
        h=context["horizon_days"], lookback=context["lookback"]
    )
    lines = [
        f"# Model card: {target}",
        "",
        "## Intended use",
        f"Rank and score customers by {target} for marketing activation (segments, audiences). "
        "Not for decisions about individuals with legal or similarly significant effects.",
        "",
        "## Data",
        f"- training cutoffs: {context['training_cutoffs']}; validation: {context['validation']}; "
        f"holdout (out of time): {context['holdout']}",
        f"- population and label: {label}",
        f"- holdout rows: {summary['holdout_rows']}; data fingerprint: {context['fingerprint']}",
        f"- model: XGBoost ({context['model_kind']}), best params: {context['best_params']}",
        "",
        f"## Holdout metrics (95% bootstrap intervals); headline: {headline}",
        "| score | " + " | ".join(summary["scores"]["model"]) + " |",
        "|---|" + "---|" * len(summary["scores"]["model"]),
    ]
    for score, metrics in summary["scores"].items():
        cells = [_interval(metrics[m]) if m in metrics else "" for m in summary["scores"]["model"]]
        lines.append(f"| {score} | " + " | ".join(cells) + " |")
    diff = summary["model_minus_best_baseline"]
    lines += [
        "",
        f"Model minus best baseline ({summary['best_baseline']}) on {headline}: {_interval(diff)}.",
        f"Verdict: {summary.get('verdict', {}).get('message', 'not gated')}",
        "",
        "## Explanations",
        "Per-customer reasons are exact TreeSHAP values of the booster in its raw-margin space "
        "(log-odds for churn and propensity, log of expected value for CLTV); they add up, with "
        "the base value, to that margin. The reported probability is a monotone (calibrated) "
        "transform of the margin, so a reason that raises the margin raises the probability, "
        "but reasons do not add up in probability units.",
        "",
        "## Limitations",
        "- Judged on one out-of-time holdout; behaviour can drift after it (see the drift guard).",
        "- Labels need a fully observed horizon, so the newest behaviour is only in the features.",
        "- Customer attributes (country, channel) are static and taken as of the latest data.",
        "- Sensitive attributes are excluded from features unless a parameter opts them in.",
    ]
    if context.get("sufficiency_message"):
        lines.append(f"- Data sufficiency: {context['sufficiency_message']}")
    return "\n".join(lines) + "\n"
