"""DVC stage ``evaluate`` (one per target): out-of-time holdout metrics for every candidate scorer
and every baseline, the champion that serves the target, plots, SHAP summaries, model card and
registration with aliases."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
from rich.console import Console

from features.targets import spec, target_names
from models import plots, tracking
from models.baselines import baseline_scores
from models.card import model_card
from models.evaluation import Evaluation, evaluate_scores, summary
from models.explain import contributions, global_importance
from models.frames import make_split, predict_target, target_cutoffs, training_horizon
from models.horizon import ServedAtHorizon
from models.probabilistic import BGNBDParams
from models.selection import choose_champion
from models.tuning import headline_score
from pipelines.config import Params, load_params
from pipelines.files import atomic_dir
from pipelines.inputs import (
    ingest_report,
    load_latent,
    load_modelling_data,
    load_prior,
    training_report,
)
from pipelines.io import write_json
from pipelines.progress import progress_bar
from synthetic.oracle import oracle_scores


def registered_name(target: str) -> str:
    return spec(target).registered_model


def previous_champion_score(target: str, X: pd.DataFrame, y) -> dict | None:
    """The champion registered before this run, on this same holdout (None when there is none)."""
    version = tracking.alias_version(registered_name(target), tracking.CHAMPION)
    if version is None:
        return None
    uri = f"models:/{registered_name(target)}@{tracking.CHAMPION}"
    try:
        champion = mlflow.sklearn.load_model(uri)
        prediction = predict_target(target, champion, X)
    except Exception as error:  # noqa: BLE001 - an unusable champion must not block evaluation
        return {"version": version, "value": None, "error": f"{type(error).__name__}: {error}"}
    return {"version": version, "value": headline_score(target, y, prediction)}


def verdict_for(evaluation: Evaluation, previous: dict | None) -> dict:
    """Which scorer serves the target, and the evidence, in one sentence a reviewer can check."""
    name, headline = evaluation.champion, evaluation.headline
    diff = evaluation.difference
    beats = diff["ci_low"] > 0
    reasons = [
        f"{name} serves ({headline} {evaluation.value(name, headline):.4f}); vs best baseline "
        f"{evaluation.best_baseline}: {diff['value']:+.4f} [{diff['ci_low']:+.4f}, "
        f"{diff['ci_high']:+.4f}] "
        + ("(interval above zero)" if beats else "(interval not above zero)")
    ]
    for step in evaluation.steps:
        d = step.difference
        outcome = "replaced it" if step.replaced else "did not replace it (interval not above 0)"
        reasons.append(
            f"{step.challenger} vs {step.incumbent}: {d['value']:+.4f} "
            f"[{d['ci_low']:+.4f}, {d['ci_high']:+.4f}], {outcome}"
        )
    if previous is not None and previous.get("value") is not None:
        reasons.append(f"previous champion v{previous['version']}: {previous['value']:.4f}")
    return {
        "champion": name,
        "promote": True,
        "beats_baseline": beats,
        "previous_champion": previous,
        "message": "; ".join(reasons),
    }


def curve_tables(
    evaluation: Evaluation, y, scores: dict, shown_score: str, label: str = "champion"
) -> dict:
    """Curves of one scorer (under ``label``) against the best baseline."""
    shown = {label: scores[shown_score], "best_baseline": scores[evaluation.best_baseline]}
    if not spec(evaluation.target).is_value:
        return {
            "roc": plots.roc_table(y, shown),
            "pr": plots.pr_table(y, shown),
            "gains": plots.gains_table(y, shown),
            "calibration": plots.calibration_table(y, scores[shown_score]),
        }
    return {
        "gains": plots.gains_table(y, shown),
        "deciles": plots.decile_table(y, scores[shown_score]),
    }


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
    shown = sample.reindex(columns=list(values.columns))  # a reason may have no input column
    for column in shown.columns:
        if not pd.api.types.is_numeric_dtype(shown[column]):
            shown[column] = pd.factorize(shown[column])[0].astype(float)
    explanation = shap.Explanation(
        values.to_numpy(),
        base_values=base,
        data=shown.to_numpy(dtype=float),
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


def load_candidates(params: Params, target: str, trained: dict) -> dict:
    folder = params.paths.models_dir / target
    return {
        name: mlflow.sklearn.load_model(str(folder / name / "model"))
        for name in trained["candidates"]
    }


def holdout_scores(params: Params, target: str, models: dict, holdout, cutoffs, horizon) -> dict:
    """Every candidate's and baseline's score on the holdout rows (and the oracle's if known)."""
    scores = {name: predict_target(target, model, holdout.X) for name, model in models.items()}
    fitted = load_prior(params, cutoffs.holdout)  # BG/NBD at the holdout cutoff, at its horizon
    prior = BGNBDParams.from_dict(fitted) if fitted else None
    scores |= baseline_scores(holdout.X, target, horizon, prior)
    latent = load_latent(params)
    if latent is not None:
        scores["oracle"] = oracle_scores(
            latent, holdout.keys["customer_id"], cutoffs.holdout, target, horizon
        )
    return scores


def evaluate_target(params: Params, target: str) -> dict:
    features, labels, plan = load_modelling_data(params)
    cutoffs = target_cutoffs(plan, target, params.train.max_training_snapshots)
    holdout = make_split(features, labels, target, [cutoffs.holdout])
    trained = training_report(params, target)
    models = load_candidates(params, target, trained)
    horizons = plan["targets"][target]
    horizon = horizons.get("holdout_horizon_days", horizons["horizon_days"])
    if not horizons.get("backtested", True):  # judged at the training horizon only
        models = {
            n: getattr(m, "model", m) if isinstance(m, ServedAtHorizon) else m
            for n, m in models.items()
        }
    y = holdout.y.to_numpy()
    with progress_bar() as bar:
        task = bar.add_task(f"evaluate {target}: candidates and baselines", total=4)

        def done(next_step: str) -> None:
            bar.update(task, advance=1, description=f"evaluate {target}: {next_step}")

        scores = holdout_scores(params, target, models, holdout, cutoffs, horizon)
        done("bootstrap intervals, champion")
        ev = evaluate_scores(
            target,
            y,
            scores,
            list(models),
            params.evaluate.n_bootstrap,
            params.evaluate.confidence,
            params.seed,
        )
        complexity = {n: c["complexity"] for n, c in trained["candidates"].items()}
        ev.champion, ev.steps = choose_champion(
            {n: ev.value(n, ev.headline) for n in models},
            ev.compare,
            complexity,
            min_difference=params.evaluate.gate.min_difference,
        )
        done("previous champion")
        tracking.configure(params.mlflow.tracking_uri)
        for candidate in trained["candidates"].values():
            tracking.require_run(candidate["run_id"], f"dvc repro -f train@{target}")
        verdict = verdict_for(ev, previous_champion_score(target, holdout.X, y))
        done("plots, SHAP summaries, registry")
        report = summary(ev) | {
            "verdict": verdict,
            "horizon_days": horizons["horizon_days"],
            "holdout_horizon_days": horizon,
            "training_horizon_days": training_horizon(horizons),
            "backtested": horizons.get("backtested", True),
            "validation_to_holdout_gap": validation_gaps(ev, trained),
            "candidate_minus_probabilistic": versus(ev, "probabilistic"),
        }
        context = _card_context(params, target, cutoffs, trained, horizon)
        card = model_card(report, context)
        for name, model in models.items():
            run_id = trained["candidates"][name]["run_id"]
            with mlflow.start_run(run_id=run_id):
                tables = curve_tables(ev, y, scores, name, label=name)
                _log_evaluation(ev, name, report, tables, model, holdout.X, params)
                mlflow.log_text(card, "model_card.md")
                mlflow.set_tags({"verdict": verdict["message"], "served": name == ev.champion})
        report["registered"] = _register(target, trained, ev)
        done("done")
    _write_outputs(params, target, report, curve_tables(ev, y, scores, ev.champion), ev)
    return report


def versus(ev: Evaluation, reference: str) -> dict:
    """Every other candidate's paired headline difference over ``reference`` (e.g. does the
    boosted model ever do worse than the probabilistic model it starts from?)."""
    if reference not in ev.candidates:
        return {}
    return {
        name: {k: round(v, 6) for k, v in ev.compare(name, reference).items()}
        for name in ev.candidates
        if name != reference
    }


def validation_gaps(ev: Evaluation, trained: dict) -> dict:
    """Per candidate: mean validation headline over the folds, holdout headline, and the gap."""
    gaps = {}
    for name, entry in trained["candidates"].items():
        holdout = ev.value(name, ev.headline)
        gaps[name] = {
            "validation": entry["best_validation"],
            "holdout": round(holdout, 6),
            "gap": round(entry["best_validation"] - holdout, 6),
        }
    return gaps


def _log_evaluation(ev: Evaluation, name: str, report: dict, tables, model, X, params) -> None:
    """One candidate's run: its own holdout metrics, every baseline's, its difference over the
    best baseline and the validation-to-holdout gap, the plots and its SHAP summary."""
    for record in ev.table.to_dict("records"):
        if record["score"] in ev.candidates and record["score"] != name:
            continue
        prefix = "holdout" if record["score"] == name else f"holdout_{record['score']}"
        mlflow.log_metrics(
            {
                f"{prefix}_{record['metric']}": record["value"],
                f"{prefix}_{record['metric']}_ci_low": record["ci_low"],
                f"{prefix}_{record['metric']}_ci_high": record["ci_high"],
            }
        )
    diff = ev.differences[name]
    gap = report["validation_to_holdout_gap"][name]
    mlflow.log_metrics(
        {
            "model_minus_best_baseline": diff["value"],
            "model_minus_best_baseline_ci_low": diff["ci_low"],
            "model_minus_best_baseline_ci_high": diff["ci_high"],
            "validation_to_holdout_gap": gap["gap"],
        }
    )
    mlflow.log_table(ev.table, "evaluation/metrics_table.json")
    mlflow.log_dict(report, "evaluation/summary.json")
    log_figures(tables, ev.target)
    log_shap(model, X, params.seed)


def _card_context(params: Params, target: str, cutoffs, trained: dict, horizon: int) -> dict:
    ingest = ingest_report(params)
    return {
        "horizon_days": horizon,
        "lookback": params.targets.churn.lookback_days,
        "training_cutoffs": ", ".join(f"{t:%Y-%m-%d}" for t in cutoffs.training),
        "validation": ", ".join(trained["validation_folds"]),
        "holdout": f"{cutoffs.holdout:%Y-%m-%d}",
        "prior_cutoff": trained.get("prior_cutoff"),
        "fingerprint": trained["data_fingerprint"][:16],
        "candidates": trained["candidates"],
        "sufficiency_message": ingest.get("sufficiency", {}).get("message"),
        "served_days": trained.get("horizon_days", horizon),
        "trained_days": trained.get("training_horizon_days", horizon),
        "backtested": trained.get("backtested", True),
    }


def _register(target: str, trained: dict, ev: Evaluation) -> dict:
    """Every candidate becomes a version of ``segments-<target>`` with an alias of its own name;
    ``champion`` points at the one that serves, ``challenger`` at the runner-up."""
    name = registered_name(target)
    versions = {}
    for candidate, entry in trained["candidates"].items():
        version = tracking.register(entry["model_uri"], name, entry["run_id"])
        tracking.tag_version(name, version, {"scorer": candidate, "target": target})
        tracking.set_alias(name, candidate, version)
        versions[candidate] = version
    runner_up = sorted(
        (c for c in versions if c != ev.champion),
        key=lambda c: ev.value(c, ev.headline),
        reverse=True,
    )
    tracking.set_alias(name, tracking.CHAMPION, versions[ev.champion])
    if runner_up:
        tracking.set_alias(name, tracking.CHALLENGER, versions[runner_up[0]])
    return {
        "name": name,
        "versions": versions,
        "champion": ev.champion,
        "version": versions[ev.champion],
    }


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
    style = "green" if report["verdict"]["beats_baseline"] else "yellow"
    Console(stderr=True).print(
        f"[bold]evaluate {target}[/bold]: [{style}]{report['verdict']['message']}"
    )
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, choices=target_names())
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    main(args.target, args.params)
