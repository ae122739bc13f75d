"""Simulated campaigns, measured: how often the measured intervals cover the injected effects.

Shared by the slow test in `tests/test_measurement.py` and `scripts/bench_measurement.py`. Each
seed draws an export-like frame, a fresh control split and one outcome per customer (no event
files: `synthetic.campaign.draw_outcomes`), measures it as `segments measure` would, and checks
each measured segment's purchase-rate and revenue-per-customer interval against the mean
injected effect of that segment's consenting customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.control import assign_groups
from models.measurement import MeasureRules, measure
from synthetic.campaign import (
    CampaignSpec,
    campaign_truth,
    contacted,
    draw_outcomes,
    example_export,
)

METRICS = {"purchase_rate": "uplift", "revenue_per_customer": "revenue_uplift"}


def measured_campaign(seed: int, n: int, spec: CampaignSpec, share: float = 0.1):
    """One seeded campaign: the measurement, the injected effect per contacted customer in each
    segment (and overall), and the measured customers (with whether they were contacted)."""
    export_seed, rng = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(rng)
    segments = example_export(n, int(export_seed.generate_state(1)[0]))
    segments["group"] = assign_groups(segments, f"salt-{seed}", "2026-01-01", share, "fresh")
    truth = campaign_truth(segments, spec, rng.gamma(3.0, 70.0 / 3.0, n))
    treated = contacted(segments, spec.reach, rng)
    outcomes = draw_outcomes(truth, treated, spec.extra_orders, rng)
    reach = segments["marketing_consent"].to_numpy(dtype=bool)
    frame = segments.loc[reach, ["customer_id", "segment", "group"]].assign(
        purchased=(outcomes["orders"].to_numpy()[reach] > 0).astype(float),
        orders=outcomes["orders"].to_numpy()[reach].astype(float),
        revenue=outcomes["revenue"].to_numpy()[reach],
        churned=np.nan,
        treated=treated[reach],
    )
    result = measure(frame, None, MeasureRules(), spec.days)
    injected = truth[reach].groupby("segment")[list(METRICS.values())].mean()
    injected.loc["(all)"] = truth[reach][list(METRICS.values())].mean()
    return result, injected, frame


def coverage(seeds: range, n: int, spec: CampaignSpec) -> dict:
    """Share of measured intervals covering the injected effect, per metric, over all seeds and
    segments, and over the overall row alone."""
    rows = []
    for seed in seeds:
        result, injected, _ = measured_campaign(seed, n, spec)
        injected *= spec.reach  # intent to treat: diluted by who was not reached
        parts = {"(all)": result["overall"], **result["segments"]}
        for name, part in parts.items():
            for metric, column in METRICS.items():
                if part["status"] == "measured":
                    low, high = part["metrics"][metric]["ci"]
                    truth = injected.loc[name, column]
                    rows.append(
                        {"segment": name, "metric": metric, "covered": low <= truth <= high}
                    )
    frame = pd.DataFrame(rows)
    overall = frame[frame["segment"] == "(all)"]
    return {
        "intervals": len(frame),
        "coverage": frame.groupby("metric")["covered"].mean().to_dict(),
        "coverage_overall_row": overall.groupby("metric")["covered"].mean().to_dict(),
        "coverage_per_segment": frame.groupby(["metric", "segment"])["covered"]
        .mean()
        .unstack(0)
        .round(3)
        .to_dict(),
    }
