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
import pyarrow.parquet as pq

from features.erasure import (
    Suppression,
    clean_ids,
    erasure_record,
    pseudonymised,
    republished_manifest,
    suppressed_mask,
)
from models.activation import activation_lists
from pipelines.config import Params
from pipelines.export import MANIFEST, checksums
from pipelines.files import atomic_file, replace_dir, staging_dir
from pipelines.io import write_json
from pipelines.privacy import append_log, suppress

TABLES = (".parquet", ".csv", ".csv.gz", ".tsv")
MLFLOW_SAMPLE = "segments_sample_pseudonymised.json"  # models.tracking.log_scoring_run


def id_columns(params: Params) -> tuple[str, ...]:
    """Names a customer id goes by: the contract's, and the raw source's."""
    source = params.ingest.source
    mapped = (source.column_map.get("customer_id"), source.customers_column_map.get("customer_id"))
    built_in = ("Customer ID",) if source.kind == "online_retail_ii" else ()  # its mapping's
    return ("customer_id", *built_in, *filter(None, mapped))


def data_folders(params: Params) -> list[Path]:
    """The folders of the project's data layers that hold customer ids, validated aside (it is
    re-ingested). A source outside them is not rewritten: the suppression list keeps its rows
    of forgotten customers out of every ingest."""
    paths = params.paths
    folders = [paths.raw_dir, paths.features_dir, paths.bgnbd.parent]
    return [f for f in folders if not any(o in f.parents for o in folders)]


def _csv_options(path: Path) -> dict:
    return {"sep": "\t" if path.name.endswith(".tsv") else ","}


def _read_ids(path: Path, columns: tuple[str, ...]) -> tuple[str | None, pd.Series | None]:
    """The id column of a table file (None when it has none), read alone."""
    if path.name.endswith(".parquet"):
        names = pq.read_schema(path).names
        column = next((c for c in columns if c in names), None)
        return column, column and pq.read_table(path, columns=[column]).column(0).to_pandas()
    header = pd.read_csv(path, nrows=0, **_csv_options(path)).columns
    column = next((c for c in columns if c in header), None)
    if column is None:
        return None, None
    ids = pd.read_csv(
        path, usecols=[column], dtype=str, keep_default_na=False, **_csv_options(path)
    )
    return column, ids[column]


def _rewrite(path: Path, keep: pd.Series) -> None:
    """``path`` with only the ``keep`` rows, replaced atomically, in its own format."""
    with atomic_file(path) as tmp:
        if path.name.endswith(".parquet"):
            pq.write_table(pq.read_table(path).filter(keep.to_numpy()), tmp)
            return
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, **_csv_options(path))
        compression = "gzip" if path.name.endswith(".gz") else None
        frame[keep.to_numpy()].to_csv(
            tmp, index=False, compression=compression, lineterminator="\n", **_csv_options(path)
        )


def scrub_tables(root: Path, suppression: Suppression, columns: tuple[str, ...]) -> dict[str, int]:
    """Remove forgotten customers' rows from every table file below ``root``; returns rows
    removed per rewritten file, relative to ``root``."""
    removed = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if not path.name.endswith(TABLES):
            continue
        column, ids = _read_ids(path, columns)
        if column is None:
            continue
        hit = suppressed_mask(ids, suppression)
        if hit.any():
            _rewrite(path, ~hit)
            removed[path.relative_to(root).as_posix()] = int(hit.sum())
    return removed


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


def forget(params: Params, ids: list[str]) -> dict:
    """Erase ``ids`` everywhere and return the erasure record (which holds no raw id)."""
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
    record = erasure_record(hashes, erased_at, removed)
    append_log(params.privacy, record)
    return record
