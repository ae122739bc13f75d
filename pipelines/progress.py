"""Rich progress bars for long steps: shown on a terminal; silent under --quiet, in CI, in logs."""

from __future__ import annotations

import os

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bar(console: Console | None = None) -> Progress:
    console = console or Console(stderr=True)
    hidden = console.quiet or not console.is_terminal or bool(os.environ.get("CI"))
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=hidden,
        transient=True,
    )
