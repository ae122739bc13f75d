"""The fairness audit (models.fairness): exact figures on hand-built groups, the gate's refusals,
the export's shares, the model card and report sections, and a deliberately biased model trained
on the synthetic shop with a sensitive attribute as a feature (``features.include_sensitive``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import fairness
from models.card import fairness_section as card_section
from models.evaluation import evaluate_scores
from models.fairness import (
    AuditSettings,
    HoldoutAudit,
    action_selection,
    audit_export,
    audit_score,
    disparity,
    refusals,
)
from models.promotion import promote, runner_up, verdict_for
from models.segmentation import TierRules
from pipelines.config import load_params
from pipelines.inputs import feature_rules, sensitive_attributes
from reporting.fairness import fairness_section as report_section
from tests.conftest import REPO

TIERS = TierRules()  # churn medium 0.3: the medium and high tiers are what segments act on
EXACT = AuditSettings(n_bootstrap=50, min_group_size=5, confidence=0.95, seed=0)


def _hand_built():
    """Group a: 4 of 10 in the acted-on tiers, 2 of its 5 positives among them; group b: 8 of
    10, 4 of 5 positives; group c: 3 customers, too few to compare."""
    a_score = [0.35] * 4 + [0.05] * 6
    a_y = [1, 1, 0, 0] + [1, 1, 1, 0, 0, 0]
    b_score = [0.65] * 8 + [0.05] * 2
    b_y = [1, 1, 1, 1, 0, 0, 0, 0] + [1, 0]
    score = np.array(a_score + b_score + [0.9] * 3)
    y = np.array(a_y + b_y + [1, 1, 1], float)
    groups = np.array(["a"] * 10 + ["b"] * 10 + ["c"] * 3, dtype=object)
    return y, score, groups


def test_hand_built_groups_give_exact_calibration_disparity_and_opportunity():
    y, score, groups = _hand_built()
    found = audit_score("churn", y, score, groups, TIERS, 90, EXACT)
    a, b, c = (found["groups"][g] for g in "abc")
    # ECE: a = (4 * |0.5 - 0.35| + 6 * |0.5 - 0.05|) / 10; b = (8 * 0.15 + 2 * 0.45) / 10
    assert a["ece"]["value"] == pytest.approx(0.33) and b["ece"]["value"] == pytest.approx(0.21)
    assert a["base_rate"] == 0.5 and a["mean_prediction"] == pytest.approx(0.17)
    assert a["selection_rate"]["value"] == 0.4 and b["selection_rate"]["value"] == 0.8
    assert a["share_of_selected"] == pytest.approx(4 / 15, abs=1e-6)
    assert a["true_positive_rate"]["value"] == 0.4 and b["true_positive_rate"]["value"] == 0.8
    assert not c["readable"] and c["selection_rate"]["value"] == 1.0  # shown, never compared
    ratio, gap = found["disparity_ratio"], found["opportunity_difference"]
    assert (ratio["value"], ratio["lowest"], ratio["highest"]) == (0.5, "a", "b")
    assert found["four_fifths"]
    assert gap["value"] == pytest.approx(0.4) and (gap["lowest"], gap["highest"]) == ("a", "b")
    for entry in (a["selection_rate"], a["ece"], ratio, gap):
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"]
    assert audit_score("churn", y, score, groups, TIERS, 90, EXACT) == found  # seeded


def test_a_small_group_gets_a_wide_interval_and_is_left_out_of_the_comparison():
    settings = AuditSettings(200, 50, 0.95, 1)
    groups = np.array(["big"] * 6000 + ["small"] * 60 + ["tiny"] * 20, dtype=object)
    selected = np.r_[np.arange(6000) % 5 == 0, np.arange(60) % 5 == 0, np.zeros(20, bool)]
    found = disparity(selected, groups, settings)
    big, small = found["groups"]["big"]["rate"], found["groups"]["small"]["rate"]
    assert big["value"] == small["value"] == pytest.approx(0.2)
    assert small["ci_high"] - small["ci_low"] > 5 * (big["ci_high"] - big["ci_low"])
    assert not found["groups"]["tiny"]["readable"]  # a rate of 0, not read as a ratio of 0
    assert found["ratio"]["value"] == pytest.approx(1.0)


def test_what_counts_as_selected_for_value_and_for_the_next_order():
    actual = np.array([0, 0, 5, 0, 50, 0, 9, 0, 0, 80], float)
    predicted = np.array([1, 2, 3, 4, 90, 6, 7, 8, 95, 10], float)
    tiers = TierRules(value_shares=(0.1, 0.1, 0.3))  # vip + high: the top 20%
    selected, top = action_selection("cltv", actual, predicted, tiers, 365)
    assert np.flatnonzero(selected).tolist() == [4, 8] and np.flatnonzero(top).tolist() == [4, 9]
    waits = np.array([5, np.inf, 30, np.inf])
    selected, ordered = action_selection(
        "next_order", waits, np.array([10, 100, 95, 20]), TIERS, 90
    )
    assert selected.tolist() == [True, False, False, True]
    assert ordered.tolist() == [True, False, True, False]


def _two_groups(rate_a: float, rate_b: float, n: int = 4000, seed: int = 0):
    """Churn scores of two groups that reach the acted-on tiers at the given rates, labels at
    random: the model treats them differently for the same outcome."""
    rng = np.random.default_rng(seed)
    groups = np.array(["a"] * n + ["b"] * n, dtype=object)
    rate = np.where(groups == "a", rate_a, rate_b)
    score = np.where(rng.random(2 * n) < rate, 0.5, 0.1)
    return (rng.random(2 * n) < 0.3).astype(float), score, groups


def test_the_gate_refuses_only_when_the_whole_interval_is_beyond_the_limit():
    y, score, groups = _two_groups(0.2, 0.5)
    audit = HoldoutAudit(
        "churn", y, {"m": score}, pd.DataFrame({"g": groups}), [], TIERS, 90, EXACT
    ).run(["m"], None, None)
    assert audit["refused"] == {}  # no limits: report only
    found = audit["candidates"]["m"]
    assert found["g"]["disparity_ratio"]["ci_high"] < 0.5
    reason = refusals(audit["candidates"], 1.25, None)["m"]
    assert reason.startswith("selection-rate ratio by g 0.4") and "below 1/1.25 = 0.800" in reason
    assert "below 1/1.5 = 0.667" in refusals(audit["candidates"], 1.5, None)["m"]
    assert refusals(audit["candidates"], 3.0, None) == {}  # 1/3 is below the interval
    gap = refusals(audit["candidates"], None, 0.1)["m"]
    shown = found["g"]["opportunity_difference"]["value"]
    assert gap.startswith(f"true-positive-rate gap by g {shown:.3f}") and gap.endswith("above 0.1")
    assert refusals(audit["candidates"], None, 0.5) == {}


@pytest.fixture(scope="module")
def judged():
    """A fair simple candidate and a biased complex one that beats it on the headline."""
    y, fair, groups = _two_groups(0.3, 0.3, seed=1)
    _, biased, _ = _two_groups(0.1, 0.6, seed=1)
    biased = np.clip(biased + 0.3 * y, 0, 1)  # better ranking, unequal treatment
    scores = {"fair": fair, "biased": biased, "recency": fair}
    audit = HoldoutAudit("churn", y, scores, pd.DataFrame({"g": groups}), [], TIERS, 90, EXACT)
    ev = evaluate_scores("churn", y, scores, ["fair", "biased"], 40, 0.95, seed=0)
    return ev, audit


def test_a_refused_candidate_does_not_serve_and_the_verdict_says_why(judged):
    ev, audit = judged
    complexity = {"fair": 0, "biased": 2}
    assert promote(ev, complexity, 0.0).champion == "biased"  # without the fairness limit
    found = audit.run(["fair", "biased"], 1.25, None)
    assert set(found["refused"]) == {"biased"}
    ev = promote(ev, complexity, 0.0, found["refused"])
    assert ev.champion == "fair" and ev.promoted and runner_up(ev) is None
    verdict = verdict_for(ev, None)
    assert (
        verdict["promote"]
        and "biased refused by the fairness gate: selection-rate" in (verdict["message"])
    )
    everyone = {"fair": "x", "biased": "y"}
    ev = promote(ev, complexity, 0.0, everyone)
    verdict = verdict_for(ev, None)
    assert not ev.promoted and not verdict["promote"]
    assert verdict["message"].startswith("NOT PROMOTED: the fairness gate refused every")


def test_a_refused_champion_gets_no_champion_alias(judged, monkeypatch):
    from pipelines import registry

    ev, _ = judged
    ev = promote(ev, {"fair": 0, "biased": 2}, 0.0, {"fair": "x", "biased": "y"})
    aliases = []
    monkeypatch.setattr(registry.tracking, "register", lambda uri, name, run: uri[-1])
    monkeypatch.setattr(registry.tracking, "tag_version", lambda *args: None)
    monkeypatch.setattr(registry.tracking, "set_alias", lambda n, a, v: aliases.append(a))
    trained = {
        "candidates": {
            n: {"model_uri": f"m{i}", "run_id": n} for i, n in enumerate(("fair", "biased"))
        }
    }
    registered = registry.register_candidates("churn", trained, ev)
    assert "champion" not in aliases and registered["champion"] is None


def test_model_card_section_shows_groups_comparisons_and_the_gate():
    y, score, groups = _hand_built()
    audit = HoldoutAudit(
        "churn", y, {"m": score}, pd.DataFrame({"gender": groups}), ["age_band"], TIERS, 90, EXACT
    )
    report = audit.add_intervals(audit.run(["m"], 1.25, None), "m")
    text = "\n".join(card_section({"target": "churn", "fairness": report}))
    assert "## Fairness audit" in text and "### gender (m, which serves)" in text
    assert "| c | 3 (too small to read) |" in text
    assert "- disparity ratio: 0.5000 [" in text and "**below four-fifths**" in text
    assert "Not in the customers table, so not audited: age_band." in text
    empty = HoldoutAudit(
        "churn",
        y,
        {"m": score},
        pd.DataFrame(index=range(len(y))),
        ["age_band", "gender"],
        TIERS,
        90,
        EXACT,
    )
    text = "\n".join(card_section({"target": "churn", "fairness": empty.run(["m"], None, None)}))
    assert "No sensitive attribute is in the customers table (audited: age_band, gender)" in text


def test_export_audit_counts_every_tier_segment_and_activation_file(tmp_path):
    n = 200
    segments = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "churn_tier": ["high", "low"] * (n // 2),
            "propensity_tier": "low",
            "value_tier": ["vip"] * 50 + ["low"] * 150,
            "segment": ["Loyal"] * 100 + ["At risk"] * 100,
            "marketing_consent": pd.array([True, None, False, True] * (n // 4), "boolean"),
        }
    )
    gender = pd.Series(["f"] * 100 + ["m"] * 90 + [None] * 10)
    settings = AuditSettings(n_bootstrap=50, min_group_size=50, confidence=0.95, seed=0)
    audit = audit_export(segments, gender.to_frame("gender"), ["age_band"], settings)
    found = audit["by_attribute"]["gender"]
    assert audit["absent"] == ["age_band"] and found["groups"]["(missing)"]["customers"] == 10
    loyal = found["columns"]["segment"]["Loyal"]
    assert (
        loyal["groups"]["f"]["rate"]["value"] == 1.0 and loyal["groups"]["m"]["rate"]["value"] == 0
    )
    assert loyal["groups"]["f"]["share_of_selected"] == 1.0
    files = found["columns"]["activation_file"]
    assert set(files) == {"Loyal", "At risk"}  # consented members only: half of each segment
    assert files["At risk"]["groups"]["m"]["rate"]["value"] == pytest.approx(45 / 90)
    assert set(found["columns"]) == {*fairness.EXPORT_COLUMNS}
    assert found["worst"]["disparity_ratio"]["value"] == 0
    html = report_section(audit, tmp_path)
    assert "Tiers, segments and activation files by gender" in html
    assert "(missing): 10 (5.0%), too small to read" in html


# --- a deliberately biased model on the synthetic shop -----------------------------------------


@pytest.fixture(scope="module")
def shop_splits():
    """Propensity features with the sensitive attributes as features (include_sensitive), at a
    training and a holdout cutoff of a small synthetic shop."""
    from features.definitions import label_table
    from features.engine import compute_features, connect_duckdb, execute, tables_from_frames
    from features.ingest import finalize_events
    from synthetic.shop import ShopSpec, generate_shop

    params = load_params(REPO / "params.yaml")
    opted_in = params.features.model_copy(update={"include_sensitive": True})
    params = params.model_copy(update={"features": opted_in})
    shop = generate_shop(ShopSpec(n_customers=4000, dirty_fraction=0, duplicate_fraction=0), 5)
    con = connect_duckdb()
    events, customers = tables_from_frames(con, finalize_events(shop.events), shop.customers)
    rules = feature_rules(params, list(shop.customers.columns))
    assert {"age_band", "gender"} <= set(rules.attribute_columns)

    def split(as_of: str) -> pd.DataFrame:
        cutoff = pd.Timestamp(as_of, tz="UTC")
        features = compute_features(con, events, customers, cutoff, rules)
        labels = execute(con, label_table(events, customers, cutoff, {"propensity": 30}, rules))
        return features.merge(labels[["customer_id", "propensity"]], on="customer_id")

    return params, split("2025-01-01"), split("2025-06-01")


def test_a_model_fed_a_sensitive_attribute_is_flagged_and_refused(shop_splits):
    from models.estimators import CalibratedXGBClassifier
    from models.frames import as_model_input

    params, train, holdout = shop_splits
    inputs = [c for c in train.columns if c not in ("customer_id", "as_of", "propensity")]
    default = [c for c in inputs if c not in ("age_band", "gender")]
    # History biased against young customers: half of them recorded as buyers regardless.
    young = train["age_band"].isin(["18-24", "25-34"]).to_numpy()
    coin = np.random.default_rng(0).random(len(train)) < 0.5
    biased_labels = np.where(young & coin, 1, train["propensity"].to_numpy())

    def fitted(columns, labels):
        X = as_model_input(train[columns])
        model = CalibratedXGBClassifier(max_depth=3, n_estimators=60, n_jobs=1, random_state=0)
        return model.fit(X, labels, eval_set=(X, labels))

    models = {
        "default": fitted(default, train["propensity"].to_numpy()),
        "biased": fitted(inputs, biased_labels),
    }
    assert "age_band" in models["biased"].feature_names_in_
    scores = {
        name: model.predict_proba(as_model_input(holdout[list(model.feature_names_in_)]))[:, 1]
        for name, model in models.items()
    }
    settings = AuditSettings(200, 50, 0.95, params.seed)
    attributes = holdout[["age_band", "gender"]].reset_index(drop=True)
    y = holdout["propensity"].to_numpy(float)
    audit = HoldoutAudit("propensity", y, scores, attributes, [], TIERS, 30, settings)
    report = audit.run(["default", "biased"], 1.25, None)
    biased = report["candidates"]["biased"]["age_band"]
    assert biased["four_fifths"] and biased["disparity_ratio"]["ci_high"] < 0.5
    assert biased["disparity_ratio"]["highest"] in ("18-24", "25-34")
    assert biased["opportunity_difference"]["ci_low"] > 0.3
    assert "selection-rate ratio by age_band" in report["refused"]["biased"]
    default = report["candidates"]["default"]["age_band"]
    assert "default" not in report["refused"]  # the default model's figures, with intervals:
    ratio = default["disparity_ratio"]
    assert ratio["ci_low"] <= ratio["value"] <= ratio["ci_high"] and ratio["ci_high"] >= 0.8
    assert ratio["value"] > biased["disparity_ratio"]["value"] + 0.3


def test_the_audited_attributes_are_read_in_the_order_of_the_ids_and_absent_ones_named(tmp_path):
    params = load_params(REPO / "params.yaml")
    params = params.model_copy(
        update={"paths": params.paths.model_copy(update={"validated_dir": tmp_path})}
    )
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "age_band": ["18-24", None, "65+"]})
    customers.to_parquet(tmp_path / "customers.parquet")

    attributes, absent = sensitive_attributes(params, pd.Series(["c", "a", "z"]))
    assert absent == ["gender"] and list(attributes.columns) == ["age_band"]
    assert attributes["age_band"].tolist()[:2] == ["65+", "18-24"]
    assert pd.isna(attributes["age_band"].iloc[2])  # an unknown id: the "(missing)" group
    nothing, absent = sensitive_attributes(
        params.model_copy(
            update={"fairness": params.fairness.model_copy(update={"attributes": ()})}
        ),
        pd.Series(["a"]),
    )
    assert nothing.shape == (1, 0) and absent == []


def test_a_rare_selection_is_not_compared_until_each_group_could_hold_five():
    settings = fairness.AuditSettings(n_bootstrap=100, min_group_size=50, confidence=0.95, seed=1)
    groups = np.repeat(["a", "b"], 1000)
    rare = np.zeros(2000, bool)
    rare[:3] = True  # 3 of group a, none of b: at parity each would hold 1.5
    assert fairness.disparity(rare, groups, settings)["ratio"]["value"] is None
    common = np.zeros(2000, bool)
    common[:60] = True  # 60 of a, none of b: at parity 30 each, a real gap
    found = fairness.disparity(common, groups, settings)["ratio"]
    assert found["value"] == 0 and found["ci_high"] == 0
