"""The files of the right to erasure: the suppression list with its salt, and the erasure log.

Ingest reads the list (`load_suppression`) on every run; `segments forget` extends it and appends
to the log (`pipelines/erasure.py`). The logic is in `features.erasure`.
"""

from __future__ import annotations

import json
import os

from features.erasure import Suppression, clean_ids, extended, pseudonymised, salt_check
from features.ingest import IngestError
from pipelines.config import PrivacyParams
from pipelines.files import atomic_file, kept_secret


def _salt(privacy: PrivacyParams, create: bool = False) -> str | None:
    """The environment's salt (``privacy.salt_env``), else the one kept in ``privacy.salt``
    (made on first use when ``create``)."""
    given = os.environ.get(privacy.salt_env)
    if given:
        return given
    if create:
        return kept_secret(privacy.salt)
    return privacy.salt.read_text().strip() if privacy.salt.exists() else None


def read_list(privacy: PrivacyParams) -> dict:
    """The suppression list document (an empty one when the file is absent)."""
    if not privacy.suppression.exists():
        return {"ids": [], "salt_check": None}
    return json.loads(privacy.suppression.read_text())


def load_suppression(privacy: PrivacyParams) -> Suppression:
    """The suppression list ingest applies. Refuses (`IngestError`) when ids are listed but their
    salt is missing or another one: ingest would otherwise let forgotten customers back in."""
    listed = read_list(privacy)
    if not listed["ids"]:
        return Suppression()
    salt = _salt(privacy)
    if salt is None or salt_check(salt) != listed["salt_check"]:
        state = "missing" if salt is None else "not the one the list was made with"
        raise IngestError(
            f"{privacy.suppression}: {len(listed['ids'])} forgotten customers are listed, but "
            f"their salt ({privacy.salt}, or ${privacy.salt_env}) is {state}, so ingest cannot "
            "recognise them and would bring them back. Hint: restore the salt file from where it "
            "was backed up, or set the environment variable to the salt the list was made with."
        )
    return Suppression(frozenset(listed["ids"]), salt)


def suppress(privacy: PrivacyParams, ids: list[str]) -> tuple[list[str], Suppression]:
    """Add ``ids`` (cleaned as ingest cleans them) to the suppression list, written atomically;
    returns their pseudonymised ids and the whole list."""
    load_suppression(privacy)  # a list whose salt is lost is not extended with another salt
    salt = _salt(privacy, create=True)
    hashes = pseudonymised(clean_ids(ids), salt)
    document = extended(read_list(privacy), hashes, salt)
    with atomic_file(privacy.suppression) as tmp:
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return hashes, Suppression(frozenset(document["ids"]), salt)


def append_log(privacy: PrivacyParams, record: dict) -> None:
    """Add one line to the erasure log (the whole file is rewritten atomically)."""
    path = privacy.erasure_log
    before = path.read_text() if path.exists() else ""
    with atomic_file(path) as tmp:
        tmp.write_text(before + json.dumps(record, sort_keys=True) + "\n")
