"""Table files without the rows of forgotten customers: each rewritten atomically in its own
format (Parquet, CSV, gzipped CSV, TSV), only when it holds one of them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from features.erasure import Suppression, suppressed_mask
from pipelines.files import atomic_file

TABLES = (".parquet", ".csv", ".csv.gz", ".tsv")


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
    """Remove forgotten customers' rows from every table file below ``root`` (or ``root``
    itself); returns rows removed per rewritten file, relative to ``root``."""
    removed = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else [root] if root.is_file() else []:
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


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


def _cached_ids(path: Path, columns: tuple[str, ...]) -> pd.Series | None:
    """Customer ids of a cached Parquet table: its id column, or for a quarantine the ids in
    the rows as read (``original``, JSON)."""
    names = pq.read_schema(path).names
    column = next((c for c in columns if c in names), None)
    if column is not None:
        return pq.read_table(path, columns=[column]).column(0).to_pandas()
    if "original" not in names:
        return None
    rows = pq.read_table(path, columns=["original"]).column(0).to_pylist()
    records = [json.loads(row) if row else {} for row in rows]
    return pd.Series([next((r[c] for c in columns if c in r), None) for r in records])


def purge_cache(cache: Path, suppression: Suppression, columns: tuple[str, ...]) -> dict[str, int]:
    """Delete the Parquet objects of a DVC cache that hold a forgotten customer (earlier versions
    of the data layers); returns their rows of forgotten customers per object deleted. Those
    versions can no longer be checked out, which is the point."""
    purged = {}
    for path in sorted(p for p in cache.rglob("*") if p.is_file() and _is_parquet(p)):
        ids = _cached_ids(path, columns)
        hit = 0 if ids is None else int(suppressed_mask(ids, suppression).sum())
        if hit:
            path.unlink()
            purged[path.as_posix()] = hit
    return purged
