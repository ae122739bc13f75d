"""What the evaluation adds to each candidate's MLflow run: its holdout metrics and every
baseline's, its difference over the best baseline, the validation-to-holdout gap, the curves
against the best baseline, its SHAP summary, the model card and the verdict."""

from __future__ import annotations

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd

from features.targets import spec
from models import plots
from models.evaluation import Evaluation
from models.explain import contributions, global_importance
from models.survival import median_calibration_table

_LINE_TITLES = {
    "roc": ("fpr", "ROC"),
    "pr": ("recall", "precision-recall"),
    "gains": ("share_customers", "cumulative gains"),
}


def curve_tables(
    evaluation: Evaluation, y, scores: dict, shown_score: str, label: str = "champion"
) -> dict:
    """Curves of one scorer (under ``label``) against the best baseline."""
    shown = {label: scores[shown_score], "best_baseline": scores[evaluation.best_baseline]}
    if spec(evaluation.target).is_survival:  # the horizon is the longest observed wait
        horizon = float(np.max(np.asarray(y, float)[np.isfinite(y)], initial=0.0))
        table = median_calibration_table(y, scores[shown_score], horizon)
        return {"median_calibration": table}
    if spec(evaluation.target).is_classification:
        return {
            "roc": plots.roc_table(y, shown),
            "pr": plots.pr_table(y, shown),
            "gains": plots.gains_table(y, shown),
            "calibration": plots.calibration_table(y, scores[shown_score]),
        }
    return {
        "gains": plots.gains_table(y, shown),
        "deciles": plots.decile_table(y, scores[shown_score]),
    }


def log_figures(tables: dict[str, pd.DataFrame], target: str) -> None:
    for name, table in tables.items():
        if name in _LINE_TITLES:
            x, title = _LINE_TITLES[name]
            figure = plots.line_figure(table, x, f"{target}: {title}", diagonal=name != "pr")
        elif name == "calibration":
            figure = plots.calibration_figure(table, f"{target}: calibration")
        elif name == "median_calibration":
            figure = plots.median_calibration_figure(table, f"{target}: median calibration")
        else:
            figure = plots.decile_figure(table, f"{target}: predicted vs actual by decile")
        mlflow.log_figure(figure, f"plots/{name}.png")
        plt.close(figure)


def log_shap(model, X: pd.DataFrame, seed: int) -> pd.DataFrame:
    import shap

    sample = X.sample(min(2000, len(X)), random_state=seed)
    values, base = contributions(model, sample)
    shown = sample.reindex(columns=list(values.columns))  # a reason may have no input column
    for column in shown.columns:
        if not pd.api.types.is_numeric_dtype(shown[column]):
            shown[column] = pd.factorize(shown[column])[0].astype(float)
    explanation = shap.Explanation(
        values.to_numpy(),
        base_values=base,
        data=shown.to_numpy(dtype=float),
        feature_names=list(values.columns),
    )
    shap.plots.beeswarm(explanation, max_display=20, show=False)
    figure = plt.gcf()
    figure.set_size_inches(8, 7)
    figure.tight_layout()
    mlflow.log_figure(figure, "shap/beeswarm.png")
    plt.close(figure)
    importance = global_importance(values)
    mlflow.log_table(importance, "shap/global_importance.json")
    return importance


def log_evaluation(ev: Evaluation, name: str, report: dict, tables, model, X, seed: int) -> None:
    """One candidate's run: its own holdout metrics, every baseline's, its difference over the
    best baseline and the validation-to-holdout gap, the plots and its SHAP summary."""
    for record in ev.table.to_dict("records"):
        if record["score"] in ev.candidates and record["score"] != name:
            continue
        prefix = "holdout" if record["score"] == name else f"holdout_{record['score']}"
        mlflow.log_metrics(
            {
                f"{prefix}_{record['metric']}": record["value"],
                f"{prefix}_{record['metric']}_ci_low": record["ci_low"],
                f"{prefix}_{record['metric']}_ci_high": record["ci_high"],
            }
        )
    diff = ev.differences[name]
    gap = report["validation_to_holdout_gap"][name]
    mlflow.log_metrics(
        {
            "model_minus_best_baseline": diff["value"],
            "model_minus_best_baseline_ci_low": diff["ci_low"],
            "model_minus_best_baseline_ci_high": diff["ci_high"],
            "validation_to_holdout_gap": gap["gap"],
        }
    )
    mlflow.log_table(ev.table, "evaluation/metrics_table.json")
    mlflow.log_dict(report, "evaluation/summary.json")
    log_fairness(report["fairness"], name)
    log_figures(tables, ev.target)
    log_shap(model, X, seed)


def fairness_metrics(audit: dict, name: str) -> dict[str, float]:
    """A candidate's disparity ratio and equal-opportunity difference per attribute, with their
    intervals, as MLflow metrics (``fairness_<attribute>_...``); undefined ones are left out."""
    metrics = {}
    for attribute, found in audit["candidates"][name].items():
        for kind in ("disparity_ratio", "opportunity_difference"):
            for key in ("value", "ci_low", "ci_high"):
                suffix = "" if key == "value" else f"_{key}"
                metrics[f"fairness_{attribute}_{kind}{suffix}"] = found[kind][key]
    return {k: v for k, v in metrics.items() if v is not None}


def log_fairness(audit: dict, name: str) -> None:
    """The fairness audit of one candidate: metrics, a per-group table per attribute, and tags
    saying what was audited and whether the gate refused it."""
    mlflow.log_metrics(fairness_metrics(audit, name))
    for attribute, found in audit["candidates"][name].items():
        rows = [{"group": group, **_flat(entry)} for group, entry in found["groups"].items()]
        mlflow.log_table(pd.DataFrame(rows), f"fairness/{attribute}.json")
    mlflow.set_tags(
        {
            "fairness_attributes": ",".join(audit["attributes"]) or "none present",
            "fairness_refused": audit["refused"].get(name, "no")[:5000],  # MLflow's tag limit
        }
    )


def _flat(entry: dict) -> dict:
    """{"ece": {"value": .., "ci_low": ..}} as {"ece": .., "ece_ci_low": ..}."""
    flat = {}
    for key, value in entry.items():
        if isinstance(value, dict):
            flat |= {key if k == "value" else f"{key}_{k}": v for k, v in value.items()}
        else:
            flat[key] = value
    return flat


def log_candidate_runs(
    ev: Evaluation, models: dict, run_ids: dict, holdout, report: dict, card: str, seed: int
) -> None:
    """Add the evaluation to every candidate's training run. ``holdout``: (X, y, scores)."""
    X, y, scores = holdout
    for name, model in models.items():
        with mlflow.start_run(run_id=run_ids[name]):
            tables = curve_tables(ev, y, scores, name, label=name)
            log_evaluation(ev, name, report, tables, model, X, seed)
            mlflow.log_text(card, "model_card.md")
            mlflow.set_tags(
                {"verdict": report["verdict"]["message"], "served": name == ev.champion}
            )
