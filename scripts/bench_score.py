"""Benchmark: score and explain N customers with the three trained models (exact TreeSHAP).

Uses the models `dvc repro` trained (data/models/<target>/model) and rows resampled from the
feature table, so the trees and the feature distributions are the real ones. Reports, per model
and in total, seconds, customers/s and peak memory, and, on the same rows, the speed of what
scoring uses (FastTreeSHAP v2, `models.explain.contributions`) against `shap.TreeExplainer` and
XGBoost's `pred_contribs`, after checking that all three give the same values.

    python scripts/bench_score.py --customers 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shap

from features.catalogue import build_catalogue
from features.definitions import FeatureRules
from features.targets import TARGETS
from models.bgnbd import BGNBD_CATALOGUE
from models.explain import contributions, reference_contributions
from models.frames import predict_target
from models.scoring import build_export, catalogue_renderer
from models.serving import load_estimator
from pipelines.config import load_params


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_rows(params, n: int, seed: int) -> pd.DataFrame:
    features = pd.read_parquet(params.paths.features_dir / "features.parquet")
    bgnbd = pd.read_parquet(params.paths.bgnbd)
    table = features.merge(bgnbd, on=["customer_id", "as_of"], how="inner")
    sample = table.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    sample["customer_id"] = [f"B{i:08d}" for i in range(n)]
    return sample


def complexity(model) -> dict:
    trees = model.trees_.trees_to_dataframe()
    return {
        "trees": int(trees["Tree"].nunique()),
        "leaves": int((trees["Feature"] == "Leaf").sum()),
        "max_depth": int(model.get_params()["max_depth"]),
    }


def treeexplainer_ratio(model, X: pd.DataFrame) -> dict:
    timings, values = {}, {}
    explainer = shap.TreeExplainer(model.trees_)
    runs = {
        "fasttreeshap_v2": lambda: contributions(model, X)[0].to_numpy(),
        "pred_contribs": lambda: reference_contributions(model, X)[0].to_numpy(),
        "tree_explainer": lambda: explainer.shap_values(model.encode(X)),
    }
    for name, run in runs.items():
        start = time.perf_counter()
        values[name] = run()
        timings[f"{name}_s"] = round(time.perf_counter() - start, 3)
    for name in ("pred_contribs", "tree_explainer"):
        gap = float(np.abs(values[name] - values["fasttreeshap_v2"]).max())
        assert gap < 1e-4, f"{name} and FastTreeSHAP v2 disagree by {gap}"
    ours = timings["fasttreeshap_v2_s"]
    return {
        "rows": len(X),
        **timings,
        "speedup_vs_tree_explainer": round(timings["tree_explainer_s"] / ours, 2),
        "speedup_vs_pred_contribs": round(timings["pred_contribs_s"] / ours, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--ratio-rows", type=int, default=20_000)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    params = load_params(args.params)
    models = {
        t: load_estimator(str(params.paths.models_dir / t / "xgboost" / "model")) for t in TARGETS
    }
    rows = load_rows(params, args.customers, args.seed)
    X = rows[list(models["churn"].feature_names_in_)]
    report = {"customers": args.customers, "models": {t: complexity(m) for t, m in models.items()}}
    report["shap_ratio"] = {
        t: treeexplainer_ratio(m, X.head(args.ratio_rows)) for t, m in models.items()
    }
    start = time.perf_counter()
    predictions = {t: predict_target(t, m, X) for t, m in models.items()}
    predict_s = time.perf_counter() - start
    render = catalogue_renderer([*build_catalogue(FeatureRules()), *BGNBD_CATALOGUE])
    start = time.perf_counter()
    export = build_export(
        rows[["customer_id", "as_of"]],
        X,
        models,
        predictions,
        params.score.tiers,
        params.score.segments,
        render,
        params.score.top_k_reasons,
    )
    explain_s = time.perf_counter() - start
    total = predict_s + explain_s
    report |= {
        "predict_s": round(predict_s, 2),
        "tiers_segments_reasons_s": round(explain_s, 2),
        "total_s": round(total, 2),
        "customers_per_s": round(args.customers / total),
        "export_columns": len(export.columns),
        "peak_rss_mib": round(peak_rss_mib()),
    }
    print(json.dumps(report, indent=2))
    out = Path(params.paths.reports_dir) / "bench_score.json"
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
