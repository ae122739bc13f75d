"""Benchmark the synthetic shop: time `generate_shop` and the parquet write of its events.

    python scripts/bench_generate.py --customers 20000 --seed 42

Prints one JSON object: the event count, seconds and events per second for generation, the same
for writing the events to parquet with pyarrow (in a temporary directory), and the peak resident
memory of the process in MiB. About 82 events per customer: 122,000 customers give 10M events.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def time_generation(customers: int, seed: int):
    """Generate the default shop with `customers` customers; return (shop, seconds)."""
    if str(REPO) not in sys.path:  # run as a plain script from anywhere
        sys.path.insert(0, str(REPO))
    from synthetic.shop import ShopSpec, generate_shop

    started = time.perf_counter()
    shop = generate_shop(ShopSpec(n_customers=customers), seed=seed)
    return shop, time.perf_counter() - started


def time_parquet_write(events) -> tuple[float, int]:
    """Write `events` to a temporary parquet file; return (seconds, file size in bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        started = time.perf_counter()
        pq.write_table(pa.Table.from_pandas(events, preserve_index=False), path)
        seconds = time.perf_counter() - started
        return seconds, path.stat().st_size


def peak_rss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_benchmark(customers: int, seed: int) -> dict:
    """Generate, then write; report both timings and the peak memory."""
    shop, generate_seconds = time_generation(customers, seed)
    n_events = len(shop.events)
    generate_rss = peak_rss_mib()
    write_seconds, size = time_parquet_write(shop.events)
    return {
        "customers": customers,
        "seed": seed,
        "n_events": n_events,
        "seconds": round(generate_seconds, 3),
        "events_per_second": round(n_events / generate_seconds),
        "peak_rss_mib_after_generate": round(generate_rss, 1),
        "parquet_write_seconds": round(write_seconds, 3),
        "parquet_write_events_per_second": round(n_events / write_seconds),
        "parquet_mib": round(size / 2**20, 1),
        "total_seconds": round(generate_seconds + write_seconds, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(json.dumps(run_benchmark(args.customers, args.seed), indent=2))


if __name__ == "__main__":
    main()
