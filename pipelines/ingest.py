"""DVC stage ``ingest``: raw source -> validated events, quarantine, customers, ingest report."""

from __future__ import annotations

import argparse
import sys

import pandas as pd
import pyarrow.parquet as pq
from rich.console import Console

from features.engine import to_arrow, with_surrogate_keys
from features.erasure import count_suppressed, drop_suppressed, without_forgotten
from features.ingest import SOURCE_FILE, SOURCE_ROW, IngestError, IngestResult, validate_events
from features.ingest_report import SufficiencyThresholds, check_reject_fraction, summarize_ingest
from features.schemas import CustomerSchema
from features.sources import (
    ONLINE_RETAIL_TIMEZONE,
    build_customers,
    map_columns,
    map_online_retail_ii,
    online_retail_customer_attributes,
)
from pipelines.config import IngestParams, Params, SourceParams, load_params
from pipelines.exits import EXIT_INPUT_REFUSED
from pipelines.files import atomic_dir
from pipelines.io import read_source, write_events_by_month, write_json, write_parquet
from pipelines.privacy import load_suppression
from pipelines.progress import progress_bar


def reference_time(ingest: IngestParams) -> pd.Timestamp:
    """Events after this instant are quarantined as future; default: now, to the second."""
    if ingest.reference_time:
        stamp = pd.Timestamp(ingest.reference_time)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return pd.Timestamp.now(tz="UTC").floor("s")


def load_attributes(source: SourceParams, raw: pd.DataFrame) -> pd.DataFrame | None:
    """Customer attributes: the built-in mapping's, or the optional customers file's."""
    if source.kind == "online_retail_ii":
        return online_retail_customer_attributes(raw)
    if source.customers_path is None:
        return None
    table = read_source(source.customers_path).drop(columns=[SOURCE_FILE, SOURCE_ROW])
    renames = {src: dst for dst, src in source.customers_column_map.items()}
    return table.rename(columns=renames)


def ingest_source(
    params: Params, step=lambda name: None
) -> tuple[IngestResult, pd.DataFrame, pd.DataFrame, dict]:
    """Read, map, validate; returns events result, customers, customer quarantine and report.

    ``step(name)`` is called when each phase starts (progress reporting)."""
    source, ingest = params.ingest.source, params.ingest
    step("reading the source")
    raw = read_source(source.path, source.format)
    step("validating the event contract")
    if source.kind == "online_retail_ii":
        mapped, timezone = map_online_retail_ii(raw), source.timezone or ONLINE_RETAIL_TIMEZONE
    else:
        mapped = map_columns(
            raw, source.column_map, source.event_type_map, source.default_event_type
        )
        timezone = source.timezone or "UTC"
    original = raw.drop(columns=[SOURCE_FILE, SOURCE_ROW])
    suppression = load_suppression(params.privacy)  # forgotten customers: dropped, only counted
    (mapped, original), suppressed = drop_suppressed(
        suppression, mapped["customer_id"], mapped, original
    )
    result = validate_events(
        mapped, original, reference_time(ingest), timezone, anonymous=ingest.anonymous
    )
    result = count_suppressed(result, suppressed)
    check_reject_fraction(result, ingest.max_reject_fraction)
    step("customers and report")
    attributes = without_forgotten(load_attributes(source, raw), suppression)
    customers, customer_quarantine = build_customers(result.events, attributes)
    customers = CustomerSchema.validate(customers)
    thresholds = SufficiencyThresholds(**ingest.sufficiency.model_dump())
    about = {"kind": source.kind, "path": str(source.path), "timezone": timezone}
    report = summarize_ingest(result, customers, customer_quarantine, thresholds, about)
    return result, customers, customer_quarantine, report


def write_outputs(result, customers, customer_quarantine, report, params: Params) -> None:
    events, customers = with_surrogate_keys(to_arrow(result.events), to_arrow(customers))
    with atomic_dir(params.paths.validated_dir) as out:
        write_events_by_month(events, out / "events")
        write_parquet(result.quarantine, out / "quarantine.parquet")
        if result.anonymous is not None:
            write_parquet(result.anonymous, out / "anonymous.parquet")
        pq.write_table(customers, out / "customers.parquet")
        write_parquet(customer_quarantine.astype("string"), out / "customers_quarantine.parquet")
    write_json(report, params.paths.ingest_report)


def print_summary(report: dict, console: Console) -> None:
    console.print(
        f"[bold]ingest[/bold]: read {report['rows_read']:,} rows -> "
        f"{report['accepted']:,} events, {report['anonymous']:,} anonymous (no customer id), "
        f"{report['quarantined']:,} quarantined, "
        f"{report['duplicates_removed']:,} duplicates removed, "
        f"{report['suppressed']:,} of forgotten customers suppressed; "
        f"{report['customers']:,} customers, {report['date_min']} .. {report['date_max']}"
    )
    for reason, count in report["quarantine_by_reason"].items():
        console.print(f"  quarantine {reason}: {count:,}")
    verdict = report["sufficiency"]
    console.print(("[green]" if verdict["sufficient"] else "[yellow]") + verdict["message"])


def main(params_path: str = "params.yaml", console: Console | None = None) -> dict:
    console = console or Console(stderr=True)
    params = load_params(params_path)
    with progress_bar(console) as bar:
        task = bar.add_task("ingest", total=4)
        started = []

        def step(name: str) -> None:
            bar.update(task, advance=1 if started else 0, description=f"ingest: {name}")
            started.append(name)

        result, customers, customer_quarantine, report = ingest_source(params, step)
        step("writing validated Parquet")
        write_outputs(result, customers, customer_quarantine, report, params)
        bar.update(task, completed=4)
    print_summary(report, console)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    try:
        main(parser.parse_args().params)
    except IngestError as error:
        Console(stderr=True).print(f"[red]ingest failed:[/red] {error}", highlight=False)
        sys.exit(EXIT_INPUT_REFUSED)
