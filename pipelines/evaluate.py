"""DVC stage ``evaluate`` (one per target): out-of-time holdout metrics for every candidate scorer
and every baseline, the champion that serves the target, plots, SHAP summaries, model card and
registration with aliases."""

from __future__ import annotations

import argparse

from rich.console import Console

from features.targets import target_names
from models import tracking
from models.baselines import baseline_scores
from models.card import model_card
from models.evaluation import Evaluation, evaluate_scores, summary
from models.evaluation_run import curve_tables, log_candidate_runs
from models.fairness import AuditSettings, HoldoutAudit
from models.frames import make_split, predict_target, target_cutoffs, training_horizon
from models.probabilistic import BGNBDParams
from models.promotion import judged_models, promote, validation_gaps, verdict_for, versus
from pipelines.config import Params, load_params
from pipelines.files import atomic_dir
from pipelines.inputs import (
    ingest_report,
    load_latent,
    load_modelling_data,
    load_prior,
    sensitive_attributes,
    training_report,
)
from pipelines.io import write_json
from pipelines.progress import Steps, progress_bar
from pipelines.registry import load_candidates, previous_champion_score, register_candidates
from synthetic.oracle import oracle_scores

STEPS = (
    "candidates and baselines",
    "bootstrap intervals, fairness audit, champion",
    "previous champion",
    "plots, SHAP summaries, registry",
)


def holdout_inputs(params: Params, target: str):
    """The holdout rows, the target's cutoffs and plan entry, its training report and its
    candidates as the holdout judges them."""
    features, labels, plan = load_modelling_data(params)
    cutoffs = target_cutoffs(plan, target, params.train.max_training_snapshots)
    holdout = make_split(features, labels, target, [cutoffs.holdout])
    trained = training_report(params, target)
    horizons = plan["targets"][target]
    models = load_candidates(params, target, trained)
    return (
        holdout,
        cutoffs,
        horizons,
        trained,
        judged_models(models, horizons.get("backtested", True)),
    )


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


def fairness_audit(params: Params, target: str, keys, y, scores: dict, horizon) -> HoldoutAudit:
    """The holdout's audit by the sensitive attributes of its customers (`models.fairness`)."""
    attributes, absent = sensitive_attributes(params, keys["customer_id"])
    fair = params.fairness
    settings = AuditSettings(fair.n_bootstrap, fair.min_group_size, fair.confidence, params.seed)
    return HoldoutAudit(
        target, y, scores, attributes, absent, params.score.tiers, horizon, settings
    )


def judge(params: Params, target: str, y, scores: dict, trained: dict, audit) -> Evaluation:
    """Metrics with intervals for every score, the fairness audit of every candidate, and the
    champion the gate lets serve."""
    candidates = list(trained["candidates"])
    limits = params.evaluate.fairness
    fairness = audit.run(candidates, limits.max_disparity, limits.max_opportunity_difference)
    ev = evaluate_scores(
        target,
        y,
        scores,
        candidates,
        params.evaluate.n_bootstrap,
        params.evaluate.confidence,
        params.seed,
    )
    complexity = {n: c["complexity"] for n, c in trained["candidates"].items()}
    ev = promote(ev, complexity, params.evaluate.gate.min_difference, fairness["refused"])
    ev.extra["fairness"] = audit.add_intervals(fairness, ev.champion)
    return ev


def evaluate_target(params: Params, target: str) -> dict:
    holdout, cutoffs, horizons, trained, models = holdout_inputs(params, target)
    horizon = horizons.get("holdout_horizon_days", horizons["horizon_days"])
    y = holdout.y.to_numpy()
    with progress_bar() as bar:
        steps = Steps(bar, f"evaluate {target}", STEPS)
        scores = holdout_scores(params, target, models, holdout, cutoffs, horizon)
        steps.done()
        audit = fairness_audit(params, target, holdout.keys, y, scores, horizon)
        ev = judge(params, target, y, scores, trained, audit)
        steps.done()
        tracking.configure(params.mlflow.tracking_uri)
        run_ids = {name: entry["run_id"] for name, entry in trained["candidates"].items()}
        for run_id in run_ids.values():
            tracking.require_run(run_id, f"dvc repro -f train@{target}")
        verdict = verdict_for(ev, previous_champion_score(target, holdout.X, y))
        steps.done()
        report = summary(ev) | {
            "verdict": verdict,
            "horizon_days": horizons["horizon_days"],
            "holdout_horizon_days": horizon,
            "training_horizon_days": training_horizon(horizons),
            "backtested": horizons.get("backtested", True),
            "validation_to_holdout_gap": validation_gaps(ev, trained),
            "candidate_minus_probabilistic": versus(ev, "probabilistic"),
        }
        card = model_card(report, _card_context(params, target, cutoffs, trained, horizon))
        log_candidate_runs(ev, models, run_ids, (holdout.X, y, scores), report, card, params.seed)
        report["registered"] = register_candidates(target, trained, ev)
        steps.done()
    _write_outputs(params, target, report, curve_tables(ev, y, scores, ev.champion), ev)
    return report


def _card_context(params: Params, target: str, cutoffs, trained: dict, horizon: int) -> dict:
    return {
        "horizon_days": horizon,
        "lookback": params.targets.churn.lookback_days,
        "training_cutoffs": ", ".join(f"{t:%Y-%m-%d}" for t in cutoffs.training),
        "validation": ", ".join(trained["validation_folds"]),
        "holdout": f"{cutoffs.holdout:%Y-%m-%d}",
        "prior_cutoff": trained.get("prior_cutoff"),
        "fingerprint": trained["data_fingerprint"][:16],
        "candidates": trained["candidates"],
        "sufficiency_message": ingest_report(params).get("sufficiency", {}).get("message"),
        "served_days": trained.get("horizon_days", horizon),
        "trained_days": trained.get("training_horizon_days", horizon),
        "backtested": trained.get("backtested", True),
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
    verdict = report["verdict"]
    style = "green" if verdict["beats_baseline"] and verdict["promote"] else "yellow"
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
