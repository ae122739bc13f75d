"""The reviewer's section: every candidate and baseline on the out-of-time holdout with intervals,
which scorer serves each target and why, and its calibration."""

from __future__ import annotations

import html

from reporting import figures
from reporting.formats import decimal, metric_name
from reporting.page import Evidence, ReportInputs, Section, table


def _scores_table(summary: dict) -> str:
    headline, champion = summary["headline_metric"], summary.get("champion")
    rows = []
    for name, metrics in summary["scores"].items():
        if headline not in metrics:
            continue
        m = metrics[headline]
        interval = f"{decimal(m.get('ci_low'))} to {decimal(m.get('ci_high'))}"
        label = (
            f"<strong>{html.escape(name)} (serves)</strong>"
            if name == champion
            else html.escape(name)
        )
        rows.append([label, decimal(m.get("value")), interval])
    return table(["Score", metric_name(headline), "95% interval"], rows)


def _figures(evidence: Evidence, currency: str) -> str:
    plots, target = evidence.plots, evidence.target
    shown = []
    if "calibration" in plots:
        shown.append(figures.calibration(plots["calibration"], f"{target}: calibration"))
    if "deciles" in plots:
        title = f"{target}: predicted and actual spend by decile"
        shown.append(figures.deciles(plots["deciles"], title, currency))
    if "median_calibration" in plots:
        title = f"{target}: calibration of the median wait"
        shown.append(figures.median_calibration(plots["median_calibration"], title))
    return "".join(shown)


def quality_section(inputs: ReportInputs) -> Section:
    """Per target: every score on the holdout with its interval, the verdict and calibration."""
    served = ", ".join(
        f"{target}: {m.get('scorer', 'xgboost')} ({m['name']} v{m['version']})"
        for target, m in inputs.models.items()
    )
    parts = [
        "<p>For reviewers: each candidate scorer and baseline on the out-of-time holdout, with "
        f"bootstrap 95% intervals. This export was scored with {html.escape(served)}.</p>"
    ]
    for evidence in inputs.evidence:
        summary = evidence.summary
        verdict = summary["verdict"]
        css = "ok" if verdict.get("beats_baseline") else "warn"
        served = html.escape(str(summary.get("champion")))
        parts += [
            f"<h3>{html.escape(evidence.target)} ({metric_name(summary['headline_metric'])}): "
            f"served by {served}</h3>",
            f'<p class="{css}">{html.escape(verdict["message"])}</p>',
            f"<div class=figures>{_scores_table(summary)}{_figures(evidence, inputs.currency)}"
            "</div>",
        ]
    if not inputs.evidence:
        parts.append("<p class=na>No evaluation results found (run the evaluate stage).</p>")
    return Section("quality", "Model quality (for reviewers)", "\n".join(parts))
