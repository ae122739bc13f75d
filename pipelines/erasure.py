"""``segments forget``: erase customers from every file the project keeps, and keep them out.

In this order: the suppression list (so a run stopped half-way leaves them suppressed, and
forgetting them again finishes the job); the validated layer, re-ingested from the source with the
list applied; every table under the data folder that holds a customer id (raw copies, features,
labels, BG/NBD, synthetic truth); every export, re-published atomically with a new manifest; the
MLflow artifacts; last, the erasure log. The logic is in `features.erasure`.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from features.erasure import (
    Suppression,
    clean_ids,
    erasure_record,
    pseudonymised,
    republished_manifest,
)
from models.activation import activation_lists
from pipelines.config import Params
from pipelines.export import MANIFEST, checksums
from pipelines.files import atomic_file, replace_dir, staging_dir
from pipelines.io import write_json
from pipelines.privacy import append_log, suppress
from pipelines.scrub import purge_cache, scrub_tables

MLFLOW_SAMPLE = "segments_sample_pseudonymised.json"  # models.tracking.log_scoring_run


def id_columns(params: Params) -> tuple[str, ...]:
    """Names a customer id goes by: the contract's, and the raw source's."""
    source = params.ingest.source
    mapped = (source.column_map.get("customer_id"), source.customers_column_map.get("customer_id"))
    built_in = ("Customer ID",) if source.kind == "online_retail_ii" else ()  # its mapping's
    return ("customer_id", *built_in, *filter(None, mapped))


def data_folders(params: Params) -> list[Path]:
    """The project's data layers that hold customer ids, validated aside (it is re-ingested),
    and the ingest source when it lies inside the project. A source elsewhere is not rewritten:
    the suppression list keeps its rows of forgotten customers out of every ingest."""
    paths, source = params.paths, params.ingest.source
    inside = [p for p in (source.path, source.customers_path) if p and _in_project(p)]
    folders = [paths.raw_dir, paths.features_dir, paths.bgnbd.parent, *inside]
    return [f for f in folders if not any(o in f.parents for o in folders)]


def _in_project(path: Path) -> bool:
    return not path.is_absolute() and ".." not in path.parts


def _under(folder: Path, removed: dict[str, int]) -> dict[str, int]:
    return {(folder / name).as_posix(): rows for name, rows in removed.items()}


def reingest(params: Params) -> dict[str, int]:
    """The validated layer rebuilt from the source with the suppression list applied."""
    from pipelines.ingest import ingest_source, write_outputs  # pandas-heavy; only when needed

    folder = params.paths.validated_dir
    if not folder.exists():
        return {}
    result, customers, customer_quarantine, report = ingest_source(params)
    write_outputs(result, customers, customer_quarantine, report, params)
    return {folder.as_posix(): result.suppressed}


def scrub_export(folder: Path, suppression: Suppression, erased_at: str) -> dict[str, int]:
    """One export without the forgotten customers, re-published atomically with a new manifest
    (checksums, row counts); untouched when they are not in it."""
    with staging_dir(folder) as staging:
        shutil.copytree(folder, staging, symlinks=True, dirs_exist_ok=True)
        removed = scrub_tables(staging, suppression, ("customer_id",))
        if not removed:
            return {}
        segments = pd.read_parquet(staging / "segments.parquet")
        manifest = republished_manifest(
            json.loads((staging / MANIFEST).read_text()),
            segments,
            checksums(staging),
            activation_lists(segments)[1] if "marketing_consent" in segments else None,
            erased_at,
        )
        write_json(manifest, staging / MANIFEST)
        replace_dir(staging, folder)
    return _under(folder, removed)


def scrub_exports(exports_dir: Path, suppression: Suppression, erased_at: str) -> dict[str, int]:
    """Every export, not only the latest: each one holds the customers it scored."""
    removed = {}
    for folder in sorted(exports_dir.iterdir()) if exports_dir.is_dir() else []:
        if folder.is_dir() and not folder.is_symlink() and (folder / MANIFEST).exists():
            removed |= scrub_export(folder, suppression, erased_at)
    return removed


def _mlflow_salt(params: Params) -> str | None:
    """The salt of the ids in MLflow samples (`pipelines.score.id_salt`), without making one."""
    path = params.paths.id_salt
    return os.environ.get(params.score.id_salt_env) or (
        path.read_text().strip() if path.exists() else None
    )


def scrub_mlflow(params: Params, suppression: Suppression, ids: list[str]) -> dict[str, int]:
    """Raw ids in any artifact table, and the forgotten customers' rows of the pseudonymised
    scoring samples (pseudonymised with the MLflow salt)."""
    root = params.mlflow.artifact_root
    removed = _under(root, scrub_tables(root, suppression, ("customer_id",)))
    salt = _mlflow_salt(params)
    gone = set(pseudonymised(ids, salt)) if salt else set()
    for path in sorted(root.rglob(MLFLOW_SAMPLE)) if gone and root.is_dir() else []:
        table = json.loads(path.read_text())
        at = table["columns"].index("customer_id")
        kept = [row for row in table["data"] if row[at] not in gone]
        if len(kept) < len(table["data"]):
            with atomic_file(path) as tmp:
                tmp.write_text(json.dumps({**table, "data": kept}))
            removed[path.as_posix()] = len(table["data"]) - len(kept)
    return removed


def dvc_cache() -> Path | None:
    """The DVC cache of the repository in the working folder (None outside one)."""
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    try:
        with Repo(".") as repo:
            cache = Path(repo.cache.local.path)
    except NotDvcRepoError:
        return None
    return cache.relative_to(Path.cwd()) if cache.is_relative_to(Path.cwd()) else cache


def forget(params: Params, ids: list[str], purge_dvc_cache: bool = False) -> dict:
    """Erase ``ids`` everywhere and return the erasure record (which holds no raw id); with
    ``purge_dvc_cache``, also the DVC cache's earlier versions of the data that hold them."""
    ids = clean_ids(ids)
    if not ids:
        raise ValueError("no customer id given")
    hashes, suppression = suppress(params.privacy, ids)
    erased_at = datetime.now(UTC).isoformat(timespec="seconds")
    removed = reingest(params)
    for folder in data_folders(params):
        removed |= _under(folder, scrub_tables(folder, suppression, id_columns(params)))
    removed |= scrub_exports(params.score.exports_dir, suppression, erased_at)
    removed |= scrub_mlflow(params, suppression, ids)
    cache = dvc_cache() if purge_dvc_cache else None
    removed |= purge_cache(cache, suppression, id_columns(params)) if cache else {}
    record = erasure_record(hashes, erased_at, removed)
    append_log(params.privacy, record)
    return record
