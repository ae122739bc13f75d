"""Evidence for the CLTV objective: one Tweedie booster versus a two-part model, same holdout.

    python scripts/compare_cltv_objectives.py        (after `make repro`; about a minute)

Both candidates see the same training cutoffs, validation cutoff and out-of-time holdout as the
`train` and `evaluate` stages, and the tree settings Optuna chose for the CLTV model
(`reports/train/cltv.json`):

- tweedie: `TweedieCLTVRegressor`, what the pipeline ships;
- two_part: P(any net spend) from `CalibratedXGBClassifier` (isotonic) times E[spend | spend > 0]
  from an XGBoost gamma regressor fitted on the buyers only, rescaled on validation data for
  aggregate bias exactly as the Tweedie model is.

Every CLTV metric of the evaluate stage is reported with its 95% bootstrap interval, plus the
paired difference (tweedie - two_part) of each, and the explanation cost: the Tweedie model is one
booster (SHAP values add up to its log prediction), the two-part model is two boosters whose
product has no additive explanation. Results go to `reports/cltv_objective.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from models.estimators import CalibratedXGBClassifier
from models.frames import make_split, target_cutoffs
from models.metrics import (
    HIGHER_IS_BETTER,
    VALUE_METRICS,
    bootstrap_indices,
    metric_with_interval,
    paired_difference,
)
from models.selection import make_scorer
from pipelines.config import load_params
from pipelines.inputs import load_modelling_data

TREE_KEYS = (
    "max_depth",
    "learning_rate",
    "n_estimators",
    "min_child_weight",
    "subsample",
    "colsample_bytree",
    "reg_lambda",
)


class TwoPartCLTV:
    """P(spend > 0) x E[spend | spend > 0], each an XGBoost model with early stopping."""

    def __init__(self, tree_params: dict, seed: int):
        self.tree_params, self.seed = tree_params, seed

    def fit(self, X: pd.DataFrame, y: pd.Series, X_valid: pd.DataFrame, y_valid: pd.Series):
        self.buyer_ = CalibratedXGBClassifier(
            **self.tree_params, calibration="isotonic", random_state=self.seed
        ).fit(X, (y > 0).astype(int), eval_set=(X_valid, (y_valid > 0).astype(int)))
        paid, paid_valid = y > 0, y_valid > 0
        self.spend_ = xgb.XGBRegressor(
            objective="reg:gamma",
            tree_method="hist",
            early_stopping_rounds=30,
            random_state=self.seed,
            n_jobs=2,
            **self.tree_params,
        ).fit(
            self.buyer_.encode(X[paid]),
            y[paid],
            eval_set=[(self.buyer_.encode(X_valid[paid_valid]), y_valid[paid_valid])],
            verbose=False,
        )
        predicted = self._unscaled(X_valid).sum()
        self.scale_ = float(y_valid.sum() / predicted) if predicted > 0 else 1.0
        return self

    def _unscaled(self, X: pd.DataFrame) -> np.ndarray:
        p_buy = self.buyer_.predict_proba(X)[:, 1]
        return p_buy * self.spend_.predict(self.buyer_.encode(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.scale_ * self._unscaled(X)


def compare(params_path: str, n_bootstrap: int) -> dict:
    params = load_params(params_path)
    features, labels, plan = load_modelling_data(params)
    cutoffs = target_cutoffs(plan, "cltv", params.train.max_training_snapshots)
    train = make_split(features, labels, "cltv", cutoffs.training)
    valid = make_split(features, labels, "cltv", [cutoffs.validation])
    holdout = make_split(features, labels, "cltv", [cutoffs.holdout])
    report_path = Path(params.paths.reports_dir) / "train" / "cltv.json"
    best = json.loads(report_path.read_text())["candidates"]["xgboost"]["best_params"]
    tree_params = {k: best[k] for k in TREE_KEYS}

    predictions, fit_seconds = {}, {}
    candidates = {
        "tweedie": lambda: make_scorer("cltv", "xgboost", best, seed=params.seed).fit(
            train.X, train.y, eval_set=(valid.X, valid.y)
        ),
        "two_part": lambda: TwoPartCLTV(tree_params, params.seed).fit(
            train.X, train.y, valid.X, valid.y
        ),
    }
    for name, fit in candidates.items():
        started = time.perf_counter()
        model = fit()
        fit_seconds[name] = round(time.perf_counter() - started, 2)
        predictions[name] = model.predict(holdout.X)

    y = holdout.y.to_numpy(float)
    indices = bootstrap_indices(len(y), n_bootstrap, params.seed)
    level = params.evaluate.confidence
    scores = {
        name: {m: metric_with_interval(f, y, p, indices, level) for m, f in VALUE_METRICS.items()}
        for name, p in predictions.items()
    }
    differences = {
        m: paired_difference(f, y, predictions["tweedie"], predictions["two_part"], indices, level)
        for m, f in VALUE_METRICS.items()
    }
    return {
        "holdout_cutoff": f"{cutoffs.holdout:%Y-%m-%d}",
        "rows": {"train": len(train.y), "valid": len(valid.y), "holdout": len(y)},
        "holdout_zero_share": round(float((y == 0).mean()), 4),
        "tree_params": tree_params,
        "fit_seconds": fit_seconds,
        "scores": scores,
        "tweedie_minus_two_part": differences,
        "higher_is_better": {m: HIGHER_IS_BETTER[m] for m in VALUE_METRICS},
        "boosters_to_explain": {"tweedie": 1, "two_part": 2},
    }


def print_table(result: dict) -> None:
    print(
        f"holdout {result['holdout_cutoff']}: {result['rows']['holdout']:,} customers, "
        f"{result['holdout_zero_share']:.0%} with no spend"
    )
    print(f"{'metric':<20}{'tweedie':>26}{'two_part':>26}{'tweedie - two_part':>30}")
    for metric, better in result["higher_is_better"].items():
        cells = []
        for name in ("tweedie", "two_part"):
            s = result["scores"][name][metric]
            cells.append(f"{s['value']:.4f} [{s['ci_low']:.4f}, {s['ci_high']:.4f}]")
        d = result["tweedie_minus_two_part"][metric]
        diff = f"{d['value']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]"
        arrow = "higher" if better else "lower"
        print(f"{metric:<20}{cells[0]:>26}{cells[1]:>26}{diff:>30}  ({arrow} is better)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--output", type=Path, default=Path("reports/cltv_objective.json"))
    args = parser.parse_args()
    result = compare(args.params, args.bootstrap)
    print_table(result)
    args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
