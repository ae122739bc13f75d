"""SHAP explanations from the booster itself (exact TreeSHAP via XGBoost ``pred_contribs``).

Contributions are in the booster's raw-margin space (log-odds for classifiers, log of expected
value for CLTV): per row, contributions plus the base value equal the raw margin. The calibrated
probability is a monotone function of that margin, so a positive contribution always pushes the
probability up, but contributions do not add up in probability space.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def contributions(model, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-row SHAP values (one column per feature) and the per-row base value."""
    raw = model.trees_.predict(model.dmatrix(X), pred_contribs=True)
    values = pd.DataFrame(raw[:, :-1], columns=list(model.feature_names_in_), index=X.index)
    return values, raw[:, -1]


def global_importance(values: pd.DataFrame) -> pd.DataFrame:
    """Mean |SHAP| per feature, largest first."""
    importance = values.abs().mean().sort_values(ascending=False)
    return importance.rename("mean_abs_shap").rename_axis("feature").reset_index()


def top_reasons(
    values: pd.DataFrame, raw: pd.DataFrame, render, k: int, prefix: str
) -> pd.DataFrame:
    """The k largest |SHAP| contributions per row, signed, with the raw value and a phrase.

    ``render(feature, value) -> str`` turns a feature value into plain language (the catalogue).
    Columns: ``{prefix}_reason_{i}_{phrase|feature|value|contribution}`` for i = 1..k.
    """
    contrib = values.to_numpy()
    k = min(k, contrib.shape[1])
    top = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :k]
    rows = np.arange(len(values))[:, None]
    names = np.asarray(values.columns, dtype=object)[top]
    raw_values = raw[list(values.columns)].to_numpy(dtype=object)[rows, top]
    out = {}
    for i in range(k):
        feature, value = names[:, i], raw_values[:, i]
        out[f"{prefix}_reason_{i + 1}_phrase"] = _render_all(feature, value, render)
        out[f"{prefix}_reason_{i + 1}_feature"] = feature
        out[f"{prefix}_reason_{i + 1}_value"] = [_as_text(v) for v in value]
        out[f"{prefix}_reason_{i + 1}_contribution"] = contrib[rows[:, 0], top[:, i]].round(6)
    return pd.DataFrame(out, index=values.index)


def _as_text(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"
    return str(value)


def _render_all(features: np.ndarray, values: np.ndarray, render) -> np.ndarray:
    """Render each distinct (feature, value) pair once: far fewer than rows at scale."""
    keys = pd.DataFrame({"feature": features, "value": [_as_text(v) for v in values]})
    distinct = keys.drop_duplicates()
    phrases = {
        (f, v): render(f, None if v is None else _parse(v))
        for f, v in zip(distinct["feature"], distinct["value"], strict=True)
    }
    return np.array([phrases[(f, v)] for f, v in zip(keys["feature"], keys["value"], strict=True)])


def _parse(text: str):
    try:
        return float(text)
    except ValueError:
        return text
