"""How numbers read in the report: money in the shop's currency with thousands separators,
percentages as percentages, counts with separators, and never ``NaN`` or scientific notation.

A value that does not exist is shown as "not applicable" with the reason, never as a number.
"""

from __future__ import annotations

import html
import math
import textwrap

METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "normalized_gini": "normalised Gini",
    "concordance": "concordance",
    "brier": "Brier score",
    "ece": "calibration error",
    "top_decile_lift": "top-decile lift",
}


def missing(value) -> bool:
    """None, NaN or infinite: no number to show."""
    return value is None or (isinstance(value, float | int) and not math.isfinite(value))


def not_applicable(reason: str) -> str:
    """The cell of a value that does not exist, saying why (HTML)."""
    why = html.escape(reason)
    return f'<span class="na" title="{why}">not applicable</span> <small>({why})</small>'


def money(value: float, currency: str, reason: str = "no prediction") -> str:
    """``£603,000``; pennies only below 10 (``£4.07``), so small averages stay meaningful."""
    if missing(value):
        return not_applicable(reason)
    sign = "-" if value < 0 else ""
    digits = ",.2f" if abs(value) < 10 else ",.0f"
    return f"{sign}{html.escape(currency)}{abs(value):{digits}}"


def percent(share: float, reason: str = "no prediction", digits: int = 1) -> str:
    """``12.3%`` from a share of 1."""
    return not_applicable(reason) if missing(share) else f"{share:.{digits}%}"


def count(value: float) -> str:
    """``20,000``."""
    return f"{int(value):,}"


def decimal(value: float, digits: int = 3, reason: str = "not computed") -> str:
    """A metric such as an AUC: fixed decimals, never scientific notation."""
    return not_applicable(reason) if missing(value) else f"{value:,.{digits}f}"


def share(value: float) -> str:
    """A share in a list of reasons: whole percentages, ``<1%`` rather than ``0%``."""
    return "&lt;1%" if 0 < value < 0.005 else f"{value:.0%}"


def days(value: float, reason: str = "no prediction", cap: float | None = None) -> str:
    """``45 days``; ``2.3 years`` beyond two years; ``10+ years`` at the cap of predictions."""
    if missing(value):
        return not_applicable(reason)
    if cap is not None and value >= cap:
        return f"{cap / 365:.0f}+ years"
    return f"{value:,.0f} days" if value < 730 else f"{value / 365:.1f} years"


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def compact(value: float, currency: str = "") -> str:
    """Axis ticks: ``£0``, ``£250k``, ``£1.2M`` (``2.5k`` without a currency)."""
    size, sign = abs(value), "-" if value < 0 else ""
    for limit, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            text = f"{size / limit:.1f}".rstrip("0").rstrip(".")
            return f"{sign}{currency}{text}{suffix}"
    return f"{sign}{currency}{size:,.0f}"


def wrap(label: str, width: int = 14) -> str:
    """A long axis label on several lines, so neighbouring labels never run into each other."""
    return "\n".join(textwrap.wrap(str(label), width)) or str(label)
