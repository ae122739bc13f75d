"""`segments forget` on a whole pipeline's outputs: afterwards the forgotten id is in no file under
data/, exports/ and mlartifacts/ (nor the tracking store, nor, with --purge-dvc-cache, the DVC
cache), every export's checksums verify, and re-ingesting the original raw file does not bring the
customer back."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from features.erasure import pseudonymised
from pipelines.export import MANIFEST
from pipelines.files import sha256_file
from tests.conftest import run_in

pytestmark = pytest.mark.slow

SEARCHED = ("data", "exports", "mlartifacts", ".dvc/cache")


def _parquet_holds(path: Path, value: str) -> bool:
    """Any text column of the Parquet file holds ``value`` (a byte search can miss
    dictionary-encoded, compressed strings)."""
    table = pq.read_table(path)
    return any(
        value in set(table.column(i).to_pylist())
        for i, field in enumerate(table.schema)
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
    )


def holders(repo: Path, value: str) -> list[str]:
    """Every file under the searched folders (and the tracking store) that holds ``value``."""
    found = []
    files = [p for folder in SEARCHED for p in (repo / folder).rglob("*") if p.is_file()]
    for path in [*files, repo / "mlflow.db"]:
        data = path.read_bytes()
        if value.encode() in data or (data[:4] == b"PAR1" and _parquet_holds(path, value)):
            found.append(path.relative_to(repo).as_posix())
    return found


def choose_customer(repo: Path) -> str:
    """A customer in the latest export's activation files and the MLflow sample (the first
    rows of the export), with events in the quarantine too when there is one."""
    segments = pd.read_parquet(repo / "exports" / "latest" / "segments.parquet").head(1000)
    consented = segments.loc[segments["marketing_consent"].fillna(False), "customer_id"]
    quarantined = pd.read_parquet(repo / "data" / "validated" / "quarantine.parquet")["original"]
    dirty = [c for c in consented if quarantined.str.contains(f'"{c}"', regex=False).any()]
    return (dirty or list(consented))[0]


def verify_exports(repo: Path) -> int:
    exports = (repo / "exports").iterdir()
    folders = [p for p in exports if not p.is_symlink() and (p / MANIFEST).exists()]
    for folder in folders:
        manifest = json.loads((folder / MANIFEST).read_text())
        for name, digest in manifest["files"].items():
            assert sha256_file(folder / name) == digest, folder / name
        assert manifest["rows"] == len(pd.read_parquet(folder / "segments.parquet"))
    return len(folders)


@pytest.fixture(scope="module")
def erased(pipeline, tmp_path_factory):
    """A copy of the pipeline's folder, before and after forgetting one customer."""
    repo = tmp_path_factory.mktemp("erasure") / "repo"
    shutil.copytree(pipeline, repo, symlinks=True)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["mlflow"]["tracking_uri"] = f"sqlite:///{repo / 'mlflow.db'}"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    customer = choose_customer(repo)
    before = holders(repo, customer)
    raw = Path(params["ingest"]["source"]["path"])
    original = shutil.copy2(repo / raw, tmp_path_factory.mktemp("original") / raw.name)
    forget = [sys.executable, "-m", "pipelines.cli", "forget", customer, "--purge-dvc-cache"]
    forgot = run_in(forget, repo)
    assert forgot.returncode == 0, forgot.stdout[-3000:] + forgot.stderr[-3000:]
    return repo, customer, before, raw, Path(original)


def test_the_id_was_everywhere_before(erased):
    _, _, before, _, _ = erased
    for place in ("data/raw", "data/validated/events", "data/validated/quarantine.parquet"):
        assert any(name.startswith(place) for name in before), place
    places = ("data/features/features.parquet", "data/bgnbd", "exports/", "activation/", ".dvc/")
    for place in places:
        assert any(place in name for name in before), place


def test_the_forgotten_id_is_nowhere_afterwards(erased):
    repo, customer, _, _, _ = erased
    assert holders(repo, customer) == []
    assert verify_exports(repo) >= 1
    record = json.loads((repo / "privacy" / "erasure_log.jsonl").read_text().splitlines()[-1])
    assert customer not in json.dumps(record) and record["rows_removed_total"] > 0
    assert any("exports/" in name for name in record["files_touched"])
    salt = (repo / "privacy" / ".salt").read_text().strip()
    assert record["pseudonymised_ids"] == pseudonymised([customer], salt)
    listed = json.loads((repo / "privacy" / "suppression.json").read_text())["ids"]
    assert listed == record["pseudonymised_ids"]


def test_reingesting_the_original_raw_file_keeps_them_out(erased):
    repo, customer, _, raw, original = erased
    shutil.copy2(original, repo / raw)
    assert _parquet_holds(repo / raw, customer)
    ingest = run_in([sys.executable, "-m", "pipelines.ingest"], repo)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    report = json.loads((repo / "reports" / "ingest.json").read_text())
    assert report["suppressed"] > 0 and report["reconciled"] is True
    counted = ("accepted", "anonymous", "quarantined", "duplicates_removed", "suppressed")
    assert report["rows_read"] == sum(report[key] for key in counted)
    assert [n for n in holders(repo, customer) if n.startswith("data/validated")] == []
