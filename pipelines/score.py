"""Stage ``score`` and ``segments score``: score every customer with the registered models, assign
tiers and segments, explain, guard against drift, and publish a versioned export."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pandas as pd
from rich.console import Console

from features.catalogue import KEY_COLUMNS, build_catalogue
from models import tracking
from models.bgnbd import BGNBD_CATALOGUE
from models.drift import model_drift, refusal
from models.frames import feature_columns, predict_target
from models.horizon import HORIZON_CATALOGUE
from models.migration import pseudonymise
from models.population import within_population
from models.scoring import SCORE_COLUMNS, build_export, catalogue_renderer
from pipelines import export
from pipelines.champions import check_schema, load_models, training_cutoffs
from pipelines.config import Params, load_params
from pipelines.exits import EXIT_DRIFT, EXIT_NO_MODEL, EXIT_UNWRITABLE, ScoringError
from pipelines.export_contents import assemble
from pipelines.inputs import feature_rules, load_features
from pipelines.progress import progress_bar
from pipelines.scoring_inputs import add_bgnbd, model_input, scoring_features

_STEPS = 9  # the done() calls in run(): what its progress bar counts


def check_drift(params: Params, champions, features: pd.DataFrame, allow: bool) -> dict:
    """PSI of each model's features between its training snapshots (pooled) and this one;
    refuses to go on when a shift is over the limit and not allowed (`models.drift`)."""
    inputs = {
        target: (list(champion.model.feature_names_in_), training_cutoffs(champion))
        for target, champion in champions.items()
    }
    limits = params.score.drift
    drift = model_drift(
        load_features(params), features, inputs, limits.warn_psi, limits.refuse_psi, allow
    )
    if (refused := refusal(drift)) is not None:
        target, column, psi = refused
        raise ScoringError(
            EXIT_DRIFT,
            f"feature drift too large: PSI {psi:.2f} on '{column}' for the {target} model "
            f"(limit {limits.refuse_psi}); {len(drift['over_limit'])} model features over",
            "the model was trained on windows unlike today's data: retrain it on recent "
            "cutoffs, or pass --allow-drift once the shift is understood (PSI per feature "
            "goes to drift.json of the export)",
        )
    return drift


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
    render = catalogue_renderer([*build_catalogue(rules), *BGNBD_CATALOGUE, *HORIZON_CATALOGUE])
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


def _salt(params: Params) -> str:
    salt = os.environ.get(params.score.id_salt_env)
    if salt:
        return salt
    path = params.paths.validated_dir.parent / ".id_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
    return path.read_text().strip()


def _warn_drift(console: Console, drift: dict, targets) -> None:
    for target in targets:
        for column in drift[target]["warn"][:3]:
            psi = drift[target]["psi"][column]
            console.print(f"[yellow]drift warning[/yellow] ({target}): PSI {psi:.2f} on {column}")


def _publish(params: Params, as_of: str, parts) -> tuple[Path, bool]:
    tables, documents, body, _ = parts
    try:
        return export.publish(params.score.exports_dir, as_of, tables, documents, body)
    except OSError as error:
        raise ScoringError(
            EXIT_UNWRITABLE,
            f"cannot write the export: {error}",
            "check --out points at a writable folder with free space",
        ) from error


def run(
    params: Params,
    as_of=None,
    alias=None,
    allow_drift=False,
    exports_dir=None,
    console: Console | None = None,
) -> tuple[Path, dict]:
    console = console or Console(stderr=True)
    if exports_dir is not None:
        params = params.model_copy(
            update={"score": params.score.model_copy(update={"exports_dir": Path(exports_dir)})}
        )
    tracking.configure(params.mlflow.tracking_uri)
    with progress_bar(console) as bar:
        task = bar.add_task("score: loading models", total=_STEPS)

        def done(next_step: str) -> None:
            bar.update(task, advance=1, description=f"score: {next_step}")

        champions = load_models(alias or params.score.model_alias)
        done("features at the cutoff")
        features, cutoff = scoring_features(
            params, pd.Timestamp(as_of, tz="UTC") if as_of else None
        )
        done("BG/NBD features")
        features = model_input(add_bgnbd(params, features))
        check_schema(champions, features)
        done("drift check")
        drift = check_drift(params, champions, features, allow_drift)
        _warn_drift(console, drift, champions)
        done("predictions, tiers, segments; reasons for churn")
        following = dict(zip(SCORE_COLUMNS, [*list(SCORE_COLUMNS)[1:], None], strict=True))
        segments = score_all(
            params,
            features,
            champions,
            on_explained=lambda t: done(
                f"reasons for {following[t]}" if following[t] else "writing the export"
            ),
        )
        as_of_text = f"{cutoff:%Y-%m-%d}"
        parts = assemble(params, segments, drift, champions, as_of_text)
        folder, changed = _publish(params, as_of_text, parts)
        done("logging to MLflow")
        if changed:
            sample = segments[["customer_id", "segment", *SCORE_COLUMNS.values()]].head(1000)
            sample = sample.assign(customer_id=pseudonymise(sample["customer_id"], _salt(params)))
            tracking.log_scoring_run(
                params.mlflow.artifact_root, folder, len(segments), parts[3], sample
            )
        done("done")
    console.print(
        f"[bold]score[/bold]: {len(segments):,} customers as of {as_of_text} -> {folder}"
        + ("" if changed else " (unchanged)")
    )
    return folder, parts[2]


def main(params_path: str = "params.yaml", **options) -> tuple[Path, dict]:
    return run(load_params(params_path), **options)


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
