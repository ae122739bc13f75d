"""Benchmark: do the measured intervals cover the injected campaign effects as often as they say?

Over ``--seeds`` seeded campaigns on export-like frames of ``--customers`` customers (10%
control, fresh split stratified by segment; `tests/campaign_coverage.py`), measures each segment's
purchase-rate and revenue-per-customer lift and counts how often the 95% interval covers the
injected effect, with the default effects (persuadables, sleeping dogs, unmoved segments) and with
no effect at all (then the interval should cover zero). Writes reports/bench_measurement.json.

    python scripts/bench_measurement.py --seeds 100
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from synthetic.campaign import CampaignSpec
from tests.campaign_coverage import coverage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path("reports/bench_measurement.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    scenarios = {
        "injected_effects": CampaignSpec(),
        "no_effect": CampaignSpec(purchase_effects={}),
    }
    results = {
        name: coverage(range(i * args.seeds, (i + 1) * args.seeds), args.customers, spec)
        for i, (name, spec) in enumerate(scenarios.items())
    }
    report = {
        "seeds": args.seeds,
        "customers": args.customers,
        "control_share": 0.1,
        "confidence": 0.95,
        "floor": [0.90, 0.99],
        **results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, result in results.items():
        shares = ", ".join(f"{m} {v:.3f}" for m, v in result["coverage"].items())
        print(f"{name}: coverage over {result['intervals']} intervals: {shares}")
    print(f"-> {args.out} ({report['seconds']} s)")


if __name__ == "__main__":
    main()
