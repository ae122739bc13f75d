"""Benchmark: does the uplift model find the persuadables of simulated campaigns, and claim
nothing where there is nothing?

Over ``--seeds`` seeded campaigns on export-like frames (10% control, fresh split stratified by
segment; outcomes drawn per customer, `synthetic.campaign.draw_outcomes`), trains both learners
on half of each group and judges them, the "highest propensity" ranking and a random one on the
other half (`models.uplift.train_uplift`), in three scenarios:

- ``heterogeneous``: `HETEROGENEOUS_PURCHASE_EFFECTS` on 60,000 customers (sleeping dogs among
  the likeliest buyers, persuadables at mid propensity); ``heterogeneous_100k``: the same on
  100,000 (the size of the test in `tests/test_uplift.py`);
- ``default_effects``: the default effects (a few points) on 20,000 customers, the default
  shop's size;
- ``no_effect``: nothing injected, 60,000 customers: the Qini intervals should cover zero.

Per scenario and ranking: mean held-out Qini, share of seeds whose 95% interval is above zero
(for ``no_effect``: covers zero), share above the propensity ranking; which learner was kept.
Writes reports/bench_uplift.json.

    python scripts/bench_uplift.py --seeds 20
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from models.uplift import UpliftSettings, train_uplift
from synthetic.campaign import HETEROGENEOUS_PURCHASE_EFFECTS, CampaignSpec
from tests.uplift_campaigns import simulated

SCENARIOS = {
    "heterogeneous": (
        60_000,
        CampaignSpec(reach=0.9, purchase_effects=HETEROGENEOUS_PURCHASE_EFFECTS),
    ),
    "heterogeneous_100k": (
        100_000,
        CampaignSpec(reach=0.9, purchase_effects=HETEROGENEOUS_PURCHASE_EFFECTS),
    ),
    "default_effects": (20_000, CampaignSpec(reach=0.9)),
    "no_effect": (60_000, CampaignSpec(purchase_effects={})),
}


def one_campaign(n: int, spec: CampaignSpec, seed: int) -> dict:
    X, treated, bought, truth = simulated(n, spec, seed)
    learner, report, _ = train_uplift(X, treated, bought, UpliftSettings(), seed)
    injected = truth["uplift"].to_numpy()
    rows = []
    for name, part in report["rankings"].items():
        low, high = part["qini_ci"]
        rows.append(
            {
                "ranking": name,
                "qini": part["qini"],
                "above_zero": low > 0,
                "covers_zero": low <= 0 <= high,
                "above_propensity": part["qini_minus_propensity_ci"][0] > 0,
                "kept": name == report["chosen"],
            }
        )
    corr = float(np.corrcoef(learner.predict(X), injected)[0, 1]) if injected.std() else None
    return {"rows": rows, "correlation_with_injected": corr}


def scenario(n: int, spec: CampaignSpec, seeds: range) -> dict:
    runs = [one_campaign(n, spec, seed) for seed in seeds]
    frame = pd.DataFrame(
        [row | {"seed": s} for s, run in zip(seeds, runs, strict=True) for row in run["rows"]]
    )
    kept = frame[frame["kept"]].assign(ranking="kept learner")
    table = pd.concat([frame, kept]).groupby("ranking", sort=False)
    summary = table[["qini", "above_zero", "covers_zero", "above_propensity"]].mean().round(4)
    corrs = [r["correlation_with_injected"] for r in runs if r["correlation_with_injected"]]
    return {
        "customers": n,
        "per_ranking": summary.to_dict("index"),
        "learner_kept": frame[frame["kept"]]["ranking"].value_counts().to_dict(),
        "mean_correlation_kept_vs_injected": round(float(np.mean(corrs)), 3) if corrs else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("reports/bench_uplift.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    results = {
        name: scenario(n, spec, range(i * 1000, i * 1000 + args.seeds))
        for i, (name, (n, spec)) in enumerate(SCENARIOS.items())
    }
    report = {
        "seeds": args.seeds,
        "control_share": 0.1,
        "holdout_share": UpliftSettings().holdout_share,
        "confidence": 0.95,
        **results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, result in results.items():
        print(f"{name} ({result['customers']:,} customers), kept {result['learner_kept']}:")
        print(pd.DataFrame(result["per_ranking"]).T.to_string())
    print(f"-> {args.out} ({report['seconds']} s)")


if __name__ == "__main__":
    main()
