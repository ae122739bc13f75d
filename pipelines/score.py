"""Stage ``score`` and ``segments score``: score every customer with the registered models, assign
tiers and segments, explain, guard against drift, and publish a versioned export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console

from features.catalogue import KEY_COLUMNS
from features.erasure import pseudonymise
from models import tracking
from models.frames import feature_columns, predict_target
from models.population import within_population
from models.scoring import SCORE_COLUMNS, build_export, catalogue_renderer, scoring_catalogue
from pipelines import export
from pipelines.champions import check_schema, load_models
from pipelines.config import Params, load_params
from pipelines.exits import EXIT_NO_MODEL, ScoringError, unwritable
from pipelines.export_contents import assemble, id_salt
from pipelines.files import kept_secret
from pipelines.guard import check_drift
from pipelines.inputs import feature_rules
from pipelines.locking import only_writer
from pipelines.progress import Steps, progress_bar
from pipelines.scoring_inputs import add_bgnbd, model_input, scoring_features
from pipelines.uplift_model import load_for_export

_FIRST, *_OTHERS = SCORE_COLUMNS  # the order models.scoring explains the targets in
STEPS = (  # what run() shows on its progress bar, in order: one done() each
    "loading models",
    "features at the cutoff",
    "BG/NBD features",
    "drift check",
    f"predictions, tiers, segments; reasons for {_FIRST}",
    *(f"reasons for {target}" for target in _OTHERS),
    "writing the export",
    "logging to MLflow",
)


def score_all(params: Params, features: pd.DataFrame, champions, on_explained=None):
    """The export frame: each target's prediction within its population, tiers, segments and
    reasons (`models.scoring`)."""
    rules = feature_rules(params, [])
    predictions = {
        target: predict_target(
            target, champion.model, features[list(champion.model.feature_names_in_)]
        )
        for target, champion in champions.items()
    }
    render = catalogue_renderer(scoring_catalogue(rules))
    return build_export(
        features[list(KEY_COLUMNS)],
        features[feature_columns(features)],
        {t: c.model for t, c in champions.items()},
        within_population(predictions, features, rules),
        params.score.tiers,
        params.score.segments,
        render,
        params.score.top_k_reasons,
        on_explained,
    )


def _warn_drift(console: Console, drift: dict, targets) -> None:
    for target in targets:
        report = drift[target]
        moved = report.get("prediction_psi")
        if moved is not None and moved > drift["thresholds"]["warn_psi"]:
            console.print(
                f"[yellow]drift warning[/yellow] ({target}): PSI {moved:.2f} on its predictions"
            )
        for column in report.get("warn", [])[:3]:
            psi = report["psi"][column]
            console.print(f"[yellow]drift warning[/yellow] ({target}): PSI {psi:.2f} on {column}")
    for name in drift["over_limit"] if drift["allowed"] else []:
        console.print(f"[yellow]drift allowed[/yellow]: {name} is over its limit")


def _publish(params: Params, as_of: str, tables, documents, body) -> tuple[Path, bool]:
    try:
        return export.publish(params.score.exports_dir, as_of, tables, documents, body)
    except OSError as error:
        raise unwritable(error) from error


def _features(params: Params, champions, as_of, allow_drift: bool, steps: Steps):
    """Model input at the cutoff, schema-checked against every champion, and its drift."""
    features, cutoff = scoring_features(params, pd.Timestamp(as_of, tz="UTC") if as_of else None)
    steps.done()
    features = model_input(add_bgnbd(params, features))
    check_schema(champions, features)
    steps.done()
    return features, cutoff, check_drift(params, champions, features, allow_drift)


def _log_export(params: Params, folder: Path, segments: pd.DataFrame, moved) -> None:
    sample = segments[["customer_id", "segment", *SCORE_COLUMNS.values()]].head(1000)
    sample = sample.assign(customer_id=pseudonymise(sample["customer_id"], id_salt(params)))
    tracking.log_scoring_run(params.mlflow.artifact_root, folder, len(segments), moved, sample)


def run(
    params: Params,
    as_of=None,
    alias=None,
    allow_drift=False,
    exports_dir=None,
    console: Console | None = None,
) -> tuple[Path, dict]:
    """Score and publish; the caller holds the exports folder's lock (`main`, `segments score`)."""
    console = console or Console(stderr=True)
    if exports_dir is not None:
        params = params.model_copy(
            update={"score": params.score.model_copy(update={"exports_dir": Path(exports_dir)})}
        )
    tracking.configure(params.mlflow.tracking_uri)
    with progress_bar(console) as bar:
        steps = Steps(bar, "score", STEPS)
        champions = load_models(alias or params.score.model_alias, params)
        uplift = load_for_export(params)
        steps.done()
        features, cutoff, drift = _features(params, champions, as_of, allow_drift, steps)
        _warn_drift(console, drift, champions)
        steps.done()
        segments = score_all(params, features, champions, lambda _target: steps.done())
        as_of_text = f"{cutoff:%Y-%m-%d}"
        tables, documents, body, moved = assemble(
            params, segments, drift, champions, as_of_text, uplift
        )
        folder, changed = _publish(params, as_of_text, tables, documents, body)
        steps.done()
        if changed:
            _log_export(params, folder, segments, moved)
        steps.done()
    console.print(
        f"[bold]score[/bold]: {len(segments):,} customers as of {as_of_text} -> {folder}"
        + ("" if changed else " (unchanged)")
    )
    return folder, body


def main(params_path: str = "params.yaml", **options) -> tuple[Path, dict]:
    """The DVC stage: `run` while holding the exports folder's lock (as `segments score` does)."""
    params = load_params(params_path)
    with only_writer(params.score.exports_dir):
        kept_secret(params.paths.id_salt)  # the stage's declared output, even with the env salt
        return run(params, **options)


if __name__ == "__main__":
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--allow-drift", action="store_true")
    args = parser.parse_args()
    try:
        main(args.params, allow_drift=args.allow_drift)
    except ScoringError as error:
        if error.code != EXIT_NO_MODEL:
            Console(stderr=True).print(
                f"[red]score failed:[/red] {error.cause}\n  hint: {error.hint}"
            )
            sys.exit(error.code)
        # In the pipeline, no champion is an honest outcome: say so and export nothing.
        export.record_no_export(load_params(args.params).score.exports_dir, error)
        Console(stderr=True).print(
            f"[yellow]score: nothing exported[/yellow]: {error.cause}. Earlier exports, if any, "
            "are unchanged; batch jobs keep using them."
        )
