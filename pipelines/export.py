"""Writing an export for batch jobs: versioned, checksummed, atomic and idempotent.

Files are written to a temporary folder beside ``exports/<as_of>/`` and renamed into place; the
``latest`` symlink is replaced atomically. A reader therefore sees the previous export or the new
one, never half of either. Re-running with the same inputs leaves an identical export untouched.
Its caller holds the folder's lock (`pipelines.locking.only_writer`): a second writer is refused.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from features.targets import schema_version
from pipelines.files import replace_dir, replace_symlink, sha256_file, staging_dir
from pipelines.io import write_json, write_parquet

SCHEMA_VERSION = schema_version()
MANIFEST = "manifest.json"
MEASUREMENT = "measurement"  # written later by `segments measure`, beside the export
UPLIFT = "uplift"  # written later by `segments uplift`, beside the export


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


def write_files(folder: Path, tables: dict[str, pd.DataFrame], documents: dict) -> None:
    for name, frame in tables.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet"):
            write_parquet(frame, path)
        else:
            frame.to_csv(path, index=False, lineterminator="\n")
    for name, document in documents.items():
        path = folder / name
        if isinstance(document, str):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(document)
        else:
            write_json(document, path)


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p)
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
    final = exports_dir / as_of
    with staging_dir(final) as staging:
        write_files(staging, tables, documents)
        files = checksums(staging)
        if final.exists() and _existing_checksums(final) == files:
            replace_symlink(exports_dir / "latest", as_of)
            return final, False
        manifest = {
            **manifest,
            "schema_version": SCHEMA_VERSION,
            "as_of": as_of,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
        }
        write_json(manifest, staging / MANIFEST)
        _keep_measurements(final, staging)
        replace_dir(staging, final)
    replace_symlink(exports_dir / "latest", as_of)
    return final, True


def _keep_measurements(final: Path, staging: Path) -> None:
    """Measurements of a campaign on an earlier version of this export, and the uplift model
    learned from it, stay with its date (each names the export it read); they are not part of
    the export's checksums."""
    for name in (MEASUREMENT, UPLIFT):
        if (final / name).is_dir():
            shutil.copytree(final / name, staging / name)


def _existing_checksums(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError):
        return None


def record_no_export(exports_dir: Path, refusal) -> None:
    """Leave ``last_run.json`` saying why nothing was exported (earlier exports stay)."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    write_json(
        {"exported": False, "reason": refusal.cause, "hint": refusal.hint},
        exports_dir / "last_run.json",
    )


def read_latest(exports_dir: Path) -> tuple[pd.DataFrame, dict]:
    """The export the ``latest`` pointer names, checksums verified."""
    folder = (exports_dir / "latest").resolve()
    manifest = json.loads((folder / MANIFEST).read_text())
    for name, digest in manifest["files"].items():
        if sha256_file(folder / name) != digest:
            raise ValueError(f"{folder / name}: checksum does not match the manifest")
    return pd.read_parquet(folder / "segments.parquet"), manifest
