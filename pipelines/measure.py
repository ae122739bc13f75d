"""Stage ``measure`` and ``segments measure``: what the campaign on an export added, from the
validated events after its as-of, target group against control group (`models.measurement`).

The command writes ``exports/<as_of>/measurement/<until>.json`` and ``.html`` and refuses, with
its own exit code, to measure too early. The stage measures the latest export up to
``campaign.until`` (default: the last event) into ``reports/measurement.json``; on data with
nothing after the export yet it records "too early" and succeeds, so ``dvc repro`` runs through.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from features.targets import NO_ORDER
from models import tracking
from models.control import outcome_targets
from models.measurement import (
    MeasureRules,
    customer_outcomes,
    measure,
    summary_frame,
    window_status,
)
from pipelines.config import Params, load_params
from pipelines.exits import EXIT_NOT_FOUND, EXIT_NOT_MEASURABLE, EXIT_TOO_EARLY, ScoringError
from pipelines.io import last_event_time, read_events_between, write_json
from reporting.measurement import measurement_page

EVENT_COLUMNS = ["customer_id", "event_time", "event_type", "order_id", "amount"]
POPULATION = "Consenting customers of the export (who a campaign could reach), in the group drawn"
METHOD = (
    "Differences of means: Newcombe's hybrid score interval for rates, Welch's t interval for "
    "means; relative lifts by the delta method on the log ratio. Revenue per customer is "
    "heavy-tailed: its interval is approximate where a group has few buyers. Incremental revenue "
    "= revenue lift per customer x target customers; ROI = (incremental revenue - cost) / cost, "
    "on revenue. Effect on contacted customers = intent-to-treat effect / contact rate."
)


def rules(params: Params) -> MeasureRules:
    churn = outcome_targets()[NO_ORDER].name
    return MeasureRules(
        confidence=params.campaign.confidence,
        min_days=params.campaign.min_days,
        min_group_customers=params.campaign.min_group_customers,
        churn_horizon_days=params.targets.horizons()[churn],
        cost_per_contact=params.campaign.cost_per_contact,
    )


def export_folder(exports_dir: Path, as_of: str | None) -> Path:
    folder = Path(exports_dir) / (as_of or "latest")
    if not (folder / "manifest.json").exists():
        raise ScoringError(
            EXIT_NOT_FOUND, f"no export at {folder}", "run `segments score`, or check --export"
        )
    return folder.resolve()


def population(folder: Path) -> pd.DataFrame:
    """The customers a campaign could reach (consenting), with segment, group and whether the
    churn model covers them."""
    churn = outcome_targets()[NO_ORDER].score_column
    segments = pd.read_parquet(folder / "segments.parquet")
    if "group" not in segments:
        raise ScoringError(
            EXIT_NOT_MEASURABLE,
            f"{folder / 'segments.parquet'}: no `group` column (an export made before control "
            "groups), so there is no control group to compare with",
            "measure an export made by this version of `segments score`",
        )
    reach = segments[segments["marketing_consent"].fillna(False).astype(bool)]
    return reach[["customer_id", "segment", "group"]].assign(
        churn_eligible=reach[churn].notna().to_numpy()
    )


def read_contacted(path: Path | None) -> set | None:
    if path is None:
        return None
    try:
        return set(pd.read_csv(path, dtype=str, usecols=["customer_id"])["customer_id"])
    except (OSError, ValueError) as error:
        raise ScoringError(
            EXIT_NOT_MEASURABLE,
            f"{path}: cannot read a `customer_id` column of contacted customers ({error})",
            "pass a CSV with a customer_id column, like the activation files",
        ) from error


def measure_export(params: Params, folder: Path, until=None, contacted=None, events_dir=None):
    """The measurement document of the export in ``folder`` up to the day ``until``."""
    events_dir = Path(events_dir or params.paths.validated_dir) / "events"
    manifest = json.loads((folder / "manifest.json").read_text())
    start, last = pd.Timestamp(folder.name, tz="UTC"), last_event_time(events_dir)
    until = until or params.campaign.until or f"{last if last is not None else start:%Y-%m-%d}"
    end = pd.Timestamp(until, tz="UTC") + pd.Timedelta(days=1)
    days, settings = (end - start).days, rules(params)
    events = read_events_between(events_dir, start, max(end, start), EVENT_COLUMNS)
    doc = {
        "as_of": folder.name,
        "until": until,
        "window_days": days,
        "events_read": len(events),
        "confidence": settings.confidence,
        "control": {k: manifest.get("control", {}).get(k) for k in ("share", "mode")},
        "export_segments_sha256": manifest["files"].get("segments.parquet"),
    }
    reason = window_status(days, len(events), settings)
    if reason:
        return doc | {"status": "too early", "note": reason}
    outcomes = customer_outcomes(population(folder), events)
    found = read_contacted(contacted)
    analysis = "intent to treat" + ("; effect on contacted customers" if found else "")
    doc |= {"status": "measured", "analysis": analysis, "population": POPULATION}
    return doc | {"method": METHOD} | measure(outcomes, found, settings, days)


def write(result: dict, json_path: Path) -> list[Path]:
    page = json_path.with_suffix(".html")
    write_json(result, json_path)
    page.write_text(measurement_page(result))
    return [json_path, page]


def log(params: Params, result: dict, files: list[Path]) -> None:
    tracking.configure(params.mlflow.tracking_uri)
    tracking.log_measurement_run(params.mlflow.artifact_root, result, files)


def run(params: Params, as_of=None, until=None, contacted=None, events_dir=None):
    """``segments measure``: measure, write beside the export, log; too early is a refusal."""
    folder = export_folder(params.score.exports_dir, as_of)
    result = measure_export(params, folder, until, contacted, events_dir)
    if result["status"] == "too early":
        raise ScoringError(
            EXIT_TOO_EARLY,
            f"too early to measure the export of {result['as_of']}: {result['note']}",
            "measure once events after the export are ingested (or pass a later --until)",
        )
    files = write(result, folder / "measurement" / f"{result['until']}.json")
    log(params, result, files)
    return files[0], result


def summary_table(result: dict) -> Table:
    frame = summary_frame(result)
    table = Table(title=f"Campaign on the export of {result['as_of']} until {result['until']}")
    for column in frame.columns:
        table.add_column(column)
    for row in frame.astype(str).itertuples(index=False):
        table.add_row(*row)
    return table


def main(params_path: str = "params.yaml") -> dict:
    """The stage: the latest export up to ``campaign.until``, into ``reports/measurement.json``."""
    params = load_params(params_path)
    target = params.paths.reports_dir / "measurement.json"
    try:
        result = measure_export(params, export_folder(params.score.exports_dir, None))
    except ScoringError as error:
        result = {"status": "not measured", "note": error.cause, "hint": error.hint}
    files = write(result, target)
    if "as_of" in result:
        log(params, result, files)
    Console(stderr=True).print(
        f"[bold]measure[/bold]: {result['status']}"
        + (f" ({result['note']})" if "note" in result else "")
    )
    return result


if __name__ == "__main__":
    main()
