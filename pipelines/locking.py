"""One writer at a time: an exclusive lock that fails at once rather than waiting, and that the
system drops when its holder exits, killed or not; and the lock of an exports folder, which
`segments score` and the DVC ``score`` stage hold for their whole run.

Light on imports on purpose: the command takes the lock before it loads the models."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from pipelines.exits import EXIT_BUSY, ScoringError, unwritable

EXPORTS_LOCK = ".lock"  # in the exports folder


class Busy(RuntimeError):
    """Another process holds the lock asked for."""


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (made if missing), or raise `Busy` at once.

    The system releases it when its holder exits, even killed: no stale lock outlives a process.
    Opened read-only, so another user who can read the file can take the lock too."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise Busy(f"{path} is held by another process") from error
        yield
    finally:
        os.close(handle)


@contextmanager
def only_writer(exports_dir: Path) -> Iterator[None]:
    """Hold the lock of ``exports_dir``, or refuse at once (``EXIT_BUSY``): two runs never write,
    or compare migration against, the same exports folder together."""
    lock = Path(exports_dir) / EXPORTS_LOCK
    held = ExitStack()
    try:
        held.enter_context(exclusive_lock(lock))
    except Busy as error:
        raise ScoringError(
            EXIT_BUSY,
            f"another export is being written to {exports_dir} (a `segments score` or the DVC "
            f"score stage holds {lock})",
            "wait for that run to end and run again, or write elsewhere with --out; a killed "
            "run frees the lock by itself",
        ) from error
    except OSError as error:
        raise unwritable(error) from error
    with held:
        yield
