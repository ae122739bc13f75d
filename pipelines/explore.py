"""Read-only views of the latest results, for notebooks and people: exports, champion runs,
evaluation tables, curves, drivers and migration. No new computation lives in notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd

from features.targets import TARGETS, spec, tier_columns
from models import tracking
from models.migration import migration, transition_table
from pipelines.export import MANIFEST, previous_export, read_latest


def latest_export(exports_dir: str | Path = "exports") -> tuple[pd.DataFrame, dict]:
    """The export ``exports/latest`` points at (checksums verified) and its manifest."""
    return read_latest(Path(exports_dir))


def segment_summary(segments: pd.DataFrame) -> pd.DataFrame:
    """Size, share, predicted value and mean probabilities per segment."""
    table = segments.groupby("segment").agg(
        customers=("customer_id", "size"),
        predicted_value=("predicted_cltv", "sum"),
        mean_churn_probability=("churn_probability", "mean"),
        mean_purchase_probability=("purchase_probability", "mean"),
    )
    table["share"] = table["customers"] / table["customers"].sum()
    return table.sort_values("predicted_value", ascending=False)


def tier_counts(segments: pd.DataFrame) -> pd.DataFrame:
    return (
        pd.concat({c: segments[c].value_counts() for c in tier_columns()}, axis=1)
        .fillna(0)
        .astype(int)
    )


def champion_runs(tracking_uri: str = "sqlite:///mlflow.db") -> pd.DataFrame:
    """Per target: the champion (which scorer, version, run), its headline metric and its
    difference over the best baseline."""
    tracking.configure(tracking_uri)
    client = mlflow.MlflowClient()
    rows = []
    for target in TARGETS:
        name = spec(target).registered_model
        version = tracking.alias_version(name, tracking.CHAMPION)
        if version is None:
            rows.append({"target": target, "champion_version": None})
            continue
        registered = client.get_model_version(name, version)
        run_id = registered.run_id
        run = client.get_run(run_id)
        headline = run.data.params.get("headline_metric")
        metrics = run.data.metrics
        rows.append(
            {
                "target": target,
                "champion_version": version,
                "scorer": registered.tags.get("scorer", "xgboost"),
                "run_id": run_id,
                "headline": headline,
                "model": metrics.get(f"holdout_{headline}"),
                "model_minus_best_baseline": metrics.get("model_minus_best_baseline"),
                "difference_ci_low": metrics.get("model_minus_best_baseline_ci_low"),
                "difference_ci_high": metrics.get("model_minus_best_baseline_ci_high"),
            }
        )
    return pd.DataFrame(rows).set_index("target")


def evaluation_table(target: str, reports_dir: str | Path = "reports") -> pd.DataFrame:
    """Every score's holdout metrics with 95% intervals (model, baselines, oracle)."""
    path = Path(reports_dir) / "evaluate" / f"{target}_plots" / "metrics_table.csv"
    return pd.read_csv(path).pivot(index="score", columns="metric", values="value")


def curve(target: str, name: str, reports_dir: str | Path = "reports") -> pd.DataFrame:
    """A curve written by `evaluate` (roc, pr, gains, calibration, deciles)."""
    return pd.read_csv(Path(reports_dir) / "evaluate" / f"{target}_plots" / f"{name}.csv")


def verdicts(reports_dir: str | Path = "reports") -> pd.Series:
    return pd.Series(
        {
            t: json.loads((Path(reports_dir) / "evaluate" / f"{t}.json").read_text())["verdict"][
                "message"
            ]
            for t in TARGETS
        }
    )


def drivers(segments: pd.DataFrame, model: str = "churn", top: int = 3) -> pd.DataFrame:
    """Per segment, the features that most often lead the model's explanation."""
    lead = segments.groupby("segment")[f"{model}_reason_1_feature"].value_counts(normalize=True)
    return lead.groupby(level=0).head(top).rename("share").reset_index()


def migration_between_last_two(exports_dir: str | Path = "exports") -> pd.DataFrame | None:
    """Segment transition matrix between the latest export and the one before it."""
    exports_dir = Path(exports_dir)
    latest = (exports_dir / "latest").resolve()
    before = previous_export(exports_dir, latest.name)
    if before is None or not (before / MANIFEST).exists():
        return None
    result = migration(
        pd.read_parquet(before / "segments.parquet"), pd.read_parquet(latest / "segments.parquet")
    )
    return transition_table(result).set_index("from")
