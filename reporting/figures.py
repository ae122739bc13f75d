"""The report's figures, drawn for reading: formatted axes (money, thousands, percentages), wrapped
labels, and each figure embedded in the page as a PNG so the file works offline."""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter  # noqa: E402

from models.plots import calibration_figure, decile_figure, median_calibration_figure  # noqa: E402
from reporting.formats import compact, count, wrap  # noqa: E402

COLOURS = ("#2b6cb0", "#2f855a")


def png(figure, alt: str) -> str:
    """The figure as an ``<img>`` with its PNG inline (closes the figure)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _readable_x(axis, currency: str | None) -> None:
    axis.xaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=2))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v, currency or "")))
    axis.spines[["top", "right"]].set_visible(False)


def segment_bars(summary: pd.DataFrame, currency: str, value_title: str) -> str:
    """Customers and predicted value (``predicted_value``) per segment, each bar labelled."""
    names = [wrap(name, 22) for name in summary["segment"]][::-1]
    figure, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(names) + 1.4), sharey=True)
    panels = (
        ("customers", "Customers", None, lambda v: count(v)),
        ("predicted_value", value_title, currency, lambda v: compact(v, currency)),
    )
    for axis, colour, (column, title, unit, label) in zip(axes, COLOURS, panels, strict=True):
        values = summary[column].to_numpy()[::-1]
        bars = axis.barh(names, values, color=colour)
        axis.bar_label(bars, labels=[label(v) for v in values], padding=3, fontsize=9)
        axis.set_title(title)
        axis.set_xlim(0, max(values.max(), 1) * 1.25)
        _readable_x(axis, unit)
    figure.tight_layout()
    return png(figure, "customers and predicted spend per segment")


def migration_heatmap(transitions: pd.DataFrame, order: list[str]) -> str:
    """From-to counts since the previous export: each row coloured by where its customers went."""
    matrix = transitions.set_index("from")
    rows = _ordered(matrix.index, [*order, "(new customer)"])
    columns = _ordered(matrix.columns, [*order, "(gone)"])
    matrix = matrix.reindex(index=rows, columns=columns).fillna(0)
    shares = matrix.div(matrix.sum(axis=1).replace(0, 1), axis=0)
    figure, axis = plt.subplots(figsize=(1.0 * len(columns) + 2.5, 0.55 * len(rows) + 2))
    axis.imshow(shares.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(matrix.to_numpy()):
        if value:
            dark = shares.iat[i, j] > 0.6
            axis.text(j, i, count(value), ha="center", va="center", fontsize=8,
                      color="white" if dark else "black")  # fmt: skip
    axis.set_xticks(range(len(columns)), [wrap(c, 12) for c in columns], fontsize=8)
    axis.set_yticks(range(len(rows)), [wrap(r, 22) for r in rows], fontsize=8)
    axis.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
    plt.setp(axis.get_xticklabels(), rotation=30, ha="left", rotation_mode="anchor")
    axis.set_xlabel("segment now")
    axis.xaxis.set_label_position("top")
    axis.set_ylabel("segment at the previous export")
    figure.tight_layout()
    return png(figure, "customers moving between segments since the previous export")


def _ordered(labels, order: list[str]) -> list[str]:
    """``labels`` in the order given, then any others (e.g. a segment since renamed) by name."""
    known = [label for label in order if label in labels]
    return known + sorted(set(labels) - set(known))


def calibration(table: pd.DataFrame, title: str) -> str:
    figure = calibration_figure(table, title)
    for axis in figure.axes:
        axis.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axis.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    figure.set_size_inches(4.6, 3.8)
    return png(figure, title)


def deciles(table: pd.DataFrame, title: str, currency: str) -> str:
    figure = decile_figure(table, title)
    for axis in figure.axes:
        axis.yaxis.set_major_locator(MaxNLocator(nbins=5))
        axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _: compact(v, currency)))
        axis.set_xticks(table["decile"])
    figure.set_size_inches(5.2, 3.8)
    return png(figure, title)


def median_calibration(table: pd.DataFrame, title: str) -> str:
    figure = median_calibration_figure(table, title)
    for axis in figure.axes:
        axis.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    figure.set_size_inches(4.6, 3.8)
    return png(figure, title)
