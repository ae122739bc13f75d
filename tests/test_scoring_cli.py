"""The batch-job contract: `segments score` / `segments explain` on a pipeline built by `dvc repro`.

Exit codes: 0 success; 3 no model under the alias; 4 schema mismatch; 5 empty or insufficient data;
6 drift refusal; 7 unwritable output; 10 no readable uplift model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from features.targets import TARGETS, activation_columns, tier_columns
from models.activation import activation_file_columns
from pipelines.files import sha256_file
from tests.conftest import run_in

pytestmark = pytest.mark.slow
SEGMENTS = str(Path(sys.executable).parent / "segments")
EXPORT_COLUMNS = [  # the documented schema 1.0 order (README "For batch jobs")
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
]


def _latest(pipeline: Path) -> Path:
    return (pipeline / "exports" / "latest").resolve()


def _variant(pipeline: Path, name: str, change) -> Path:
    params = yaml.safe_load((pipeline / "params.yaml").read_text())
    change(params)
    path = pipeline / f"params-{name}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def test_export_schema_tiers_and_reasons(pipeline):
    segments = pd.read_parquet(_latest(pipeline) / "segments.parquet")
    assert segments.columns[: len(EXPORT_COLUMNS)].tolist() == EXPORT_COLUMNS
    assert segments["customer_id"].is_unique and segments["segment"].notna().all()
    for model in TARGETS:
        for part in ("phrase", "feature", "value", "contribution"):
            assert f"{model}_reason_1_{part}" in segments
    buyers = segments["churn_tier"] != "n/a"
    assert segments.loc[buyers, "churn_probability"].between(0, 1).all()
    assert segments.loc[buyers, "churn_reason_1_phrase"].notna().all()
    assert segments.loc[~buyers, "churn_reason_1_phrase"].isna().all() and (~buyers).any()
    assert segments["propensity_reason_1_phrase"].notna().all()
    assert (segments["predicted_cltv"] >= 0).all()


def test_manifest_checksums_counts_and_consent(pipeline):
    folder = _latest(pipeline)
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, digest in manifest["files"].items():
        assert sha256_file(folder / name) == digest
    segments = pd.read_parquet(folder / "segments.parquet")
    assert manifest["rows"] == len(segments)
    assert sum(manifest["counts"]["segment"].values()) == len(segments)
    assert set(manifest["models"]) == set(TARGETS)
    no_consent = set(segments.loc[~segments["marketing_consent"].fillna(False), "customer_id"])
    assert manifest["excluded_from_activation_no_consent"] == len(no_consent) > 0
    activated = pd.concat(pd.read_csv(p) for p in (folder / "activation").glob("*.csv"))
    assert activated["customer_id"].is_unique
    assert tuple(activated.columns) == activation_file_columns()
    assert tuple(activated.columns[:-1]) == activation_columns()  # then uplift_tier
    assert not (set(activated["customer_id"]) & no_consent)
    held_out = set(segments.loc[segments["group"] == "control", "customer_id"])
    assert len(activated) == len(segments) - len(no_consent | held_out)


def test_every_export_has_groups_and_activation_files_hold_no_control_customer(pipeline):
    folder = _latest(pipeline)
    manifest = json.loads((folder / "manifest.json").read_text())
    segments = pd.read_parquet(folder / "segments.parquet")
    assert set(segments["group"]) == {"target", "control"}
    control = manifest["control"]
    assert control["share"] == 0.1 and control["mode"] == "fresh"
    for name, counts in control["counts"].items():
        size = int((segments["segment"] == name).sum())
        assert counts["target"] + counts["control"] == size
        assert counts["control"] == round(0.1 * size)
    activated = pd.concat(pd.read_csv(p) for p in (folder / "activation").glob("*.csv"))
    held_out = set(segments.loc[segments["group"] == "control", "customer_id"])
    assert held_out and not set(activated["customer_id"]) & held_out
    consenting_control = segments["marketing_consent"].fillna(False) & segments["group"].eq(
        "control"
    )
    assert manifest["excluded_from_activation_control"] == int(consenting_control.sum())
    power = manifest["power"]
    assert set(power) == set(control["counts"]) | {"(all)"}
    assert all(
        row["mde_purchase_rate"] is None or row["mde_purchase_rate"] > 0 for row in power.values()
    )
    assert "minimum detectable effect" in (folder / "report.html").read_text()
    measured = json.loads((pipeline / "reports" / "measurement.json").read_text())
    assert measured["status"] == "too early" and "no events after" in measured["note"]


def test_plain_score_passes_the_drift_guard_on_the_default_data(pipeline):
    """The shop has aged since the models' holdout cutoffs (a year for a 365-day CLTV): healthy
    data, so a batch job's plain `segments score` exports without --allow-drift."""
    result = run_in([SEGMENTS, "score"], pipeline)
    assert result.returncode == 0, result.stderr
    drift = json.loads((_latest(pipeline) / "drift.json").read_text())
    assert drift["refusals"] == [] and drift["allowed"] is False
    for target in TARGETS:
        assert drift[target]["reference_cutoff"] < _latest(pipeline).name
        assert drift[target]["prediction_psi"] is not None
        assert drift[target]["data"]["current"]["events"]["purchase"] > 0


def test_rescoring_the_same_inputs_is_idempotent(pipeline):
    # Earlier tests may move the registry aliases, so score once to settle, then once more.
    first = run_in([SEGMENTS, "score"], pipeline)  # as the DVC stage runs it
    assert first.returncode == 0, first.stderr
    folder = _latest(pipeline)
    manifest = (folder / "manifest.json").read_text()
    digests = {p.name: sha256_file(p) for p in folder.rglob("*") if p.is_file()}
    again = run_in([SEGMENTS, "score"], pipeline)
    assert again.returncode == 0, again.stderr
    assert "(unchanged)" in again.stderr
    assert (folder / "manifest.json").read_text() == manifest
    assert {p.name: sha256_file(p) for p in folder.rglob("*") if p.is_file()} == digests


def test_an_uplift_model_fills_the_uplift_columns_and_a_missing_one_is_refused(pipeline, tmp_path):
    from models.uplift import UpliftLearner, design_categories, uplift_design
    from pipelines.uplift_model import save_uplift

    segments = pd.read_parquet(_latest(pipeline) / "segments.parquet")
    rng = np.random.default_rng(0)  # a campaign that moved the likelier half of customers
    treated = rng.random(len(segments)) < 0.9
    rate = segments["purchase_probability"].to_numpy()
    bought = rng.random(len(segments)) < rate + 0.2 * treated * (rate > np.median(rate))
    categories = design_categories(segments)
    X = uplift_design(segments, categories)
    learner = UpliftLearner(method="t", n_estimators=20).fit(X, treated, bought)
    about = {"beats_random": True, "categories": categories, "scale": 1.0, "unit": "test"}
    save_uplift(learner, about, tmp_path / "uplift")

    def use(model):
        return lambda params: params["score"]["uplift"].update(model=str(model))

    params = _variant(pipeline, "uplift", use(tmp_path / "uplift"))
    args = [SEGMENTS, "score", "--allow-drift", "--params", str(params)]
    result = run_in([*args, "--out", str(tmp_path / "exports")], pipeline)
    assert result.returncode == 0, result.stderr
    folder = (tmp_path / "exports" / "latest").resolve()
    out = pd.read_parquet(folder / "segments.parquet")
    assert list(out.columns[-2:]) == ["uplift", "uplift_tier"] and out["uplift"].notna().all()
    assert set(out["uplift_tier"]) <= {"high", "medium", "low", "negative"}
    assert (out["uplift_tier"] == "high").any()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["uplift"]["used"] and len(manifest["uplift"]["sha256"]) == 64
    assert manifest["schema_version"] == "1.2"
    missing = _variant(pipeline, "uplift-missing", use(tmp_path / "nowhere"))
    args = [SEGMENTS, "score", "--allow-drift", "--params", str(missing)]
    result = run_in([*args, "--out", str(tmp_path / "other")], pipeline)
    assert result.returncode == 12 and "no readable uplift model" in " ".join(result.stderr.split())


def test_explain_prints_scores_segment_and_reasons(pipeline):
    segments = pd.read_parquet(_latest(pipeline) / "segments.parquet")
    row = segments[segments["churn_tier"] != "n/a"].iloc[0]
    result = run_in([SEGMENTS, "explain", row["customer_id"]], pipeline)
    assert result.returncode == 0, result.stderr
    assert row["segment"] in result.stdout and "why (churn)" in result.stdout
    assert row["churn_reason_1_phrase"][:20] in result.stdout
    manifest = json.loads((_latest(pipeline) / "manifest.json").read_text())
    for target, model in manifest["models"].items():
        assert f"served by ({target})" in result.stdout and model["scorer"] in result.stdout
        assert model["evidence"].startswith(f"{model['scorer']} serves")
    missing = run_in([SEGMENTS, "explain", "no-such-customer"], pipeline)
    assert missing.returncode == 1 and "not in the export" in missing.stderr


def test_an_earlier_export_then_a_migration(pipeline):
    latest = _latest(pipeline).name
    earlier = (pd.Timestamp(latest) - pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    result = run_in([SEGMENTS, "score", "--as-of", earlier], pipeline)
    assert result.returncode == 0, result.stderr
    result = run_in([SEGMENTS, "score"], pipeline)
    assert result.returncode == 0, result.stderr
    folder = pipeline / "exports" / latest
    summary = json.loads((folder / "migration" / "summary.json").read_text())
    assert summary["previous_as_of"] == earlier
    assert 0 <= summary["segment"]["stability_share"] <= 1
    matrix = pd.read_csv(folder / "migration" / "segment_transitions.csv")
    assert matrix.drop(columns="from").to_numpy().sum() >= summary["segment"]["customers_after"]
    assert (pipeline / "exports" / "latest").resolve().name == latest
    for tier in tier_columns():
        assert tier in summary and (folder / "migration" / f"{tier}_transitions.csv").is_file()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--model-alias", "nonexistent"], 3, "no 'nonexistent' model registered"),
        (["--as-of", "1990-01-01"], 5, "no customers are known before 1990-01-01"),
        (["--out", "/proc/no-such-place", "--allow-drift"], 7, "cannot write the export"),
    ],
)
def test_exit_codes_name_the_cause_and_a_hint(pipeline, args, code, message):
    result = run_in([SEGMENTS, "score", *args], pipeline)
    assert result.returncode == code, result.stderr
    assert message in result.stderr and "hint:" in result.stderr


def test_drift_over_the_limit_is_refused_unless_allowed(pipeline):
    def strict(params):
        params["score"]["drift"]["refuse_psi"] = 0.0001

    path = _variant(pipeline, "strict-drift", strict)
    result = run_in([SEGMENTS, "score", "--params", str(path)], pipeline)
    assert result.returncode == 6 and "feature drift too large" in result.stderr
    allowed = run_in([SEGMENTS, "score", "--params", str(path), "--allow-drift"], pipeline)
    assert allowed.returncode == 0, allowed.stderr


def test_feature_mismatch_is_a_schema_error(pipeline):
    def fewer_windows(params):
        params["features"]["order_windows_days"] = [30, 90, 365]

    path = _variant(pipeline, "fewer-windows", fewer_windows)
    # The free XGBoost version reads every feature (a simple champion reads only a few).
    result = run_in(
        [SEGMENTS, "score", "--params", str(path), "--model-alias", "xgboost"], pipeline
    )
    assert result.returncode == 4, result.stderr
    assert "orders_7d" in result.stderr or "spend_7d" in result.stderr


def test_score_shows_its_steps_on_a_terminal_and_nothing_under_quiet(
    pipeline, monkeypatch, no_unpickling
):
    import io

    from rich.console import Console

    from pipelines.config import load_params
    from pipelines.score import STEPS, run

    monkeypatch.chdir(pipeline)
    monkeypatch.delenv("CI", raising=False)
    params = load_params(pipeline / "params.yaml")
    shown = Console(file=io.StringIO(), force_terminal=True, width=120)
    run(params, alias="challenger", allow_drift=True, console=shown)  # models load from JSON
    steps = f"{len(STEPS)}/{len(STEPS)}"  # 9 with three targets
    assert "score: done" in shown.file.getvalue() and steps in shown.file.getvalue()
    quiet = Console(file=io.StringIO(), force_terminal=True, quiet=True)
    run(params, alias="challenger", allow_drift=True, console=quiet)
    assert quiet.file.getvalue() == ""
