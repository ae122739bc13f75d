"""The ``segments`` command: pipeline stages and, later, scoring and export for batch jobs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from features.ingest import IngestError

app = typer.Typer(
    name="segments",
    help="Predictive customer segmentation: churn risk, future value and purchase propensity.",
    no_args_is_help=True,
    add_completion=False,
)
_err = Console(stderr=True)

ParamsOption = typer.Option(Path("params.yaml"), "--params", help="Parameters file.")


@app.command()
def generate(params: Path = ParamsOption) -> None:
    """Write the seeded synthetic shop (the default data) to paths.raw_dir."""
    from pipelines import generate as stage

    stage.main(str(params))


@app.command()
def ingest(params: Path = ParamsOption) -> None:
    """Validate raw events into data/validated, quarantining every rejected row with its reason."""
    from pipelines import ingest as stage

    try:
        stage.main(str(params))
    except IngestError as error:
        _err.print(f"[red]ingest failed:[/red] {error}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=2) from error


@app.command()
def version() -> None:
    """Print the package and event-contract versions."""
    from importlib.metadata import version as package_version

    from features.contract import CONTRACT_VERSION

    typer.echo(f"predictive-segments {package_version('predictive-segments')}")
    typer.echo(f"event contract v{CONTRACT_VERSION}")


if __name__ == "__main__":
    app()
