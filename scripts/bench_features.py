"""Benchmark one point-in-time feature snapshot: Ibis on DuckDB versus the pandas reference.

    python scripts/bench_features.py --events 2e6 2e7 [--repeats 5] [--skip-pandas-above 5e7]

For each size, a synthetic shop with about that many clean events (generated in shards of at most
100,000 customers, each with its own seed and id prefix, so memory stays bounded) is finalised
with the contract (`finalize_events`) and written as validated, hive-partitioned Parquet plus
`customers.parquet` in a temporary folder; that preparation is timed separately. Then each engine
computes the full feature table for one cutoff in a fresh subprocess, reading from that Parquet:

- duckdb: `connect_duckdb`, `load_tables`, `compute_features(...)`, as the features stage;
- pandas: `pd.read_parquet` of the events and customers, then `reference_feature_table`.

The cutoff is the end of the synthetic window, so every event is history (the slowest snapshot).
Each subprocess reports its wall time (connection or read included, imports excluded), its CPU
time over all threads (a check when other jobs share the machine) and its peak resident memory
(VmHWM, the high-water mark of its own address space). DuckDB runs `--repeats` times, each in a
fresh process, and the median run is reported with the range of all runs (the same work varies by
about 15% on a shared 2-vCPU machine); pandas runs once. A table is printed and the results are
written to `reports/bench_features.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVENTS_PER_CUSTOMER = 81.45  # measured on the default shop
SHARD_CUSTOMERS = 100_000
AS_OF = "2026-01-01T00:00:00+00:00"  # ShopSpec().end: every event is before it


def _import_repo() -> None:
    if str(REPO) not in sys.path:  # run as a plain script from anywhere
        sys.path.insert(0, str(REPO))


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (VmHWM; ru_maxrss where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- data preparation (not part of the engine timings) -------------------------------------------


def shard_sizes(n_events: float) -> list[int]:
    """Customers per shard for about `n_events` events, in near-equal shards."""
    customers = max(1, round(n_events / EVENTS_PER_CUSTOMER))
    shards = math.ceil(customers / SHARD_CUSTOMERS)
    return [customers // shards + (i < customers % shards) for i in range(shards)]


def _prefixed(table, prefix: str, columns: tuple[str, ...]):
    import pyarrow.compute as pc

    for name in columns:
        i = table.schema.get_field_index(name)
        column = table[name].cast("string")  # Arrow-backed pandas strings arrive as large_string
        table = table.set_column(i, name, pc.binary_join_element_wise(prefix, column, ""))
    return table


def write_validated_shop(n_events: float, seed: int, folder: Path) -> int:
    """Generate clean shards, validate them with the contract and write the validated layout.

    Each shard is staged by month; then each month's shards are merged into one file, so the
    layout (one file per month, rows in `EVENT_ORDER`, 128 Ki-row groups) is the one ingest
    writes, while memory stays bounded by a shard or a month.
    """
    _import_repo()
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from features.engine import to_arrow, with_surrogate_keys
    from features.ingest import finalize_events
    from pipelines.io import write_events_by_month
    from synthetic.shop import ShopSpec, generate_shop

    stage, n_written, customer_tables = folder / "stage", 0, []
    for shard, customers in enumerate(shard_sizes(n_events)):
        spec = ShopSpec(n_customers=customers, dirty_fraction=0.0, duplicate_fraction=0.0)
        shop = generate_shop(spec, seed=seed + shard)
        events = to_arrow(finalize_events(shop.events))
        prefix = f"S{shard:03d}"  # shards sort in order, so keys numbered shard after shard
        events, customers = with_surrogate_keys(  # are the ranks of the ids, as ingest writes them
            _prefixed(events, prefix, ("customer_id", "order_id")),
            _prefixed(to_arrow(shop.customers), prefix, ("customer_id",)),
            first_key=sum(t.num_rows for t in customer_tables),
        )
        write_events_by_month(events, stage, basename_template=f"part-{shard}-{{i}}.parquet")
        customer_tables.append(customers)
        n_written += events.num_rows
        del shop, events
    for month in sorted(stage.iterdir()):
        shards = [pq.read_table(f) for f in sorted(month.glob("*.parquet"))]
        write_events_by_month(pa.concat_tables(shards), folder / "events")
    shutil.rmtree(stage)
    pq.write_table(pa.concat_tables(customer_tables), folder / "customers.parquet")
    return n_written


# --- one engine, one snapshot (runs in a fresh subprocess) ---------------------------------------


def run_duckdb(folder: Path, as_of) -> int:
    from features.definitions import FeatureRules
    from features.engine import compute_features, connect_duckdb, load_tables

    con = connect_duckdb()
    events, customers = load_tables(con, folder)
    return len(compute_features(con, events, customers, as_of, FeatureRules()))


def run_pandas(folder: Path, as_of) -> int:
    import pandas as pd

    from features.definitions import FeatureRules
    from tests.reference_pandas import reference_feature_table

    events = pd.read_parquet(folder / "events").drop(columns="event_month")
    customers = pd.read_parquet(folder / "customers.parquet")
    return len(reference_feature_table(events, customers, as_of, FeatureRules()))


def worker(engine: str, folder: Path) -> None:
    """Time one snapshot with one engine and print a JSON line for the parent."""
    _import_repo()
    import ibis.backends.duckdb  # noqa: F401  (imports are not timed; Ibis imports its backend
    import pandas as pd  # on the first connect, so that import is done here)

    import features.definitions  # noqa: F401
    import features.engine  # noqa: F401
    import tests.reference_pandas  # noqa: F401

    run = {"duckdb": run_duckdb, "pandas": run_pandas}[engine]
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    rows = run(folder, pd.Timestamp(AS_OF))
    seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu_started
    timing = {"seconds": seconds, "cpu_seconds": round(cpu_seconds, 3), "rows": rows}
    print(json.dumps({**timing, "peak_rss_mib": peak_rss_mib()}))


def _cpu_seconds() -> float:
    """User and system CPU time of this process, all threads (other jobs do not inflate it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(engine: str, folder: Path, repeats: int = 1) -> dict:
    """Run the worker `repeats` times (each a fresh process); report the median run.

    Every run's wall time is kept: on a shared 2-vCPU machine the same work varies by +-15%.
    """
    runs = []
    for _ in range(repeats):
        command = [sys.executable, __file__, "--worker", engine, "--data", str(folder)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    median = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
    seconds = [round(r["seconds"], 3) for r in runs]
    return {**median, "runs": len(runs), "all_seconds": seconds}


# --- orchestration --------------------------------------------------------------------------------


def bench_size(n_events: float, seed: int, skip_pandas_above: float, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        n_written = write_validated_shop(n_events, seed, folder)
        result = {
            "events": n_written,
            "prepare_seconds": round(time.perf_counter() - started, 1),
            "as_of": AS_OF,
        }
        for engine in ("duckdb", "pandas"):
            if engine == "pandas" and n_written > skip_pandas_above:
                result[engine] = {"skipped": f"more than {skip_pandas_above:.0f} events"}
                continue
            timing = measure(engine, folder, repeats if engine == "duckdb" else 1)
            if "seconds" in timing:
                timing["events_per_second"] = round(n_written / timing["seconds"])
                timing["events_per_second_range"] = [
                    round(n_written / max(timing["all_seconds"])),
                    round(n_written / min(timing["all_seconds"])),
                ]
                timing["seconds"] = round(timing["seconds"], 3)
                timing["peak_rss_mib"] = round(timing["peak_rss_mib"], 1)
            result[engine] = timing
        return result


def print_table(results: list[dict]) -> None:
    header = f"{'events':>12} {'engine':>7} {'seconds':>9} {'events/s':>12} {'peak MiB':>9}"
    print(f"{header}  events/s of every run (slowest, fastest)")
    for res in results:
        for engine in ("duckdb", "pandas"):
            t = res[engine]
            if "seconds" in t:
                low, high = t["events_per_second_range"]
                row = (
                    f"{t['seconds']:>9.2f} {t['events_per_second']:>12,} {t['peak_rss_mib']:>9.0f}"
                    f"  {t['runs']} run(s): {low:,} .. {high:,}"
                )
            else:
                row = t.get("skipped") or t.get("error")
            print(f"{res['events']:>12,} {engine:>7} {row}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, nargs="+", default=[2e6, 2e7])
    parser.add_argument("--skip-pandas-above", type=float, default=5e7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--repeats", type=int, default=5, help="DuckDB runs per size; the median is reported"
    )
    parser.add_argument("--output", type=Path, default=REPO / "reports" / "bench_features.json")
    parser.add_argument("--worker", choices=("duckdb", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data)
        return
    results = [bench_size(n, args.seed, args.skip_pandas_above, args.repeats) for n in args.events]
    print_table(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"seed": args.seed, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
