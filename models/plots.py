"""Curve data (CSV for ``dvc plots``) and figures (PNG for MLflow) for the evaluation."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

GRID = np.linspace(0, 1, 101)


def roc_table(y, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    table = {"fpr": GRID}
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y, score)
        table[name] = np.interp(GRID, fpr, tpr)
    return pd.DataFrame(table)


def pr_table(y, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    table = {"recall": GRID}
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(y, score)
        order = np.argsort(recall, kind="stable")
        table[name] = np.interp(GRID, recall[order], precision[order])
    return pd.DataFrame(table)


def gains_table(y, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Share of positives (or of value) captured by the top x% of customers by each score."""
    y = np.asarray(y, float)
    table = {"share_customers": GRID}
    for name, score in scores.items():
        captured = np.concatenate([[0], np.cumsum(y[np.argsort(-score, kind="stable")])]) / y.sum()
        positions = np.linspace(0, 1, len(captured))
        table[name] = np.interp(GRID, positions, captured)
    return pd.DataFrame(table)


def calibration_table(y, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
    which = np.minimum((probability * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "predicted": probability, "observed": np.asarray(y, float)})
    grouped = frame.groupby("bin").agg(
        mean_predicted=("predicted", "mean"),
        observed_rate=("observed", "mean"),
        count=("bin", "size"),
    )
    return grouped.reset_index()


def decile_table(actual, predicted: np.ndarray) -> pd.DataFrame:
    """Total predicted and actual value per decile of prediction (1 = highest)."""
    order = np.argsort(-predicted, kind="stable")
    rows = []
    for decile, part in enumerate(np.array_split(order, 10), start=1):
        rows.append(
            {
                "decile": decile,
                "predicted_total": float(predicted[part].sum()),
                "actual_total": float(np.asarray(actual, float)[part].sum()),
            }
        )
    return pd.DataFrame(rows)


def line_figure(table: pd.DataFrame, x: str, title: str, diagonal: bool = True):
    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    for column in table.columns.drop(x):
        axis.plot(table[x], table[column], label=column, linewidth=2 if column == "model" else 1)
    if diagonal:
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axis.set_xlabel(x)
    axis.set_title(title)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def calibration_figure(table: pd.DataFrame, title: str):
    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axis.plot(table["mean_predicted"], table["observed_rate"], marker="o")
    axis.set_xlabel("mean predicted probability")
    axis.set_ylabel("observed rate")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def decile_figure(table: pd.DataFrame, title: str):
    figure, axis = plt.subplots(figsize=(6, 4.5))
    width = 0.4
    axis.bar(table["decile"] - width / 2, table["predicted_total"], width, label="predicted")
    axis.bar(table["decile"] + width / 2, table["actual_total"], width, label="actual")
    axis.set_xlabel("decile of predicted value (1 = highest)")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    return figure


def median_calibration_figure(table: pd.DataFrame, title: str):
    """Waits: per bin of predicted median days, the share who ordered by it (0.5 = calibrated)."""
    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axis.plot(table["median_predicted_days"], table["ordered_by_prediction"], marker="o")
    axis.set_ylim(0, 1)
    axis.set_xlabel("predicted median days to the next order")
    axis.set_ylabel("share who ordered by it")
    axis.set_title(title)
    figure.tight_layout()
    return figure
