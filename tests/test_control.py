"""Control groups and power (`models.control`) on small frames: deterministic, exactly stratified
per segment, a persistent group that follows the customer across exports, activation lists that
never hold a control customer, and an MDE that gives the power it promises."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from models.activation import activation_lists
from models.control import (
    CONTROL,
    TARGET,
    assign_groups,
    derive_salt,
    group_counts,
    minimum_detectable_effect,
    power_table,
    rate_mde,
)
from synthetic.campaign import example_export

HORIZONS = {"churn": 90, "propensity": 30, "cltv": 365, "next_order": 90}


@pytest.fixture(scope="module")
def export() -> pd.DataFrame:
    frame = example_export(3000, seed=3)
    return frame.assign(
        churn_tier="low",
        propensity_tier="low",
        value_level="LOW",
        expected_next_order_date="2026-01-05",
        uplift_tier="n/a",
        marketing_consent=True,
    )


def test_fresh_groups_are_deterministic_and_exactly_stratified_by_segment(export):
    groups = assign_groups(export, "salt", "2026-01-01", 0.1, "fresh")
    assert groups.equals(assign_groups(export, "salt", "2026-01-01", 0.1, "fresh"))
    sizes = export["segment"].value_counts()
    controls = export.loc[groups == CONTROL, "segment"].value_counts()
    assert controls.reindex(sizes.index).tolist() == np.round(0.1 * sizes).astype(int).tolist()
    # a new export (or salt) draws anew; the same rows in another order keep their groups
    assert (groups != assign_groups(export, "salt", "2026-02-01", 0.1, "fresh")).any()
    assert (groups != assign_groups(export, "other", "2026-01-01", 0.1, "fresh")).any()
    shuffled = export.sample(frac=1.0, random_state=0)
    again = assign_groups(shuffled, "salt", "2026-01-01", 0.1, "fresh")
    assert again.reindex(groups.index).equals(groups)


def test_persistent_group_follows_the_customer_across_exports_and_segments(export):
    first = assign_groups(export, "salt", "2026-01-01", 0.1, "persistent")
    moved = export.assign(segment=np.roll(export["segment"].to_numpy(), 7))
    later = assign_groups(moved.iloc[::2], "salt", "2026-03-01", 0.1, "persistent")
    assert later.equals(first.iloc[::2])
    share = (first == CONTROL).mean()
    assert abs(share - 0.1) < 3 * np.sqrt(0.1 * 0.9 / len(export))
    renewed = assign_groups(export, "new salt", "2026-03-01", 0.1, "persistent")
    assert (renewed != first).any()
    assert derive_salt("s", "control-group") != derive_salt("s", "other") != "s"


def test_activation_lists_never_hold_a_control_customer(export):
    segments = export.assign(group=assign_groups(export, "salt", "2026-01-01", 0.2, "fresh"))
    segments.loc[segments.index[::5], "marketing_consent"] = False
    lists, _ = activation_lists(segments)
    listed = pd.concat(lists.values())["customer_id"]
    held_out = set(segments.loc[segments["group"] == CONTROL, "customer_id"])
    assert listed.is_unique and not set(listed) & held_out
    reachable = segments["marketing_consent"] & (segments["group"] == TARGET)
    assert set(listed) == set(segments.loc[reachable, "customer_id"])
    counts = group_counts(segments)
    assert sum(c[TARGET] + c[CONTROL] for c in counts.values()) == len(segments)


def test_mde_matches_the_closed_form_and_gives_80_percent_power():
    # a mean with sd 1 and 1,000 per group: (1.95996 + 0.84162) * sqrt(2 / 1000)
    assert minimum_detectable_effect(1.0, 1000, 1000) == pytest.approx(0.125291, abs=1e-6)
    assert minimum_detectable_effect(1.0, 1000, 0) == float("inf")
    # a 10% purchase rate: the rise whose own spread makes it detectable, a fixed point
    mde = rate_mde(0.1, 1000, 1000)
    spread = np.sqrt(0.1 * 0.9 / 1000 + (0.1 + mde) * (0.9 - mde) / 1000)
    assert mde == pytest.approx(2.801585 * spread, rel=1e-6)
    assert minimum_detectable_effect(np.sqrt(0.09), 1000, 1000) < mde < 0.045
    rng = np.random.default_rng(0)
    trials = 4000
    control = rng.binomial(1000, 0.1, trials) / 1000
    treated = rng.binomial(1000, 0.1 + mde, trials) / 1000
    se = np.sqrt(control * (1 - control) / 1000 + treated * (1 - treated) / 1000)
    power = np.mean(np.abs(treated - control) / se > NormalDist().inv_cdf(0.975))
    assert power == pytest.approx(0.80, abs=0.03)


def test_power_table_flags_segments_too_small_to_measure(export):
    segments = export.assign(group=assign_groups(export, "salt", "2026-01-01", 0.1, "fresh"))
    table = power_table(segments, HORIZONS, max_relative_mde=0.5, order_value_cv=1.0)
    overall = table.set_index("segment").loc["(all)"]
    assert overall["target"] + overall["control"] == len(segments)
    assert table["horizon_days"].eq(30).all()
    rows = table.set_index("segment")
    small, large = rows["control"].idxmin(), rows.drop("(all)")["control"].idxmax()
    assert rows.loc[small, "mde_purchase_rate"] > rows.loc[large, "mde_purchase_rate"]
    assert rows["measurable"].tolist() == (rows["mde_purchase_rate_relative"] <= 0.5).tolist()
    assert not rows["measurable"].all() and rows["measurable"].any()


def test_an_assembled_export_holds_groups_power_and_no_control_customer_in_activation(
    export, tmp_path, monkeypatch
):
    from features.targets import TARGETS, activation_columns, tier_columns
    from pipelines import export_contents
    from pipelines.config import load_params
    from tests.conftest import REPO

    monkeypatch.setenv("SEGMENTS_CONTROL_SALT", "a salt for this test")
    monkeypatch.setattr(export_contents, "provenance", lambda params, champions: {"models": {}})
    params = load_params(REPO / "params.yaml")
    paths = params.paths.model_copy(update={"validated_dir": tmp_path, "reports_dir": tmp_path})
    score = params.score.model_copy(update={"exports_dir": tmp_path / "exports"})
    params = params.model_copy(update={"paths": paths, "score": score})
    consent = np.arange(len(export)) % 3 > 0
    customers = pd.DataFrame({"customer_id": export["customer_id"], "marketing_consent": consent})
    customers.to_parquet(tmp_path / "customers.parquet")
    segments = export.drop(columns="marketing_consent").assign(
        **dict.fromkeys([*tier_columns(), "rfm_group", "lifecycle"], "x"),
        **{f"{t}_reason_1_{part}": "f" for t in TARGETS for part in ("feature", "phrase")},
        **{f"{t}_reason_1_contribution": 0.1 for t in TARGETS},
        next_order_days=30.0,
    )
    drift = {"over_limit": [], "allowed": True}
    tables, documents, body, _ = export_contents.assemble(params, segments, drift, {}, "2026-01-01")
    segments = tables["segments.parquet"]
    activated = pd.concat(f for name, f in tables.items() if name.startswith("activation/"))
    held_out = set(segments.loc[segments["group"] == CONTROL, "customer_id"])
    assert held_out and not set(activated["customer_id"]) & held_out
    assert tuple(activated.columns) == (*activation_columns(), "uplift_tier")
    assert segments["uplift"].isna().all() and body["uplift"]["model"] is None  # no uplift model
    assert len(activated) == int(
        (segments["marketing_consent"] & segments["group"].eq(TARGET)).sum()
    )
    assert body["control"] == {"share": 0.1, "mode": "fresh", "counts": group_counts(segments)}
    assert body["excluded_from_activation_control"] == len(
        held_out & set(customers.loc[consent, "customer_id"])
    )
    assert set(body["power"]) == {*segments["segment"], "(all)"}
    assert "minimum detectable effect" in documents["report.html"]


def test_the_power_table_says_why_a_segment_without_control_cannot_be_measured():
    from reporting.campaign import power_body

    power = pd.DataFrame(
        {
            "segment": ["Loyal", "At risk"],
            "target": [3, 1800],
            "control": [0, 200],
            "predicted_purchase_rate": [0.43, 0.2],
            "mde_purchase_rate": [float("inf"), 0.081],
            "mde_purchase_rate_relative": [float("inf"), 0.405],
            "predicted_revenue_per_customer": [13.17, 80.0],
            "mde_revenue_per_customer": [float("inf"), 19.4],
            "mde_revenue_relative": [float("inf"), 0.244],
            "measurable": [False, True],
            "horizon_days": [30, 30],
        }
    )
    page = power_body(power, "£")
    assert "inf" not in page and "no control customers in this segment" in page
    assert "8.1%" in page and "£19" in page and "£13" in page
