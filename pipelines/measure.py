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

from rich.console import Console
from rich.table import Table

from models import tracking
from models.measurement import (
    customer_outcomes,
    measure,
    summary_frame,
    window_status,
)
from pipelines.campaign_inputs import (
    campaign_window,
    export_folder,
    measure_rules,
    population,
    read_contacted,
)
from pipelines.config import Params, load_params
from pipelines.exits import EXIT_TOO_EARLY, ScoringError
from pipelines.io import write_json
from reporting.measurement import measurement_page

POPULATION = "Consenting customers of the export (who a campaign could reach), in the group drawn"
METHOD = (
    "Differences of means: Newcombe's hybrid score interval for rates, Welch's t interval for "
    "means; relative lifts by the delta method on the log ratio. Revenue per customer is "
    "heavy-tailed: its interval is approximate where a group has few buyers. Incremental revenue "
    "= revenue lift per customer x target customers; ROI = (incremental revenue - cost) / cost, "
    "on revenue. Effect on contacted customers = intent-to-treat effect / contact rate."
)


def measure_export(params: Params, folder: Path, until=None, contacted=None, events_dir=None):
    """The measurement document of the export in ``folder`` up to the day ``until``."""
    manifest = json.loads((folder / "manifest.json").read_text())
    window = campaign_window(params, folder, until, events_dir)
    days, settings, events = window.days, measure_rules(params), window.events
    doc = {
        "as_of": folder.name,
        "until": window.until,
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
