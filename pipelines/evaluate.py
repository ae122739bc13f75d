"""DVC stage ``evaluate`` (one per target): out-of-time holdout metrics for the model and every
baseline, plots, SHAP summary, model card, registration and the promotion gate."""

from __future__ import annotations

import argparse
import json

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
from rich.console import Console

from models import plots, tracking
from models.baselines import baseline_scores
from models.card import model_card
from models.evaluation import Evaluation, evaluate_scores, summary
from models.explain import contributions, global_importance
from models.frames import TASKS, make_split, predict_target, target_cutoffs
from models.metrics import HIGHER_IS_BETTER
from models.oracle import oracle_scores
from pipelines.config import Params, load_params
from pipelines.io import atomic_dir, write_json
from pipelines.progress import progress_bar
from pipelines.train import load_modelling_data


def registered_name(target: str) -> str:
    return f"segments-{target}"


def load_latent(params: Params) -> pd.DataFrame | None:
    """The generator's truth, only when the ingested source is the synthetic shop."""
    source = params.ingest.source.path.resolve()
    raw_dir = params.paths.raw_dir.resolve()
    latent = raw_dir / "latent.parquet"
    if latent.exists() and raw_dir in source.parents:
        return pd.read_parquet(latent)
    return None


def champion_score(target: str, X: pd.DataFrame, y) -> dict | None:
    """The current champion's headline metric on this same holdout (None when there is none)."""
    version = tracking.alias_version(registered_name(target), tracking.CHAMPION)
    if version is None:
        return None
    uri = f"models:/{registered_name(target)}@{tracking.CHAMPION}"
    try:
        champion = mlflow.sklearn.load_model(uri)
        prediction = predict_target(target, champion, X)
    except Exception as error:  # noqa: BLE001 - an unusable champion must not block evaluation
        return {"version": version, "value": None, "error": f"{type(error).__name__}: {error}"}
    from models.tuning import headline_score

    return {"version": version, "value": headline_score(target, y, prediction)}


def gate(evaluation: Evaluation, champion: dict | None, params: Params) -> dict:
    """Promote only when the model beats the best baseline and does not lose to the champion."""
    rules = params.evaluate.gate
    model_value = evaluation.value("model", evaluation.headline)
    beats = evaluation.beats_best_baseline(rules.min_difference)
    sign = 1 if HIGHER_IS_BETTER[evaluation.headline] else -1
    champion_value = champion.get("value") if champion else None
    holds = champion_value is None or sign * (model_value - champion_value) >= -rules.max_regression
    diff = evaluation.difference
    reasons = [
        f"{evaluation.headline} {model_value:.4f}; vs best baseline {evaluation.best_baseline}: "
        f"difference {diff['value']:+.4f} [{diff['ci_low']:+.4f}, {diff['ci_high']:+.4f}] "
        + ("(interval above zero)" if beats else "(interval NOT above zero: does not beat it)")
    ]
    if champion_value is not None:
        reasons.append(f"current champion v{champion['version']}: {champion_value:.4f}")
    elif champion:
        reasons.append(
            f"current champion v{champion['version']} could not be scored: {champion['error']}"
        )
    promote = beats and holds
    verdict = "PROMOTED to champion" if promote else "kept as challenger (not promoted)"
    return {
        "promote": promote,
        "beats_baseline": beats,
        "holds_vs_champion": holds,
        "champion": champion,
        "message": f"{verdict}: " + "; ".join(reasons),
    }


def curve_tables(evaluation: Evaluation, y, scores: dict) -> dict[str, pd.DataFrame]:
    shown = {"model": scores["model"], "best_baseline": scores[evaluation.best_baseline]}
    if TASKS[evaluation.target] == "classification":
        return {
            "roc": plots.roc_table(y, shown),
            "pr": plots.pr_table(y, shown),
            "gains": plots.gains_table(y, shown),
            "calibration": plots.calibration_table(y, scores["model"]),
        }
    return {"gains": plots.gains_table(y, shown), "deciles": plots.decile_table(y, scores["model"])}


def log_figures(tables: dict[str, pd.DataFrame], target: str) -> None:
    titles = {
        "roc": ("fpr", "ROC"),
        "pr": ("recall", "precision-recall"),
        "gains": ("share_customers", "cumulative gains"),
    }
    for name, table in tables.items():
        if name in titles:
            x, title = titles[name]
            figure = plots.line_figure(table, x, f"{target}: {title}", diagonal=name != "pr")
        elif name == "calibration":
            figure = plots.calibration_figure(table, f"{target}: calibration")
        else:
            figure = plots.decile_figure(table, f"{target}: predicted vs actual by decile")
        mlflow.log_figure(figure, f"plots/{name}.png")
        plt.close(figure)


def log_shap(model, X: pd.DataFrame, seed: int) -> pd.DataFrame:
    import shap

    sample = X.sample(min(2000, len(X)), random_state=seed)
    values, base = contributions(model, sample)
    explanation = shap.Explanation(
        values.to_numpy(),
        base_values=base,
        data=model.encode(sample).to_numpy(),
        feature_names=list(values.columns),
    )
    shap.plots.beeswarm(explanation, max_display=20, show=False)
    figure = plt.gcf()
    figure.set_size_inches(8, 7)
    figure.tight_layout()
    mlflow.log_figure(figure, "shap/beeswarm.png")
    plt.close(figure)
    importance = global_importance(values)
    mlflow.log_table(importance, "shap/global_importance.json")
    return importance


def evaluate_target(params: Params, target: str) -> dict:
    features, labels, plan = load_modelling_data(params)
    cutoffs = target_cutoffs(plan, target, params.train.max_training_snapshots)
    holdout = make_split(features, labels, target, [cutoffs.holdout])
    trained = json.loads((params.paths.reports_dir / "train" / f"{target}.json").read_text())
    model = mlflow.sklearn.load_model(str(params.paths.models_dir / target / "model"))
    horizon = plan["targets"][target]["horizon_days"]
    with progress_bar() as bar:
        task = bar.add_task(f"evaluate {target}: model and baselines", total=4)

        def done(next_step: str) -> None:
            bar.update(task, advance=1, description=f"evaluate {target}: {next_step}")

        scores = {"model": predict_target(target, model, holdout.X)}
        scores |= baseline_scores(holdout.X, target, horizon)
        latent = load_latent(params)
        if latent is not None:
            scores["oracle"] = oracle_scores(
                latent, holdout.keys["customer_id"], cutoffs.holdout, target, horizon
            )
        done("bootstrap intervals")
        ev = evaluate_scores(
            target,
            holdout.y.to_numpy(),
            scores,
            params.evaluate.n_bootstrap,
            params.evaluate.confidence,
            params.seed,
        )
        done("current champion")
        tracking.configure(params.mlflow.tracking_uri)
        tracking.require_run(trained["run_id"], f"dvc repro -f train@{target}")
        champion = champion_score(target, holdout.X, holdout.y.to_numpy())
        verdict = gate(ev, champion, params)
        done("plots, SHAP summary, MLflow")
        tables = curve_tables(ev, holdout.y.to_numpy(), scores)
        report = summary(ev) | {"verdict": verdict}
        with mlflow.start_run(run_id=trained["run_id"]):
            _log_evaluation(ev, report, tables, model, holdout.X, params)
            context = _card_context(params, target, cutoffs, trained, horizon)
            mlflow.log_text(model_card(report, context), "model_card.md")
            report["registered"] = _register(target, trained, verdict)
            mlflow.set_tags(
                {
                    "verdict": verdict["message"],
                    "registered_version": report["registered"]["version"],
                }
            )
        done("done")
    _write_outputs(params, target, report, tables, ev)
    return report


def _log_evaluation(ev: Evaluation, report: dict, tables, model, X, params: Params) -> None:
    for record in ev.table.to_dict("records"):
        prefix = "holdout" if record["score"] == "model" else f"holdout_{record['score']}"
        mlflow.log_metrics(
            {
                f"{prefix}_{record['metric']}": record["value"],
                f"{prefix}_{record['metric']}_ci_low": record["ci_low"],
                f"{prefix}_{record['metric']}_ci_high": record["ci_high"],
            }
        )
    diff = ev.difference
    mlflow.log_metrics(
        {
            "model_minus_best_baseline": diff["value"],
            "model_minus_best_baseline_ci_low": diff["ci_low"],
            "model_minus_best_baseline_ci_high": diff["ci_high"],
        }
    )
    mlflow.log_table(ev.table, "evaluation/metrics_table.json")
    mlflow.log_dict(report, "evaluation/summary.json")
    log_figures(tables, ev.target)
    log_shap(model, X, params.seed)


def _card_context(params: Params, target: str, cutoffs, trained: dict, horizon: int) -> dict:
    ingest = (
        json.loads(params.paths.ingest_report.read_text())
        if params.paths.ingest_report.exists()
        else {}
    )
    return {
        "horizon_days": horizon,
        "lookback": params.targets.churn.lookback_days,
        "training_cutoffs": ", ".join(f"{t:%Y-%m-%d}" for t in cutoffs.training),
        "validation": f"{cutoffs.validation:%Y-%m-%d}",
        "holdout": f"{cutoffs.holdout:%Y-%m-%d}",
        "fingerprint": trained["data_fingerprint"][:16],
        "model_kind": "Tweedie regression" if TASKS[target] == "value" else "calibrated classifier",
        "best_params": trained["best_params"],
        "sufficiency_message": ingest.get("sufficiency", {}).get("message"),
    }


def _register(target: str, trained: dict, verdict: dict) -> dict:
    name = registered_name(target)
    version = tracking.register(trained["model_uri"], name, trained["run_id"])
    tracking.set_alias(name, tracking.CHALLENGER, version)
    if verdict["promote"]:
        tracking.set_alias(name, tracking.CHAMPION, version)
    return {"name": name, "version": version, "champion": verdict["promote"]}


def _write_outputs(params: Params, target: str, report: dict, tables, ev: Evaluation) -> None:
    folder = params.paths.reports_dir / "evaluate"
    with atomic_dir(folder / f"{target}_plots") as out:
        for name, table in tables.items():
            table.round(6).to_csv(out / f"{name}.csv", index=False)
        ev.table.round(6).to_csv(out / "metrics_table.csv", index=False)
    write_json(report, folder / f"{target}.json")


def main(target: str, params_path: str = "params.yaml") -> dict:
    params = load_params(params_path)
    report = evaluate_target(params, target)
    style = "green" if report["verdict"]["promote"] else "yellow"
    Console(stderr=True).print(
        f"[bold]evaluate {target}[/bold]: [{style}]{report['verdict']['message']}"
    )
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, choices=sorted(TASKS))
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    main(args.target, args.params)
