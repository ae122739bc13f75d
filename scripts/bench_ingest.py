"""Benchmark the ingest stage: validate a synthetic shop's raw events and write them by month.

    python scripts/bench_ingest.py --customers 150000 --seed 42

The default shop (deliberately bad rows and duplicates included) is generated and written to
parquet in a child process, so the peak memory reported for ingest is ingest's alone. The steps
then run as `pipelines.ingest.ingest_source` runs them: read the source, `map_columns`,
`validate_events`, and `write_events_by_month`, all in a temporary directory. Prints one JSON
object: row counts, seconds and rows per second per step, and peak resident memory in MiB.
About 82 events per customer: 150,000 customers give about 12M events.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from features.ingest import (
    SOURCE_FILE,
    SOURCE_ROW,
    AmountOutlierRule,
    ValueFormat,
    validate_events,
)
from features.sources import map_columns
from pipelines.io import write_events_by_month
from pipelines.source_files import read_source
from synthetic.shop import ShopSpec, generate_shop


def write_raw_events(customers: int, seed: int, path: Path) -> None:
    """Generate the default shop and write its raw events to `path` (runs in a child process)."""
    shop = generate_shop(ShopSpec(n_customers=customers), seed=seed)
    shop.events.to_parquet(path, index=False)


def generate_in_child(customers: int, seed: int, path: Path) -> float:
    """Write the raw events from a fresh process; return its seconds."""
    started = time.perf_counter()
    child = multiprocessing.get_context("spawn").Process(
        target=write_raw_events, args=(customers, seed, path)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"generating the shop failed (exit code {child.exitcode})")
    return time.perf_counter() - started


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size (ru_maxrss is KiB on Linux); RUSAGE_CHILDREN: the largest child."""
    return resource.getrusage(who).ru_maxrss / 1024


def timed(function, *args):
    """Call `function(*args)`; return its result and its seconds."""
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def step_summary(seconds: float, rows: int) -> dict:
    return {"seconds": round(seconds, 3), "rows_per_second": round(rows / seconds)}


def run_ingest(source: Path, out: Path, reference_time: pd.Timestamp) -> dict:
    """Time each ingest step on `source`, writing the validated events under `out`."""
    (raw, _), read_seconds = timed(read_source, source)
    mapped, map_seconds = timed(map_columns, raw, {}, {}, None)
    original = raw.drop(columns=[SOURCE_FILE, SOURCE_ROW])
    rules = ("keep", ValueFormat(), AmountOutlierRule())  # as the stage runs it by default
    result, validate_seconds = timed(
        validate_events, mapped, original, reference_time, "UTC", *rules
    )
    del raw, mapped, original  # the stage writes after these are gone, too
    _, write_seconds = timed(write_events_by_month, result.events, out / "events")
    rows, accepted = result.rows_read, len(result.events)
    return {
        "rows_read": rows,
        "accepted": accepted,
        "quarantined": len(result.quarantine),
        "duplicates_removed": result.duplicates_removed,
        "reconciles": result.reconciles,
        "steps": {
            "read_source": step_summary(read_seconds, rows),
            "map_columns": step_summary(map_seconds, rows),
            "validate_events": step_summary(validate_seconds, rows),
            "write_events_by_month": step_summary(write_seconds, accepted),
        },
    }


def run_benchmark(customers: int, seed: int) -> dict:
    """Generate the raw events, then time ingest on them; report timings and peak memory."""
    reference_time = pd.Timestamp(ShopSpec().end, tz="UTC")  # as params.yaml: the synthetic end
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "events.parquet"
        generate_seconds = generate_in_child(customers, seed, source)
        report = run_ingest(source, Path(tmp) / "validated", reference_time)
    seconds = sum(step["seconds"] for step in report["steps"].values())
    return {
        "customers": customers,
        "seed": seed,
        **report,
        "ingest_seconds": round(seconds, 3),
        "ingest_rows_per_second": round(report["rows_read"] / seconds),
        "ingest_peak_rss_mib": round(peak_rss_mib(), 1),
        "generate_seconds": round(generate_seconds, 3),
        "generate_peak_rss_mib": round(peak_rss_mib(resource.RUSAGE_CHILDREN), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(json.dumps(run_benchmark(args.customers, args.seed), indent=2))


if __name__ == "__main__":
    main()
