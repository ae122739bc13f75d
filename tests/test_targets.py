"""The target registry: one entry per target, read everywhere, and no silent fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from features.targets import LABEL_DTYPE, TARGETS, label_columns, spec
from models.scoring import EXPORT_COLUMNS
from models.selection import CANDIDATES
from models.tuning import headline_score


def test_an_unknown_target_is_an_error_that_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown target 'margin'.*churn, propensity, cltv"):
        spec("margin")


def test_every_registered_target_has_a_horizon_in_params_and_known_candidates():
    params = yaml.safe_load(Path("params.yaml").read_text())
    assert set(params["targets"]) == set(TARGETS)
    for entry in TARGETS.values():
        assert params["targets"][entry.name]["horizon_days"] > 0
        assert set(entry.candidates) <= set(CANDIDATES)
        assert entry.task in LABEL_DTYPE


def test_the_export_schema_holds_every_target_column_in_registry_order():
    columns = [c for entry in TARGETS.values() for c in entry.export_columns]
    positions = [EXPORT_COLUMNS.index(c) for c in columns]
    assert positions == sorted(positions)
    assert len(set(EXPORT_COLUMNS)) == len(EXPORT_COLUMNS)


def test_label_columns_put_populations_before_the_labels():
    assert label_columns() == ("churn_eligible", *TARGETS)


@pytest.mark.parametrize("name", list(TARGETS))
def test_each_headline_metric_rewards_a_perfect_ranking_over_a_reversed_one(name):
    if spec(name).is_survival:  # days to the event, +inf when censored; predictions in days
        y = pd.Series([3.0, 10.0, np.inf, 25.0, np.inf, 60.0])
        predicted = y.replace(np.inf, 200.0)
    else:
        y = pd.Series([0, 0, 1, 1, 0, 1], dtype=float)
        predicted = y + 0.01 * pd.Series(range(6))
    perfect = headline_score(name, y, predicted)
    reversed_ = headline_score(name, y, -predicted)
    assert perfect > reversed_


def test_params_must_name_exactly_the_registered_targets(tmp_path):
    from pipelines.config import load_params

    params = yaml.safe_load(Path("params.yaml").read_text())
    params["targets"]["margin"] = {"horizon_days": 30}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ValueError, match=r"unknown \['margin'\].*registered targets"):
        load_params(path)


def test_schema_1_0_targets_keep_their_columns_before_lifecycle():
    from features.targets import UPLIFT_SINCE_SCHEMA, schema_version

    assert EXPORT_COLUMNS[:12] == (
        "customer_id",
        "as_of",
        "churn_probability",
        "churn_tier",
        "purchase_probability",
        "propensity_tier",
        "predicted_cltv",
        "value_tier",
        "value_level",
        "lifecycle",
        "segment",
        "rfm_group",
    )
    later = [t for t in TARGETS.values() if t.since_schema != "1.0"]
    versions = [t.since_schema for t in later] + [UPLIFT_SINCE_SCHEMA]
    assert schema_version() == max(versions) == "1.2"


def test_a_new_targets_tier_and_campaign_columns_come_from_its_registry_entry(monkeypatch):
    import dataclasses

    from features import targets

    extra = dataclasses.replace(
        spec("propensity"),
        name="returns",
        tier_column="returns_tier",
        activation_columns=("returns_tier",),
    )
    monkeypatch.setitem(targets.TARGETS, "returns", extra)
    assert targets.tier_columns()[-1] == "returns_tier"
    assert targets.activation_columns()[-1] == "returns_tier"
    assert targets.activation_columns()[:2] == ("customer_id", "segment")
    assert "expected_next_order_date" in targets.activation_columns()
