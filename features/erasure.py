"""The right to erasure, as pure functions: pseudonymised ids, the suppression list ingest applies
to every run, and the record an erasure leaves.

A forgotten customer's id is kept only as a salted hash (`pseudonymise`) in the suppression list.
Ingest drops every row whose customer id hashes into that list before validation and counts them
(``suppressed``), so re-importing a raw file that still holds the customer does not bring them
back, and no row content of theirs is stored (the quarantine would have kept the raw values).
The files are read and written by ``pipelines/privacy.py`` and ``pipelines/erasure.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from features.ingest import IngestResult, clean_strings

_SALT_CHECK = "salt-check"  # hashed with the salt: tells whether a list was made with this salt


def pseudonymise(ids: pd.Series, salt: str) -> pd.Series:
    """Salted SHA-256 of each id (first 16 hex digits): linkable across runs, not reversible."""
    return ids.astype(str).map(lambda v: hashlib.sha256(f"{salt}:{v}".encode()).hexdigest()[:16])


def pseudonymised(ids: Iterable[str], salt: str) -> list[str]:
    """`pseudonymise` for a plain list of ids."""
    return pseudonymise(pd.Series(list(ids), dtype=object), salt).tolist()


def salt_check(salt: str) -> str:
    """A fingerprint of ``salt`` stored with the list, so a lost or changed salt is noticed
    instead of silently letting forgotten customers back in."""
    return pseudonymised([_SALT_CHECK], salt)[0]


@dataclass(frozen=True)
class Suppression:
    """Pseudonymised ids of forgotten customers, with the salt that made them."""

    hashes: frozenset[str] = frozenset()
    salt: str | None = None  # None only when there is nothing to suppress

    def __bool__(self) -> bool:
        return bool(self.hashes)


def clean_ids(ids: Iterable[str]) -> list[str]:
    """Ids as ingest stores them (stripped, Excel's ``12417.0`` as ``12417``), unique, sorted."""
    cleaned = clean_strings(pd.Series(list(ids), dtype=object)).dropna()
    return sorted(set(cleaned))


def suppressed_mask(ids: pd.Series, suppression: Suppression) -> pd.Series:
    """True where an id, cleaned the way ingest cleans it, is on the suppression list. Each
    distinct id is hashed once."""
    if not suppression:
        return pd.Series(False, index=ids.index)
    cleaned = clean_strings(ids)
    distinct = pd.Series(cleaned.dropna().unique(), dtype=object)
    listed = distinct[pseudonymise(distinct, suppression.salt).isin(suppression.hashes)]
    return cleaned.isin(set(listed)).fillna(False).astype(bool)


def drop_suppressed(
    suppression: Suppression, ids: pd.Series, *frames: pd.DataFrame
) -> tuple[list[pd.DataFrame], int]:
    """Each of ``frames`` (indexed like ``ids``) without the rows of forgotten customers, and
    the number of rows that was."""
    if not suppression:
        return list(frames), 0
    keep = ~suppressed_mask(ids, suppression)
    return [frame[keep] for frame in frames], int((~keep).sum())


def without_forgotten(frame: pd.DataFrame | None, suppression: Suppression) -> pd.DataFrame | None:
    """``frame`` without the rows whose ``customer_id`` is on the suppression list."""
    if frame is None or "customer_id" not in frame:
        return frame
    return drop_suppressed(suppression, frame["customer_id"], frame)[0][0]


def count_suppressed(result: IngestResult, rows: int) -> IngestResult:
    """``result`` of validating what suppression left, with the suppressed rows counted back
    in: rows read = accepted + anonymous + quarantined + duplicates + suppressed."""
    return dataclasses.replace(result, rows_read=result.rows_read + rows, suppressed=rows)


def extended(listed: dict, hashes: Iterable[str], salt: str) -> dict:
    """The suppression list document with ``hashes`` added (sorted, no repeats)."""
    known = listed.get("salt_check")
    if listed.get("ids") and known != salt_check(salt):
        raise ValueError("the suppression list was made with another salt")
    return {**listed, "salt_check": salt_check(salt), "ids": sorted({*listed["ids"], *hashes})}


def erasure_record(hashes: list[str], erased_at: str, rows_removed: dict[str, int]) -> dict:
    """One line of the erasure log: who (pseudonymised), when, and what was touched."""
    return {
        "erased_at": erased_at,
        "pseudonymised_ids": sorted(hashes),
        "files_touched": sorted(rows_removed),
        "rows_removed": dict(sorted(rows_removed.items())),
        "rows_removed_total": int(sum(rows_removed.values())),
    }


def republished_manifest(
    manifest: dict, segments: pd.DataFrame, files: dict[str, str], excluded: int | None, at: str
) -> dict:
    """An export's manifest after an erasure: the new checksums, the rows and counts of what is
    left, and when it was re-published (``created_at`` stays when the scores were made)."""
    counts = {
        column: segments[column].value_counts().sort_index().to_dict()
        for column in manifest.get("counts", {})
        if column in segments
    }
    updated = {**manifest, "files": files, "rows": len(segments), "erased_at": at}
    if "counts" in manifest:
        updated["counts"] = {**manifest["counts"], **counts}
    if excluded is not None and "excluded_from_activation_no_consent" in manifest:
        updated["excluded_from_activation_no_consent"] = excluded
    return updated
