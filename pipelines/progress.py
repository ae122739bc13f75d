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


class Steps:
    """A bar's task over named steps: it shows ``<prefix>: <step>`` while a step runs, and each
    `done` finishes the step shown. Its total is the number of names, so it cannot disagree
    with them; after the last, it shows ``<prefix>: done``."""

    def __init__(self, bar: Progress, prefix: str, names: list[str]):
        self.bar, self.prefix, self.names = bar, prefix, list(names)
        self.finished = 0
        self.task = bar.add_task(self._describe(), total=len(self.names))

    def _describe(self) -> str:
        shown = self.names[self.finished] if self.finished < len(self.names) else "done"
        return f"{self.prefix}: {shown}"

    def done(self) -> None:
        self.finished += 1
        self.bar.update(self.task, advance=1, description=self._describe())
