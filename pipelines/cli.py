"""The ``segments`` command: stages, scoring and export for batch jobs, measurement, erasure."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from features.ingest import IngestError
from pipelines.exits import EXIT_INPUT_REFUSED, EXIT_NOT_FOUND, ScoringError

_HELP = "Predictive customer segmentation: churn risk, future value and purchase propensity."
app = typer.Typer(name="segments", help=_HELP, no_args_is_help=True, add_completion=False)
_err = Console(stderr=True)

ParamsOption = typer.Option(Path("params.yaml"), "--params", help="Parameters file.")
QuietOption = typer.Option(False, "--quiet", help="Only errors: no progress bars or summaries.")
ExportOption = typer.Option(None, "--export", help="As-of date of the export (default: latest).")
UntilOption = typer.Option(None, "--until", help="Last day measured (default: the last event).")
EventsOption = typer.Option(None, "--events", help="Validated data (default: paths.validated_dir).")
ContactedOption = typer.Option(None, "--contacted", help="CSV of the customer_id contacted.")


def _refused(error: ScoringError) -> typer.Exit:
    """Print a refusal's cause and hint; the exit carrying its code."""
    _err.print(f"[red]error:[/red] {error.cause}", highlight=False)
    _err.print(f"  hint: {error.hint}", highlight=False)
    return typer.Exit(code=error.code)


@app.command()
def generate(params: Path = ParamsOption, quiet: bool = QuietOption) -> None:
    """Write the seeded synthetic shop (the default data) to paths.raw_dir."""
    from pipelines import generate as stage

    stage.main(str(params), console=Console(stderr=True, quiet=quiet))


@app.command()
def ingest(params: Path = ParamsOption, quiet: bool = QuietOption) -> None:
    """Validate raw events into data/validated, quarantining every rejected row with its reason."""
    from pipelines import ingest as stage

    try:
        stage.main(str(params), console=Console(stderr=True, quiet=quiet))
    except IngestError as error:
        _err.print(f"[red]ingest failed:[/red] {error}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=EXIT_INPUT_REFUSED) from error


@app.command()
def score(
    as_of: str = typer.Option(None, "--as-of", help="Cutoff date (default: the end of the data)."),
    out: Path = typer.Option(None, "--out", help="Exports folder (default: score.exports_dir)."),
    model_alias: str = typer.Option(
        None, "--model-alias", help="Registry alias (default: champion)."
    ),
    allow_drift: bool = typer.Option(False, "--allow-drift", help="Export despite feature drift."),
    csv: bool = typer.Option(False, "--csv", help="Also write segments.csv."),
    quiet: bool = QuietOption,
    params: Path = ParamsOption,
) -> None:
    """Score every customer with the registered models and publish exports/<as_of>/."""
    from pipelines.config import load_params
    from pipelines.locking import only_writer

    settings = load_params(params)
    if csv:
        settings = settings.model_copy(
            update={"score": settings.score.model_copy(update={"csv": True})}
        )
    console = Console(stderr=True, quiet=quiet)
    try:
        with only_writer(out or settings.score.exports_dir):  # refused before loading anything
            from pipelines import score as stage

            stage.run(
                settings,
                as_of=as_of,
                alias=model_alias,
                allow_drift=allow_drift,
                exports_dir=out,
                console=console,
            )
    except ScoringError as error:
        raise _refused(error) from error


@app.command()
def explain(
    customer_id: str = typer.Argument(..., help="Customer id as in the export."),
    out: Path = typer.Option(None, "--out", help="Exports folder (default: score.exports_dir)."),
    params: Path = ParamsOption,
) -> None:
    """Print one customer's scores, tiers, segment and reasons from the latest export."""
    from pipelines.config import load_params
    from pipelines.explain import render_customer

    settings = load_params(params)
    folder = out or settings.score.exports_dir
    try:
        text = render_customer(folder, customer_id)
    except (FileNotFoundError, KeyError) as error:
        _err.print(f"[red]error:[/red] {error.args[0]}", highlight=False)
        _err.print("  hint: run `segments score` first, and check the id", highlight=False)
        raise typer.Exit(code=EXIT_NOT_FOUND) from error
    Console().print(text)


@app.command()
def measure(
    export: str = ExportOption,
    until: str = UntilOption,
    contacted: Path = ContactedOption,
    events: Path = EventsOption,
    out: Path = typer.Option(None, "--out", help="Exports folder (default: score.exports_dir)."),
    params: Path = ParamsOption,
) -> None:
    """What the campaign on an export added: target vs control, per segment, with intervals."""
    from pipelines import measure as stage
    from pipelines.config import load_params

    settings = load_params(params)
    if out is not None:
        settings = settings.model_copy(
            update={"score": settings.score.model_copy(update={"exports_dir": out})}
        )
    try:
        path, result = stage.run(settings, export, until, contacted, events)
    except ScoringError as error:
        raise _refused(error) from error
    Console(width=160).print(stage.summary_table(result))
    _err.print(f"[bold]measure[/bold]: {result['status']} -> {path}", highlight=False)


@app.command()
def uplift(
    export: str = ExportOption,
    until: str = UntilOption,
    contacted: Path = ContactedOption,
    events: Path = EventsOption,
    params: Path = ParamsOption,
) -> None:
    """Learn who the campaign on an export persuaded (target vs control) for the next export;
    with --contacted, the uplift is per contacted customer."""
    from pipelines import uplift as command
    from pipelines.config import load_params

    try:
        command.show(*command.run(load_params(params), export, until, contacted, events))
    except ScoringError as error:
        raise _refused(error) from error


@app.command()
def forget(
    customer_ids: list[str] = typer.Argument(None, help="Customer ids to erase."),
    file: Path = typer.Option(None, "--file", help="A text file of ids, one a line."),
    purge_dvc_cache: bool = typer.Option(
        False, "--purge-dvc-cache", help="Also delete DVC cache objects that hold them."
    ),
    params: Path = ParamsOption,
) -> None:
    """Erase customers from the data, features, exports and MLflow artifacts, and suppress them
    in every future ingest (README "Right to erasure")."""
    from pipelines.config import load_params
    from pipelines.erasure import forget as erase

    ids = [*(customer_ids or []), *(file.read_text().splitlines() if file else [])]
    try:
        record = erase(load_params(params), ids, purge_dvc_cache)
    except (ValueError, IngestError) as error:
        _err.print(f"[red]forget failed:[/red] {error}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=EXIT_INPUT_REFUSED) from error
    settings = load_params(params).privacy
    Console(stderr=True).print(
        f"[bold]forget[/bold]: {len(record['pseudonymised_ids'])} customers suppressed; "
        f"{record['rows_removed_total']:,} rows removed from {len(record['files_touched'])} "
        f"files, logged in {settings.erasure_log}. Commit {settings.suppression}; keep "
        f"{settings.salt} backed up (without it ingest refuses the list).",
        highlight=False,
    )


@app.command()
def version() -> None:
    """Print the package and event-contract versions."""
    from importlib.metadata import version as package_version

    from features.contract import CONTRACT_VERSION

    typer.echo(f"predictive-segments {package_version('predictive-segments')}")
    typer.echo(f"event contract v{CONTRACT_VERSION}")


if __name__ == "__main__":
    app()
