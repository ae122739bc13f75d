"""The segment report written with every export: one self-contained HTML page (figures inline,
no scripts, nothing fetched) built by `reporting` from the export and the evaluate stage's files.

This module only reads those files and wires parameters; what the page shows and how lives in
`reporting.sections` (in order: the business view first, the reviewer's evidence last).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from features.targets import TARGETS
from models.scoring import scoring_catalogue
from pipelines.config import Params
from pipelines.inputs import feature_rules
from reporting.campaign import power_body
from reporting.fairness import fairness_section
from reporting.page import Evidence, ReportInputs, render
from reporting.sections import SECTIONS

PLOTS = ("calibration", "deciles", "median_calibration")  # curve tables the report draws


def load_evidence(reports_dir: Path) -> list[Evidence]:
    """Each target's verdict (``evaluate/<target>.json``) and the curve tables it has."""
    found = []
    for target in TARGETS:
        path = reports_dir / "evaluate" / f"{target}.json"
        if not path.exists():
            continue
        folder = reports_dir / "evaluate" / f"{target}_plots"
        plots = {
            n: pd.read_csv(folder / f"{n}.csv") for n in PLOTS if (folder / f"{n}.csv").exists()
        }
        found.append(Evidence(target, json.loads(path.read_text()), plots))
    return found


def segment_report(
    params: Params,
    segments: pd.DataFrame,
    as_of: str,
    models: dict,
    migration: dict | None = None,
    transitions: pd.DataFrame | None = None,
    fairness: dict | None = None,
    power: pd.DataFrame | None = None,
) -> str:
    """The report's HTML for an export."""
    catalogue = scoring_catalogue(feature_rules(params, []))
    inputs = ReportInputs(
        segments=segments,
        as_of=as_of,
        models=models,
        currency=params.score.report.currency,
        actions=params.score.report.actions,
        segment_order=[rule.name for rule in params.score.segments],
        horizons=params.targets.horizons(),
        lookback_days=params.targets.churn.lookback_days or 365,
        descriptions={info.name: info.description for info in catalogue},
        context_reasons=frozenset(i.name for i in catalogue if "{value" not in i.phrase),
        evidence=load_evidence(params.paths.reports_dir),
        migration=migration,
        transitions=transitions,
        fairness=None if fairness is None else fairness_section(fairness, params.paths.reports_dir),
        measurement=None if power is None else power_body(power),
    )
    return render(inputs, SECTIONS)
