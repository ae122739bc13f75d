"""Stage ``score`` and ``segments score``: score every customer with the registered models, assign
tiers and segments, explain, guard against drift, and publish a versioned export."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from rich.console import Console

from features.catalogue import build_catalogue
from features.engine import compute_features, connect_duckdb, event_span, load_tables
from features.snapshots import scoring_cutoff
from features.targets import TARGETS, spec
from models import tracking
from models.bgnbd import BGNBD_CATALOGUE, bgnbd_features, rfm_summary
from models.drift import drift_report
from models.frames import as_model_input, predict_target, training_horizon
from models.horizon import HORIZON_CATALOGUE
from models.migration import migration, pseudonymise, transition_table
from models.scoring import SCORE_COLUMNS, build_export, catalogue_renderer
from pipelines import export
from pipelines.config import Params
from pipelines.exits import (
    EXIT_DRIFT,
    EXIT_NO_DATA,
    EXIT_NO_MODEL,
    EXIT_SCHEMA,
    EXIT_UNWRITABLE,
    ScoringError,
)
from pipelines.inputs import (
    FEATURES,
    data_fingerprint,
    evidence,
    feature_rules,
    load_features,
    planned_targets,
)
from pipelines.progress import progress_bar
from pipelines.report import segment_report

_STEPS = 9  # the done() calls in run(): what its progress bar counts


@dataclass
class Champion:
    target: str
    version: str
    run_id: str
    pyfunc: object
    model: object
    scorer: str = "xgboost"  # which candidate this version is (models.selection)


def load_models(alias: str) -> dict[str, Champion]:
    """The registered model each target's ``alias`` points at (pyfunc and sklearn views)."""
    found = {}
    for target in TARGETS:
        name = spec(target).registered_model
        version = tracking.alias_version(name, alias)
        if version is None:
            raise ScoringError(
                EXIT_NO_MODEL,
                f"no '{alias}' model registered for {target} ({name})",
                "run `dvc repro` (a model becomes champion only when it beats the baselines), "
                "or score with --model-alias challenger",
            )
        uri = f"models:/{name}@{alias}"
        registered = mlflow.MlflowClient().get_model_version(name, version)
        found[target] = Champion(
            target,
            version,
            registered.run_id,
            mlflow.pyfunc.load_model(uri),
            mlflow.sklearn.load_model(uri),
            registered.tags.get("scorer", "xgboost"),
        )
    return found


def scoring_features(
    params: Params, as_of: pd.Timestamp | None
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Point-in-time features at ``as_of`` (default: the end of the data)."""
    con = connect_duckdb()
    events, customers = load_tables(con, params.paths.validated_dir)
    first, last = event_span(con, events)
    as_of = as_of or scoring_cutoff(last)
    rules = feature_rules(params, list(customers.columns))
    features = compute_features(con, events, customers, as_of, rules)
    if len(features) == 0:
        raise ScoringError(
            EXIT_NO_DATA,
            f"no customers are known before {as_of:%Y-%m-%d}",
            f"events span {first:%Y-%m-%d} to {last:%Y-%m-%d}; pick an --as-of inside it",
        )
    return features, as_of


def _stored_bgnbd(params: Params, features: pd.DataFrame) -> pd.DataFrame | None:
    """The bgnbd stage's rows for this cutoff, if they were fitted on these same features."""
    as_of = features["as_of"].iloc[0]
    if not (params.paths.bgnbd.exists() and (params.paths.features_dir / FEATURES).exists()):
        return None
    before = rfm_summary(load_features(params, as_of))
    now = rfm_summary(features)
    # Parallel sums may differ in the last bits between runs: ids exactly, values closely.
    numbers = ["frequency", "recency", "T", "monetary_value"]
    same_ids = (
        len(before) == len(now)
        and (before["customer_id"].to_numpy() == now["customer_id"].to_numpy()).all()
    )
    if not same_ids or not np.allclose(before[numbers], now[numbers], rtol=1e-9, equal_nan=True):
        return None
    return pd.read_parquet(params.paths.bgnbd, filters=[("as_of", "==", as_of)])


def add_bgnbd(params: Params, features: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma columns at the same cutoff, with the horizons the models used.

    The ``bgnbd`` stage already fitted them at the pipeline's scoring cutoff: reuse those when
    they were fitted on exactly these features, fit afresh otherwise (another --as-of, new data).
    """
    stored = _stored_bgnbd(params, features)
    if stored is not None:
        return features.merge(stored, on=["customer_id", "as_of"], how="left")
    horizons = params.targets.horizons()
    if planned := planned_targets(params):  # models may be trained at shorter horizons than asked
        horizons = {t: training_horizon(e) for t, e in planned.items()}
    extra, _ = bgnbd_features(features, horizons)
    extra = extra.drop(columns="customer_id")
    return pd.concat([features, extra.set_index(features.index)], axis=1)


def check_schema(champions: dict[str, Champion], features: pd.DataFrame) -> None:
    """MLflow signature enforcement: a missing or mistyped feature is a clear error."""
    for champion in champions.values():
        try:
            champion.pyfunc.predict(features.head(50))
        except (mlflow.exceptions.MlflowException, ValueError) as error:
            message = str(error)
            cause = message[message.find("Error:") + 7 :] if "Error:" in message else message
            cause = cause.splitlines()[0][:300]
            raise ScoringError(
                EXIT_SCHEMA,
                f"{champion.target} model v{champion.version}: {cause}",
                "retrain (`dvc repro`) so models and features match",
            ) from error


def _training_cutoffs(champion: Champion) -> list[pd.Timestamp]:
    tags = mlflow.MlflowClient().get_run(champion.run_id).data.tags
    cutoffs = [t for t in tags.get("training_cutoffs", "").split(",") if t]
    return [pd.Timestamp(t, tz="UTC") for t in [*cutoffs, tags["validation_cutoff"]]]


def check_drift(params: Params, champions, features: pd.DataFrame, allow: bool) -> dict:
    """PSI of each model's features between its training snapshots (pooled) and this one."""
    reference = load_features(params)
    drift, over = {}, []
    for target, champion in champions.items():
        cutoffs = _training_cutoffs(champion)
        columns = [c for c in champion.model.feature_names_in_ if c in reference]
        report = drift_report(
            reference.loc[reference["as_of"].isin(cutoffs), columns],
            features[columns],
            params.score.drift.warn_psi,
            params.score.drift.refuse_psi,
        )
        report["reference_cutoffs"] = [f"{t:%Y-%m-%d}" for t in cutoffs]
        drift[target] = report
        over += [(report["psi"][c], target, c) for c in report["refuse"]]
    drift["over_limit"] = [f"{t}:{c}" for _, t, c in sorted(over, reverse=True)]
    drift["allowed"] = bool(allow)
    if over and not allow:
        psi, target, column = max(over)
        raise ScoringError(
            EXIT_DRIFT,
            f"feature drift too large: PSI {psi:.2f} on '{column}' for the {target} model "
            f"(limit {params.score.drift.refuse_psi}); {len(over)} model features over",
            "the model was trained on windows unlike today's data: retrain it on recent "
            "cutoffs, or pass --allow-drift once the shift is understood (PSI per feature "
            "goes to drift.json of the export)",
        )
    return drift


def score_all(
    params: Params, features: pd.DataFrame, champions, lookback_days: int, on_explained=None
) -> pd.DataFrame:
    X_columns = [c for c in features.columns if c not in ("customer_id", "as_of")]
    predictions = {}
    for target, champion in champions.items():
        X = features[list(champion.model.feature_names_in_)]
        predictions[target] = predict_target(target, champion.model, X)
    eligible = features["days_since_last_order"].le(lookback_days).to_numpy()
    predictions["churn"] = np.where(eligible, predictions["churn"], np.nan)
    render = catalogue_renderer(
        [*build_catalogue(feature_rules(params, [])), *BGNBD_CATALOGUE, *HORIZON_CATALOGUE]
    )
    models = {t: c.model for t, c in champions.items()}
    return build_export(
        features[["customer_id", "as_of"]],
        features[X_columns],
        models,
        predictions,
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


def assemble(params: Params, segments: pd.DataFrame, drift: dict, champions, as_of: str):
    """Tables and documents of the export, plus its manifest body and the migration result."""
    customers = pd.read_parquet(params.paths.validated_dir / "customers.parquet")
    consent = customers.set_index("customer_id")["marketing_consent"]
    segments = segments.assign(
        marketing_consent=segments["customer_id"].map(consent).astype("boolean").to_numpy()
    )
    tables = {"segments.parquet": segments}
    if params.score.csv:
        tables["segments.csv"] = segments
    consented = segments[segments["marketing_consent"].fillna(False).astype(bool)]
    activation_columns = ["customer_id", "segment", "churn_tier", "propensity_tier", "value_level"]
    for name, group in consented.groupby("segment", sort=True):
        tables[f"activation/{export.slug(name)}.csv"] = group[activation_columns]
    documents = {"drift.json": drift, "provenance.json": provenance(params, champions)}
    previous = export.previous_export(params.score.exports_dir, as_of)
    moved = None
    if previous is not None:
        before = pd.read_parquet(previous / "segments.parquet")
        moved = migration(before, segments)
        tables["migration/segment_transitions.csv"] = transition_table(moved)
        tier_moves = migration(before, segments, "value_tier")
        tables["migration/value_tier_transitions.csv"] = transition_table(tier_moves)
        documents["migration/summary.json"] = {
            "previous_as_of": previous.name,
            "segment": {k: v for k, v in moved.items() if k != "matrix"},
            "value_tier": {k: v for k, v in tier_moves.items() if k != "matrix"},
        }
    documents["report.html"] = segment_report(
        segments,
        as_of,
        provenance(params, champions)["models"],
        params.paths.reports_dir,
        documents.get("migration/summary.json"),
        tables.get("migration/segment_transitions.csv"),
    )
    body = {
        "rows": len(segments),
        "counts": {
            c: segments[c].value_counts().sort_index().to_dict()
            for c in ("segment", "churn_tier", "propensity_tier", "value_tier", "rfm_group")
        },
        "excluded_from_activation_no_consent": int(len(segments) - len(consented)),
        "drift_over_limit": drift["over_limit"],
        "drift_allowed": drift["allowed"],
        **provenance(params, champions),
    }
    return tables, documents, body, moved


def horizon_plan(params: Params) -> dict:
    """Per target: the horizon it is served at, the one its models were trained at, and whether
    the served horizon was backtested (`features.snapshots`)."""
    return {
        target: {
            "horizon_days": entry["horizon_days"],
            "training_horizon_days": training_horizon(entry),
            "backtested": entry.get("backtested", True),
        }
        for target, entry in planned_targets(params).items()
    }


def provenance(params: Params, champions) -> dict:
    return {
        "horizons": horizon_plan(params),
        "models": {
            t: {
                "name": spec(t).registered_model,
                "version": c.version,
                "run_id": c.run_id,
                "scorer": c.scorer,
                "evidence": evidence(params, t),
            }
            for t, c in champions.items()
        },
        "data_fingerprint": data_fingerprint(params),
    }


def log_scoring_run(
    params: Params, folder: Path, moved: dict | None, segments: pd.DataFrame
) -> None:
    tracking.experiment_for("scoring", params.mlflow.artifact_root)
    with mlflow.start_run(run_name=f"score-{folder.name}"):
        mlflow.log_params({"as_of": folder.name, "rows": len(segments)})
        mlflow.log_artifact(str(folder / "manifest.json"))
        mlflow.log_artifact(str(folder / "drift.json"))
        mlflow.log_artifact(str(folder / "report.html"))
        if moved is not None:
            mlflow.log_metric("segment_stability_share", moved["stability_share"])
            mlflow.log_artifacts(str(folder / "migration"), "migration")
        sample = segments[["customer_id", "segment", *SCORE_COLUMNS.values()]].head(1000)
        sample = sample.assign(customer_id=pseudonymise(sample["customer_id"], _salt(params)))
        mlflow.log_table(sample, "segments_sample_pseudonymised.json")


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
        cutoff_at = pd.Timestamp(as_of, tz="UTC") if as_of else None
        features, cutoff = scoring_features(params, cutoff_at)
        done("BG/NBD features")
        features = add_bgnbd(params, features)
        keys = ["customer_id", "as_of"]
        features = pd.concat([features[keys], as_model_input(features.drop(columns=keys))], axis=1)
        check_schema(champions, features)
        done("drift check")
        drift = check_drift(params, champions, features, allow_drift)
        for target in champions:
            for column in drift[target]["warn"][:3]:
                psi = drift[target]["psi"][column]
                console.print(
                    f"[yellow]drift warning[/yellow] ({target}): PSI {psi:.2f} on {column}"
                )
        done("predictions, tiers, segments; reasons for churn")
        following = dict(zip(SCORE_COLUMNS, [*list(SCORE_COLUMNS)[1:], None], strict=True))
        segments = score_all(
            params,
            features,
            champions,
            params.targets.churn.lookback_days or 365,
            on_explained=lambda t: done(
                f"reasons for {following[t]}" if following[t] else "writing the export"
            ),
        )
        as_of_text = f"{cutoff:%Y-%m-%d}"
        tables, documents, body, moved = assemble(params, segments, drift, champions, as_of_text)
        try:
            folder, changed = export.publish(
                params.score.exports_dir, as_of_text, tables, documents, body
            )
        except OSError as error:
            raise ScoringError(
                EXIT_UNWRITABLE,
                f"cannot write the export: {error}",
                "check --out points at a writable folder with free space",
            ) from error
        done("logging to MLflow")
        if changed:
            log_scoring_run(params, folder, moved, segments)
        done("done")
    console.print(
        f"[bold]score[/bold]: {len(segments):,} customers as of {as_of_text} -> {folder}"
        + ("" if changed else " (unchanged)")
    )
    return folder, body


def record_no_export(params_path: str, error: ScoringError) -> None:
    """Leave ``exports/last_run.json`` saying why nothing was exported (earlier exports stay)."""
    from pipelines.config import load_params
    from pipelines.io import write_json

    exports_dir = load_params(params_path).score.exports_dir
    exports_dir.mkdir(parents=True, exist_ok=True)
    write_json(
        {"exported": False, "reason": error.cause, "hint": error.hint},
        exports_dir / "last_run.json",
    )
    Console(stderr=True).print(
        f"[yellow]score: nothing exported[/yellow]: {error.cause}. Earlier exports, if any, "
        "are unchanged; batch jobs keep using them."
    )


def main(params_path: str = "params.yaml", **options) -> tuple[Path, dict]:
    from pipelines.config import load_params

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
        record_no_export(args.params, error)
