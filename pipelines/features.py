"""DVC stage ``features``: point-in-time feature tables, labels, snapshot plan and catalogue."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
from rich.console import Console

from features.catalogue import catalogue_records
from features.engine import (
    build_snapshots,
    connect_duckdb,
    connect_spark,
    event_span,
    load_tables,
)
from features.snapshots import SnapshotPlan, SnapshotRules, explicit_plan, plan_snapshots
from features.targets import TARGETS
from pipelines.config import Params, load_params
from pipelines.files import atomic_dir
from pipelines.inputs import CATALOGUE, FEATURES, LABELS, PLAN, feature_rules
from pipelines.io import write_json, write_parquet
from pipelines.progress import progress_bar


def make_plan(params: Params, first: pd.Timestamp, last: pd.Timestamp) -> SnapshotPlan:
    horizons = params.targets.horizons()
    if params.features.snapshots is not None:
        explicit = params.features.snapshots
        return explicit_plan(explicit.training, explicit.holdout, explicit.scoring, horizons)
    rules = SnapshotRules(
        params.features.step_days,
        params.features.min_history_days,
        params.features.min_training_snapshots,
    )
    return plan_snapshots(first, last, horizons, rules)


def label_rates(labels: pd.DataFrame) -> dict:
    """Per-cutoff population and label summaries: a quick check that labels look sane."""
    aggregations = {"customers": ("customer_id", "size")}
    for name, entry in TARGETS.items():
        if entry.population:
            aggregations[entry.population] = (entry.population, "sum")
        if entry.is_survival:  # the share who ordered within the horizon (the rest: censored)
            aggregations[f"{name}_observed_share"] = (name, lambda v: float(np.isfinite(v).mean()))
        elif entry.is_value:
            aggregations[f"{name}_mean"] = (name, "mean")
            aggregations[f"{name}_zero_share"] = (name, lambda v: float((v == 0).mean()))
        else:
            aggregations[f"{name}_rate"] = (name, "mean")
    summary = labels.groupby("as_of").agg(**aggregations)
    return {ts.strftime("%Y-%m-%d"): row.round(6).to_dict() for ts, row in summary.iterrows()}


def main(params_path: str = "params.yaml") -> dict:
    params = load_params(params_path)
    console = Console(stderr=True)
    con = connect_spark() if params.features.backend == "spark" else connect_duckdb()
    events, customers = load_tables(con, params.paths.validated_dir)
    plan = make_plan(params, *event_span(con, events))
    for target in plan.targets.values():
        if target.message:
            console.print(f"[yellow]note:[/yellow] {target.message}")
    rules = feature_rules(params, list(customers.columns))
    with progress_bar(console) as bar:
        task = bar.add_task("features and labels per cutoff", total=len(plan.all_cutoffs()))
        features, labels = build_snapshots(
            con, events, customers, plan, rules, on_cutoff=lambda _: bar.advance(task)
        )
    with atomic_dir(params.paths.features_dir) as out:
        write_parquet(features, out / FEATURES)
        write_parquet(labels, out / LABELS)
        (out / PLAN).write_text(json.dumps(plan.to_dict(), indent=2) + "\n")
        (out / CATALOGUE).write_text(json.dumps(catalogue_records(rules), indent=2) + "\n")
    report = {
        "feature_rows": len(features),
        "label_rows": len(labels),
        "features": len(features.columns) - 2,
        "cutoffs": len(plan.all_cutoffs()),
        "plan": plan.to_dict(),
        "labels_by_cutoff": label_rates(labels),
    }
    write_json(report, params.paths.features_report)
    console.print(
        f"[bold]features[/bold]: {len(features):,} rows x {report['features']} features over "
        f"{report['cutoffs']} cutoffs; {len(labels):,} label rows -> {params.paths.features_dir}"
    )
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    main(parser.parse_args().params)
