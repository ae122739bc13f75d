"""Atomic writes and file hashes: the one implementation of each that every stage uses (and the
one kept secret, which is written the same way).

A writer fills a temporary folder or file beside its target, which is renamed into place only
when the writing succeeded, so a reader sees the old version or the new one, never half of either,
and a failure leaves no temporary behind. Temporaries are made like any other folder or file (a
plain ``mkdir``, a plain ``open``): the result has the permissions the umask gives, where
``tempfile.mkdtemp`` would have left an export readable by its owner alone.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _beside(final: Path, kind: str) -> Path:
    """A fresh hidden name next to ``final`` (``.name.tmp-<pid>-<random>``)."""
    return final.with_name(f".{final.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


@contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """Yield a new empty folder beside ``final``, removed on leaving unless `replace_dir` moved it.

    For writers that may decide, once the files are written, to keep ``final`` as it is."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = _beside(final, "tmp")
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_dir(staging: Path, final: Path) -> None:
    """Move the finished ``staging`` folder to ``final``, replacing what was there."""
    if not final.exists():
        staging.rename(final)
        return
    old = _beside(final, "old")
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
    staging = _beside(final, "tmp")
    try:
        yield staging
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
