"""The promotion gate on the holdout: which candidate serves a target, which is its challenger, and
the verdict a reviewer reads, with the comparisons behind it.

`models.selection.choose_champion` walks the candidates simplest first; this module applies it to
an `Evaluation` and states the outcome. Registration and aliases follow it in the evaluate stage.
"""

from __future__ import annotations

from models.evaluation import Evaluation
from models.horizon import ServedAtHorizon
from models.selection import choose_champion


def judged_models(models: dict, backtested: bool) -> dict:
    """The candidates as the holdout judges them: a target whose served horizon could not be
    backtested is judged at the training horizon, without the rescaling to the served one."""
    if backtested:
        return models
    return {
        n: getattr(m, "model", m) if isinstance(m, ServedAtHorizon) else m
        for n, m in models.items()
    }


def promote(
    ev: Evaluation,
    complexity: dict[str, int],
    min_difference: float,
    refused: dict[str, str] | None = None,
) -> Evaluation:
    """Set the champion and the comparisons that chose it (simplest first; a more complex
    candidate replaces it only when its paired interval's lower bound exceeds
    ``min_difference``), among the candidates the fairness gate did not refuse (``refused``:
    candidate -> reason). When it refused them all, the champion is chosen among all for the
    record but is not promoted (`Evaluation.promoted`)."""
    ev.refused = dict(refused or {})
    allowed = [n for n in ev.candidates if n not in ev.refused] or ev.candidates
    ev.champion, ev.steps = choose_champion(
        {n: ev.value(n, ev.headline) for n in allowed},
        ev.compare,
        complexity,
        min_difference=min_difference,
    )
    return ev


def runner_up(ev: Evaluation) -> str | None:
    """The best candidate on the headline other than the champion, and not refused by the
    fairness gate: the ``challenger``."""
    others = sorted(
        (c for c in ev.candidates if c != ev.champion and c not in ev.refused),
        key=lambda c: ev.value(c, ev.headline),
        reverse=True,
    )
    return others[0] if others else None


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
    reasons += [f"{n} refused by the fairness gate: {why}" for n, why in evaluation.refused.items()]
    if not evaluation.promoted:
        reasons.insert(0, f"NOT PROMOTED: the fairness gate refused every candidate, {name} too")
    return {
        "champion": name,
        "promote": evaluation.promoted,
        "beats_baseline": beats,
        "previous_champion": previous,
        "message": "; ".join(reasons),
    }


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
