"""Writing an export for batch jobs: versioned, checksummed, atomic and idempotent.

Files are written to a temporary folder beside ``exports/<as_of>/`` and renamed into place; the
``latest`` symlink is replaced atomically. A reader therefore sees the previous export or the new
one, never half of either. Re-running with the same inputs leaves an identical export untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.io import to_arrow

SCHEMA_VERSION = "1.0"
MANIFEST = "manifest.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def previous_export(exports_dir: Path, as_of: str) -> Path | None:
    """The newest existing export strictly before ``as_of`` (what migration compares against)."""
    if not exports_dir.exists():
        return None
    earlier = sorted(
        p
        for p in exports_dir.iterdir()
        if p.is_dir()
        and not p.is_symlink()
        and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name)
        and p.name < as_of
        and (p / MANIFEST).exists()
    )
    return earlier[-1] if earlier else None


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(to_arrow(frame), path)


def write_files(folder: Path, tables: dict[str, pd.DataFrame], documents: dict) -> None:
    for name, frame in tables.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet"):
            _write_table(frame, path)
        else:
            frame.to_csv(path, index=False, lineterminator="\n")
    for name, document in documents.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(document, str):
            path.write_text(document)
        else:
            path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def publish(
    exports_dir: Path,
    as_of: str,
    tables: dict[str, pd.DataFrame],
    documents: dict[str, dict],
    manifest: dict,
) -> tuple[Path, bool]:
    """Write the export atomically; returns its folder and whether anything changed."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    final = exports_dir / as_of
    tmp = Path(tempfile.mkdtemp(prefix=f".{as_of}.tmp-", dir=exports_dir))
    try:
        write_files(tmp, tables, documents)
        files = checksums(tmp)
        if final.exists() and _existing_checksums(final) == files:
            _point_latest(exports_dir, as_of)
            return final, False
        manifest = {
            **manifest,
            "schema_version": SCHEMA_VERSION,
            "as_of": as_of,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
        }
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
        )
        _swap_in(tmp, final)
        _point_latest(exports_dir, as_of)
        return final, True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _existing_checksums(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError):
        return None


def _swap_in(tmp: Path, final: Path) -> None:
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)


def _point_latest(exports_dir: Path, as_of: str) -> None:
    link = exports_dir / "latest"
    staging = exports_dir / f".latest.tmp-{os.getpid()}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(as_of, target_is_directory=True)
    os.replace(staging, link)


def read_latest(exports_dir: Path) -> tuple[pd.DataFrame, dict]:
    """The export the ``latest`` pointer names, checksums verified."""
    folder = (exports_dir / "latest").resolve()
    manifest = json.loads((folder / MANIFEST).read_text())
    for name, digest in manifest["files"].items():
        if sha256(folder / name) != digest:
            raise ValueError(f"{folder / name}: checksum does not match the manifest")
    return pd.read_parquet(folder / "segments.parquet"), manifest
