"""The segment report: one self-contained HTML page (plots embedded) written with every export.

For a marketer and a reviewer: how good the models are against the baselines (with intervals),
calibration, segment sizes and value, what drives each segment, and migration since last time.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from features.targets import TARGETS
from models.plots import decile_figure  # noqa: E402

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.ok{color:#1a7f37}.warn{color:#b35900}img{max-width:100%}h2{margin-top:2rem}
"""


def _png(figure, alt: str = "plot") -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, float_format=lambda v: f"{v:,.4g}", escape=True)


def quality_section(reports_dir: Path) -> str:
    parts = ["<h2>Model quality on the out-of-time holdout</h2>"]
    for target in TARGETS:
        path = reports_dir / "evaluate" / f"{target}.json"
        if not path.exists():
            continue
        summary = json.loads(path.read_text())
        headline = summary["headline_metric"]
        champion = summary.get("champion")
        rows = [
            {
                "score": f"{name} (serves)" if name == champion else name,
                headline: m[headline]["value"],
                "95% low": m[headline]["ci_low"],
                "95% high": m[headline]["ci_high"],
            }
            for name, m in summary["scores"].items()
            if headline in m
        ]
        verdict = summary["verdict"]
        css = "ok" if verdict.get("beats_baseline") else "warn"
        parts += [
            f"<h3>{target} ({headline}): served by {html.escape(str(champion))}</h3>",
            _table(pd.DataFrame(rows)),
            f'<p class="{css}">{html.escape(verdict["message"])}</p>',
        ]
        calibration = reports_dir / "evaluate" / f"{target}_plots" / "calibration.csv"
        if calibration.exists():
            parts.append(_calibration_plot(pd.read_csv(calibration), target))
        deciles = reports_dir / "evaluate" / f"{target}_plots" / "deciles.csv"
        if deciles.exists():
            title = f"{target} calibration by decile"
            parts.append(_png(decile_figure(pd.read_csv(deciles), title), alt=title))
    return "\n".join(parts)


def _calibration_plot(table: pd.DataFrame, target: str) -> str:
    figure, axis = plt.subplots(figsize=(4, 3.2))
    axis.plot([0, 1], [0, 1], ":", color="grey")
    axis.plot(table["mean_predicted"], table["observed_rate"], marker="o")
    axis.set(xlabel="predicted", ylabel="observed", title=f"{target} calibration")
    return _png(figure)


def segments_section(segments: pd.DataFrame) -> str:
    summary = (
        segments.groupby("segment")
        .agg(
            customers=("customer_id", "size"),
            predicted_value=("predicted_cltv", "sum"),
            mean_churn=("churn_probability", "mean"),
            mean_purchase=("purchase_probability", "mean"),
        )
        .sort_values("predicted_value", ascending=False)
        .reset_index()
    )
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].barh(summary["segment"], summary["customers"])
    axes[0].set_title("customers per segment")
    axes[1].barh(summary["segment"], summary["predicted_value"])
    axes[1].set_title("predicted value per segment")
    figure.tight_layout()
    return "<h2>Segments</h2>" + _png(figure) + _table(summary)


def drivers_section(segments: pd.DataFrame) -> str:
    """Per segment, the features that most often lead each model's explanations."""
    rows = []
    for name, group in segments.groupby("segment"):
        for model in TARGETS:
            top = group[f"{model}_reason_1_feature"].value_counts().head(3)
            rows.append(
                {
                    "segment": name,
                    "model": model,
                    "top drivers": ", ".join(f"{f} ({n / len(group):.0%})" for f, n in top.items()),
                }
            )
    return "<h2>Top drivers per segment</h2>" + _table(pd.DataFrame(rows))


def migration_section(summary: dict | None, transitions: pd.DataFrame | None) -> str:
    if summary is None:
        return "<h2>Migration</h2><p>No earlier export to compare with.</p>"
    moves = summary["segment"]["notable_moves"] or {"(none)": 0}
    return (
        f"<h2>Migration since {summary['previous_as_of']}</h2>"
        f"<p>Stable share: {summary['segment']['stability_share']:.1%}</p>"
        + _table(pd.DataFrame({"move": list(moves), "customers": list(moves.values())}))
        + _table(transitions)
    )


def segment_report(
    segments: pd.DataFrame,
    as_of: str,
    models: dict,
    reports_dir: Path,
    migration: dict | None = None,
    transitions: pd.DataFrame | None = None,
    power: pd.DataFrame | None = None,
) -> str:
    names = ", ".join(
        f"{target}: {m.get('scorer', 'xgboost')} ({m['name']} v{m['version']})"
        for target, m in models.items()
    )
    return "\n".join(
        [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>Segment report {as_of}</title><style>{STYLE}</style></head><body>",
            f"<h1>Segment report as of {as_of}</h1>",
            f"<p>{len(segments):,} customers scored with {html.escape(names)}.</p>",
            quality_section(reports_dir),
            segments_section(segments),
            drivers_section(segments),
            migration_section(migration, transitions),
            power_section(power),
            "</body></html>",
        ]
    )


# --- control groups: what a campaign on each segment could show (models.control) ---------------


def power_section(power: pd.DataFrame | None) -> str:
    """Per segment, the smallest lift its control group can detect, before any money is spent."""
    if power is None:
        return ""
    days = int(power["horizon_days"].iloc[0])
    shown = power.drop(columns=["horizon_days"]).assign(
        measurable=power["measurable"].map({True: "yes", False: "too small"})
    )
    return (
        "<h2>Control groups: what a campaign could show</h2>"
        f"<p>Consenting customers in each group, and the minimum detectable effect (80% power, 5% "
        f"level) on the purchase rate and revenue per customer over {days} days, from the "
        "predicted rates. A segment marked too small cannot show a lift of a plausible size: "
        "measure it with others, or raise <code>score.control.share</code>.</p>" + _table(shown)
    )
