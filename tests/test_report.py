"""The segment report for the person who acts on it: money in the shop's currency, percentages,
"not applicable" with a reason instead of NaN, the catalogue's words for reasons, the suggested
actions, sections in order (tests/test_report_browser.py opens it in a browser)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from features.targets import TARGETS
from models.migration import migration, transition_table
from pipelines.config import load_params
from reporting.formats import compact, days, money, percent
from reporting.page import Evidence, ReportInputs, render
from reporting.sections import NO_ACTION, SECTIONS
from tests.conftest import REPO

SECTION_IDS = ["segments", "reasons", "migration", "measurement", "fairness", "quality"]
ACTIONS = {"Champions": "VIP care", "Win back": "Win-back offer"}  # Prospects: none on purpose
DESCRIPTIONS = {
    "days_since_last_order": "days since the last order",
    "orders_total": "orders so far",
}
NOT_A_NUMBER = re.compile(r"\bnan\b|\binf\b|\d[eE][+-]?\d", re.IGNORECASE)


def test_money_percentages_and_axis_ticks_read_as_written():
    assert money(603_000.4, "£") == "£603,000" and money(4.071, "£") == "£4.07"
    assert money(-1234.5, "€") == "-€1,234" and percent(0.1234) == "12.3%"
    assert compact(250_000, "£") == "£250k" and compact(1_200_000, "£") == "£1.2M"
    assert compact(2_500) == "2.5k" and compact(0, "£") == "£0"
    assert (
        days(45.2) == "45 days" and days(900) == "2.5 years" and days(3650, cap=3650) == "10+ years"
    )
    assert "not applicable" in percent(float("nan"), "never ordered") and "never ordered" in money(
        None, "£", "never ordered"
    )


def _segments(seed: int = 0, n: int = 90) -> pd.DataFrame:
    """An export by hand: three segments, prospects without a churn score or its reasons."""
    rng = np.random.default_rng(seed)
    segment = np.array(["Champions", "Prospects", "Win back"])[np.arange(n) % 3]
    prospect = segment == "Prospects"
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "segment": segment})
    for target in TARGETS.values():
        score = rng.uniform(0, 1, n) * (40_000 if target.is_value else 1)
        score = score * 400 if target.is_survival else score
        frame[target.score_column] = np.where(prospect & bool(target.population), np.nan, score)
        for i, feature in enumerate(("horizon_rescaling", "days_since_last_order", "orders_total")):
            column = f"{target.reason_prefix}_reason_{i + 1}"
            has = ~(prospect & bool(target.population))
            frame[f"{column}_feature"] = np.where(has, feature, None)
            frame[f"{column}_contribution"] = np.where(has, rng.normal(0, 1, n), np.nan)
    return frame


def _inputs(with_migration: bool = True) -> ReportInputs:
    now = _segments()
    before = _segments(seed=1).assign(segment=lambda f: np.roll(f["segment"].to_numpy(), 1))
    moved = migration(before, now)
    summary = {
        "previous_as_of": "2025-12-01",
        "segment": {k: v for k, v in moved.items() if k != "matrix"},
    }
    evidence = Evidence(
        "churn",
        {
            "headline_metric": "roc_auc",
            "champion": "xgboost",
            "scores": {
                "xgboost": {"roc_auc": {"value": 0.81, "ci_low": 0.79, "ci_high": 0.83}},
                "recency": {"roc_auc": {"value": 0.7, "ci_low": float("nan"), "ci_high": 0.72}},
            },
            "verdict": {"message": "xgboost serves", "beats_baseline": True},
        },
        {
            "calibration": pd.DataFrame(
                {"mean_predicted": [0.1, 0.5, 0.9], "observed_rate": [0.12, 0.5, 0.85]}
            )
        },
    )
    return ReportInputs(
        segments=now,
        as_of="2026-01-01",
        models={"churn": {"name": "segments-churn", "version": "3", "scorer": "xgboost"}},
        currency="£",
        actions=ACTIONS,
        segment_order=["Champions", "Win back", "Prospects"],
        horizons={"churn": 90, "propensity": 30, "cltv": 365, "next_order": 90},
        descriptions=DESCRIPTIONS,
        context_reasons=frozenset({"horizon_rescaling"}),
        evidence=[evidence],
        migration=summary if with_migration else None,
        transitions=transition_table(moved) if with_migration else None,
    )


def _visible(page: str) -> str:
    """The text a reader sees: no tags, no inline images, no style sheet."""
    page = re.sub(r"<style>.*?</style>|data:image/png;base64,[A-Za-z0-9+/=]+", "", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def test_the_business_view_leads_and_reads_without_nan_or_scientific_notation():
    page = render(_inputs(), SECTIONS)
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert ids == SECTION_IDS
    text = _visible(page)
    assert NOT_A_NUMBER.findall(text) == []
    assert re.search(r"£\d{1,3},\d{3},\d{3}", text)  # a segment's predicted spend, in pounds
    assert re.search(r"\d+\.\d%", text)  # shares and rates as percentages
    assert "churn is predicted only for customers with an order in the last 365 days" in text
    assert NO_ACTION in text and "VIP care" in text  # Prospects have no action set: it says so
    assert "days since the last order" in text and "days_since_last_order" not in text
    reasons = _visible(re.search(r'<section id="reasons">.*?</section>', page, re.S).group())
    assert "horizon rescaling raises" not in reasons  # about the model, not the customer
    assert text.index("Champions") < text.index("Win back") < text.index("Prospects")  # rule order


def test_before_any_earlier_export_the_migration_and_measurement_sections_say_why_they_are_empty():
    text = _visible(render(_inputs(with_migration=False), SECTIONS))
    assert "No earlier export to compare with" in text
    assert "Not measured yet" in text and "Not audited yet" in text


def test_actions_must_name_segments(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["score"]["report"]["actions"]["Champoins"] = "typo"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ValidationError, match="Champoins"):
        load_params(path)
    assert set(load_params(REPO / "params.yaml").score.report.actions) == {
        rule.name for rule in load_params(REPO / "params.yaml").score.segments
    }  # every default segment has a suggested action
