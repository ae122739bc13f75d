"""Atomic writes and file hashes: the one implementation of each that every stage uses (and the
one kept secret, which is written the same way).

A writer fills a temporary folder or file beside its target, which is renamed into place only
when the writing succeeded, so a reader sees the old version or the new one, never half of either,
and a failure leaves no temporary behind. A folder replaces another in one step (Linux
``renameat2`` exchange), so a writer killed at any instant leaves the previous version in place;
what a killed writer leaves is a temporary, which the next writer of the same target removes.
Temporaries are made like any other folder or file (a plain ``mkdir``, a plain ``open``): the result
has the permissions the umask gives, where ``tempfile.mkdtemp`` would have left an export readable
by its owner alone.
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import glob
import hashlib
import os
import re
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

# Tests only (failure injection): a glob; a writer whose target matches it says so on stderr and
# waits for a line on stdin before its rename, so a test can kill it at that instant or let it go.
PAUSE_ENV = "SEGMENTS_TEST_PAUSE_BEFORE_RENAME"
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}")


def _beside(final: Path, kind: str) -> Path:
    """A fresh hidden name next to ``final`` (``.name.tmp-<pid>-<random>``)."""
    return final.with_name(f".{final.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def clear_stale(final: Path) -> None:
    """Remove the temporaries that writers killed on this machine left beside ``final`` (their
    process is gone); a set-aside previous version whose target is missing is put back."""
    for path in final.parent.glob(f".{glob.escape(final.name)}.*"):
        found = _TEMPORARY.fullmatch(path.name)
        if not found or found["name"] != final.name or _alive(int(found["pid"])):
            continue
        if found["kind"] == "old" and not os.path.lexists(final):
            path.rename(final)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _pause_if_asked(final: Path) -> None:
    """The failure-injection hook (`PAUSE_ENV`); nothing happens unless a test set it."""
    pattern = os.environ.get(PAUSE_ENV)
    if pattern and fnmatch.fnmatch(str(final), pattern):
        print(f"{PAUSE_ENV}: paused before renaming {final}", file=sys.stderr, flush=True)
        sys.stdin.readline()


@cache
def _renameat2():
    return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step; False where the system or file system cannot."""
    call, here = _renameat2(), -100  # AT_FDCWD
    if call is None:
        return False
    if call(here, os.fsencode(first), here, os.fsencode(second), 2) == 0:  # RENAME_EXCHANGE
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


@contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """Yield a new empty folder beside ``final``, removed on leaving unless `replace_dir` moved it.

    For writers that may decide, once the files are written, to keep ``final`` as it is."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(final)
    staging = _beside(final, "tmp")
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_dir(staging: Path, final: Path) -> None:
    """Move the finished ``staging`` folder to ``final``, replacing what was there."""
    _pause_if_asked(final)
    if not os.path.lexists(final):
        staging.rename(final)
        return
    if _exchange(staging, final):
        shutil.rmtree(staging, ignore_errors=True)  # now the previous version
        return
    old = _beside(final, "old")  # two renames: clear_stale puts it back if killed between
    final.rename(old)
    try:
        staging.rename(final)
    except BaseException:
        old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; on success it replaces ``final`` in one rename."""
    with staging_dir(final) as staging:
        yield staging
        replace_dir(staging, Path(final))


@contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final`` to write; on success it replaces ``final``."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(final)
    staging = _beside(final, "tmp")
    try:
        yield staging
        _pause_if_asked(final)
        staging.replace(final)
    finally:
        staging.unlink(missing_ok=True)


def kept_secret(path: Path) -> str:
    """The secret kept in ``path``, made on first use: random hex, written atomically and
    readable by its owner alone."""
    path = Path(path)
    if not path.exists():
        with atomic_file(path) as tmp:
            tmp.touch(mode=0o600)  # before the secret is in it
            tmp.write_text(secrets.token_hex(16))
    return path.read_text().strip()


def replace_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` (relative to the link's folder) in one rename."""
    clear_stale(link)
    staging = _beside(link, "tmp")
    staging.symlink_to(target, target_is_directory=True)
    try:
        os.replace(staging, link)
    finally:
        staging.unlink(missing_ok=True)


def _hash_into(digest, path: Path):
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest


def sha256_file(path: Path) -> str:
    """Hex sha256 of one file's bytes (the checksums of an export's manifest)."""
    return _hash_into(hashlib.sha256(), path).hexdigest()


def fingerprint(paths: list[Path]) -> str:
    """sha256 over the bytes of the given files (folders: every file below, in name order)."""
    digest = hashlib.sha256()
    for path in map(Path, paths):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            _hash_into(digest, file)
    return digest.hexdigest()
