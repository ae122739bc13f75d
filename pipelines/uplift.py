"""``segments uplift``: learn who the campaign on an export persuaded, from its target and control
groups and the validated events after its as-of (`models.uplift`), and save the model for the
next export.

Writes ``exports/<as_of>/uplift/``: ``model/`` (boosters as XGBoost JSON and ``settings.json``),
``report.json`` (each ranking's held-out Qini with intervals, uplift at k), ``qini.csv`` and
``qini.png``; logs an MLflow run nested under the export's scoring run. Refuses, with its own
exit code, to learn too early or from a control group too small to measure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console

from features.targets import TARGETS
from models import tracking
from models.control import TARGET
from models.measurement import customer_outcomes, window_status
from models.plots import line_figure
from models.uplift import (
    CATEGORICAL,
    UpliftSettings,
    design_categories,
    train_uplift,
    uplift_design,
)
from pipelines.campaign_inputs import (
    campaign_window,
    export_folder,
    measure_rules,
    population,
    read_contacted,
)
from pipelines.config import Params
from pipelines.exits import EXIT_NOT_MEASURABLE, EXIT_TOO_EARLY, ScoringError
from pipelines.files import atomic_dir
from pipelines.io import write_json
from pipelines.uplift_model import save_uplift

DESIGN = (*CATEGORICAL, *(t.score_column for t in TARGETS.values()))
ITT = "change in the probability of buying in the window from being in the target group"
PER_CONTACT = "change in the probability of buying in the window from being contacted"


def settings(params: Params) -> UpliftSettings:
    return UpliftSettings(
        holdout_share=params.uplift.holdout_share,
        n_bootstrap=params.uplift.n_bootstrap,
        confidence=params.campaign.confidence,
        ks=params.uplift.ks,
        learner=params.uplift.learner.model_dump(),
    )


def campaign(params: Params, folder: Path, until, events_dir) -> tuple[pd.DataFrame, dict]:
    """The consenting customers of the export with their outcome in the window, and the window."""
    window = campaign_window(params, folder, until, events_dir)
    checks = measure_rules(params)
    reason = window_status(window.days, len(window.events), checks)
    if reason:
        raise ScoringError(
            EXIT_TOO_EARLY,
            f"too early to learn from the campaign on the export of {folder.name}: {reason}",
            "learn once events after the export are ingested (or pass a later --until)",
        )
    frame = customer_outcomes(population(folder, DESIGN), window.events)
    control = int((frame["group"] != TARGET).sum())
    if control < checks.min_group_customers:
        raise ScoringError(
            EXIT_NOT_MEASURABLE,
            f"{control} consenting control customers in the export of {folder.name}, fewer "
            f"than campaign.min_group_customers={checks.min_group_customers}",
            "learn from a campaign with a larger control group (score.control.share)",
        )
    return frame.reset_index(drop=True), {"until": window.until, "window_days": window.days}


def contact_scale(frame: pd.DataFrame, contacted: set | None) -> tuple[float, dict]:
    """1 / the target group's contact rate (the uplift per contacted customer, Bloom), or 1
    without a list of who was contacted (the uplift of being in the target group)."""
    if contacted is None:
        return 1.0, {"unit": ITT}
    hit = frame["customer_id"].isin(contacted).to_numpy()
    target = (frame["group"] == TARGET).to_numpy()
    rate = float((hit & target).sum() / target.sum())
    if rate == 0:
        raise ScoringError(
            EXIT_NOT_MEASURABLE,
            "no target customer of the export is in the --contacted file",
            "pass the list of customers the campaign on this export reached",
        )
    about = {"unit": PER_CONTACT, "contact_rate": rate}
    return 1 / rate, about | {"contacted_control": int((hit & ~target).sum())}


def write(folder: Path, report: dict, curves: pd.DataFrame) -> None:
    write_json(report, folder / "report.json")
    curves.round(6).to_csv(folder / "qini.csv", index=False, lineterminator="\n")
    title = f"Held-out Qini: campaign on {report['as_of']} (y: incremental buyers per customer)"
    line_figure(curves, "share_targeted", title, diagonal=False).savefig(folder / "qini.png")


def log(params: Params, report: dict, scale: float, folder: Path) -> None:
    tracking.configure(params.mlflow.tracking_uri)
    logged = {k: report[k] for k in ("as_of", "until", "chosen")}
    logged |= {"seed": params.seed, "scale": round(scale, 6), "unit": report["unit"]}
    logged |= params.uplift.model_dump(exclude={"learner", "ks"})
    logged |= params.uplift.learner.model_dump()
    tracking.log_uplift_run(params.mlflow.artifact_root, report, logged, folder)


def run(params: Params, as_of=None, until=None, contacted=None, events_dir=None):
    """``segments uplift``: learn, judge, save beside the export, log."""
    folder = export_folder(params.score.exports_dir, as_of)
    frame, window = campaign(params, folder, until, events_dir)
    scale, unit = contact_scale(frame, read_contacted(contacted))
    categories = design_categories(frame)
    X, treated = uplift_design(frame, categories), (frame["group"] == TARGET).to_numpy()
    learner, judged, curves = train_uplift(
        X, treated, frame["purchased"].to_numpy(), settings(params), params.seed
    )
    chosen = judged["rankings"][judged["chosen"]]
    report = {"as_of": folder.name, **window, **unit, **judged}
    report["beats_random"] = bool(chosen["qini_ci"][0] > 0)
    report["beats_propensity"] = bool(chosen["qini_minus_propensity_ci"][0] > 0)
    holdout = {"qini": chosen["qini"], "qini_ci": chosen["qini_ci"]}
    about = {k: report[k] for k in ("as_of", "until", "window_days", "unit", "beats_random")}
    about |= {"categories": categories, "scale": scale, "holdout": holdout}
    with atomic_dir(folder / "uplift") as staging:  # a reader sees the old folder or the new
        save_uplift(learner, about, staging)
        write(staging, report, curves)
    log(params, report, scale, folder / "uplift")
    return folder / "uplift", report


def show(folder: Path, report: dict) -> None:
    """Print the summary on stdout and where the model went on stderr."""
    for line in summary_lines(report):
        Console(width=160).print(line, highlight=False)
    done = f"[bold]uplift[/bold]: {report['chosen']} -> {folder / 'model'}"
    Console(stderr=True).print(done, highlight=False)


def summary_lines(report: dict) -> list[str]:
    """One line per ranking: held-out Qini [interval], and minus the propensity ranking's."""
    lines = []
    for name, part in report["rankings"].items():
        (low, high), (d_low, d_high) = part["qini_ci"], part["qini_minus_propensity_ci"]
        mark = "  <- kept" if name == report["chosen"] else ""
        lines.append(
            f"{name:>12}: Qini {part['qini']:+.4f} [{low:+.4f}, {high:+.4f}]; minus propensity "
            f"{part['qini_minus_propensity']:+.4f} [{d_low:+.4f}, {d_high:+.4f}]{mark}"
        )
    lines.append(f"uplift: {report['unit']} ({report['window_days']} days)")
    if not report["beats_random"]:
        lines.append(
            "the kept learner's held-out Qini interval does not clear zero: `segments score` "
            "leaves uplift empty with this model (a larger control group is needed)"
        )
    return lines
