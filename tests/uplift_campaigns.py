"""Simulated campaigns to learn uplift from, shared by `tests/test_uplift.py` and
`scripts/bench_uplift.py`: an export-like frame, a fresh 10% control split stratified by segment
and one draw of each customer's purchases (no event files: `synthetic.campaign.draw_outcomes`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.control import assign_groups
from models.uplift import design_categories, uplift_design
from synthetic.campaign import (
    CampaignSpec,
    campaign_truth,
    contacted,
    draw_outcomes,
    example_export,
)


def simulated(n: int, spec: CampaignSpec, seed: int):
    """The consenting customers' design matrix, whether each is in the target group, whether they
    bought in the window, and the injected truth (`synthetic.campaign.campaign_truth`)."""
    rng = np.random.default_rng(seed)
    segments = example_export(n, seed)
    segments["group"] = assign_groups(segments, f"salt-{seed}", "2026-01-01", 0.1, "fresh")
    truth = campaign_truth(segments, spec, np.full(n, 60.0))
    outcomes = draw_outcomes(truth, contacted(segments, spec.reach, rng), spec.extra_orders, rng)
    reach = segments["marketing_consent"].to_numpy(bool)
    segments, truth = segments[reach].reset_index(drop=True), truth[reach].reset_index(drop=True)
    X: pd.DataFrame = uplift_design(segments, design_categories(segments))
    bought = (outcomes["orders"].to_numpy()[reach] > 0).astype(float)
    return X, (segments["group"] == "target").to_numpy(), bought, truth
