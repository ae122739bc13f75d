"""The right to erasure on small hand-built frames: pseudonymised suppression, the reconciliation
with suppressed rows, the list's salt check, and the ingest stage honouring the list."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from features.erasure import (
    Suppression,
    clean_ids,
    count_suppressed,
    drop_suppressed,
    erasure_record,
    extended,
    pseudonymised,
    salt_check,
    suppressed_mask,
    without_forgotten,
)
from features.ingest import IngestError, validate_events
from pipelines import privacy
from pipelines.config import load_params
from tests.conftest import GOOD_PURCHASE, REFERENCE, raw_frame, write_params

SALT = "pepper"


def listed(*ids: str, salt: str = SALT) -> Suppression:
    return Suppression(frozenset(pseudonymised(ids, salt)), salt)


def test_pseudonymised_ids_depend_on_the_salt_and_hide_the_id():
    one, other = pseudonymised(["12417"], SALT)[0], pseudonymised(["12417"], "salt")[0]
    assert one != other and "12417" not in one and len(one) == 16
    assert pseudonymised(["12417"], SALT) == [one]  # linkable across runs


def test_ids_are_cleaned_as_ingest_cleans_them():
    assert clean_ids([" c1 ", "12417.0", "c1", "", "12417"]) == ["12417", "12417.0", "c1"]
    ids = pd.Series([12417.0, 99.0, None])  # Excel reads ids as floats
    assert suppressed_mask(ids, listed("12417")).tolist() == [True, False, False]
    text = pd.Series([" c1", "c2", None, "c1 "], dtype=object)
    assert suppressed_mask(text, listed("c1")).tolist() == [True, False, False, True]


def test_an_empty_list_drops_nothing_and_needs_no_salt():
    frame = pd.DataFrame({"customer_id": ["c1", "c2"]})
    (kept,), dropped = drop_suppressed(Suppression(), frame["customer_id"], frame)
    assert kept is frame and dropped == 0


def test_suppressed_rows_are_dropped_from_aligned_frames_and_counted():
    raw = raw_frame([GOOD_PURCHASE, {**GOOD_PURCHASE, "customer_id": "c2"}, GOOD_PURCHASE])
    original = raw.drop(columns=["_source_file", "_source_row"])
    (mapped, kept_original), dropped = drop_suppressed(
        listed("c1"), raw["customer_id"], raw, original
    )
    assert dropped == 2 and mapped["customer_id"].tolist() == ["c2"]
    assert kept_original.index.equals(mapped.index)
    result = count_suppressed(validate_events(mapped, kept_original, REFERENCE), dropped)
    assert result.rows_read == 3 and result.suppressed == 2 and len(result.events) == 1
    assert result.reconciles and len(result.quarantine) == 0


def test_without_forgotten_leaves_frames_without_the_column_alone():
    frame = pd.DataFrame({"customer_id": ["c1", "c2"], "x": [1, 2]})
    assert without_forgotten(frame, listed("c2"))["customer_id"].tolist() == ["c1"]
    assert without_forgotten(None, listed("c2")) is None
    other = pd.DataFrame({"from": ["a"]})
    assert without_forgotten(other, listed("a")) is other


def test_the_list_refuses_to_grow_under_another_salt():
    document = extended({"ids": []}, pseudonymised(["c1"], SALT), SALT)
    assert document["salt_check"] == salt_check(SALT) and len(document["ids"]) == 1
    again = extended(document, pseudonymised(["c1", "c2"], SALT), SALT)
    assert len(again["ids"]) == 2
    with pytest.raises(ValueError, match="another salt"):
        extended(document, pseudonymised(["c3"], "other"), "other")


def test_the_erasure_record_holds_no_raw_id():
    hashes = pseudonymised(["c1"], SALT)
    record = erasure_record(hashes, "2026-01-01T00:00:00+00:00", {"b.parquet": 2, "a.csv": 1})
    assert record["files_touched"] == ["a.csv", "b.parquet"] and record["rows_removed_total"] == 3
    assert "c1" not in json.dumps(record)


@pytest.fixture
def stage_params(tmp_path, monkeypatch):
    """Ingest params for a tiny CSV source, with the privacy files under tmp_path."""
    monkeypatch.delenv("SEGMENTS_SUPPRESSION_SALT", raising=False)
    rows = [GOOD_PURCHASE, {**GOOD_PURCHASE, "customer_id": "c2"}, GOOD_PURCHASE]
    raw_frame(rows).drop(columns=["_source_file", "_source_row"]).to_csv(
        tmp_path / "events.csv", index=False
    )
    path = write_params(tmp_path, {"path": str(tmp_path / "events.csv"), "customers_path": None})
    return load_params(path), path


def test_the_ingest_stage_suppresses_listed_customers(stage_params):
    from pipelines import ingest

    params, path = stage_params
    hashes, _ = privacy.suppress(params.privacy, ["c1 "])
    assert "c1" not in params.privacy.suppression.read_text()
    assert hashes == pseudonymised(["c1"], params.privacy.salt.read_text().strip())
    report = ingest.main(str(path))
    assert report["suppressed"] == 2 and report["accepted"] == 1 and report["reconciled"]
    assert report["rows_read"] == 3 and report["customers"] == 1


def test_ingest_refuses_a_list_whose_salt_is_lost(stage_params):
    params, _ = stage_params
    privacy.suppress(params.privacy, ["c1"])
    params.privacy.salt.unlink()
    with pytest.raises(IngestError, match="1 forgotten customers are listed.*missing"):
        privacy.load_suppression(params.privacy)
    params.privacy.salt.write_text("another salt")
    with pytest.raises(IngestError, match="not the one the list was made with"):
        privacy.load_suppression(params.privacy)


def test_table_files_are_rewritten_without_them_in_their_own_format(tmp_path):
    from pipelines.scrub import purge_cache, scrub_tables

    frame = pd.DataFrame({"Customer ID": ["12417", "7", "12417"], "x": ["a", "b", "c"]})
    frame.to_csv(tmp_path / "raw.csv.gz", index=False)
    frame.rename(columns={"Customer ID": "customer_id"}).to_parquet(tmp_path / "t.parquet")
    frame.drop(columns="Customer ID").to_csv(tmp_path / "no_ids.csv", index=False)
    removed = scrub_tables(tmp_path, listed("12417"), ("customer_id", "Customer ID"))
    assert removed == {"raw.csv.gz": 2, "t.parquet": 2}
    assert pd.read_csv(tmp_path / "raw.csv.gz", dtype=str)["x"].tolist() == ["b"]
    assert pd.read_parquet(tmp_path / "t.parquet")["customer_id"].tolist() == ["7"]
    assert scrub_tables(tmp_path, listed("12417"), ("customer_id",)) == {}  # nothing left
    cache = tmp_path / "cache"
    cache.mkdir()
    quarantine = pd.DataFrame({"original": [json.dumps({"Customer ID": 12417.0}), None]})
    quarantine.to_parquet(cache / "ab12")
    (cache / "cd34").write_text("not a table")
    assert purge_cache(cache, listed("12417"), ("Customer ID",)) == {f"{cache}/ab12": 1}
    assert sorted(p.name for p in cache.iterdir()) == ["cd34"]


def test_a_republished_manifest_describes_what_is_left():
    from features.erasure import republished_manifest

    manifest = {"rows": 3, "counts": {"segment": {"A": 2, "B": 1}}, "files": {"x": "old"}}
    manifest |= {"excluded_from_activation_no_consent": 1, "created_at": "then"}
    segments = pd.DataFrame({"segment": ["A", "B"]})
    out = republished_manifest(manifest, segments, {"x": "new"}, 0, "now")
    assert out["rows"] == 2 and out["counts"] == {"segment": {"A": 1, "B": 1}}
    assert out["files"] == {"x": "new"} and out["excluded_from_activation_no_consent"] == 0
    assert out["created_at"] == "then" and out["erased_at"] == "now"


def test_a_source_inside_the_project_is_scrubbed_one_outside_is_not(tmp_path):
    from pipelines.erasure import data_folders
    from pipelines.scrub import scrub_tables
    from tests.conftest import REPO

    params = load_params(REPO / "params.yaml")
    default = [p.as_posix() for p in data_folders(params)]
    assert default == ["data/raw/synthetic", "data/features", "data/bgnbd"]  # source inside raw
    for path, kept in (("data/orders.csv", True), ("/srv/orders.csv", False)):
        update = {"path": Path(path), "customers_path": None}
        source = params.ingest.source.model_copy(update=update)
        moved = params.model_copy(
            update={"ingest": params.ingest.model_copy(update={"source": source})}
        )
        assert (Path(path) in data_folders(moved)) is kept
    pd.DataFrame({"customer_id": ["c1", "c2"]}).to_csv(tmp_path / "orders.csv", index=False)
    assert scrub_tables(tmp_path / "orders.csv", listed("c1"), ("customer_id",)) == {".": 1}


def test_segments_forget_on_a_small_project(stage_params, monkeypatch):
    from typer.testing import CliRunner

    from pipelines import ingest
    from pipelines.cli import app

    params, path = stage_params
    monkeypatch.chdir(path.parent)  # the relative folders (exports/, data/...) are the tmp ones
    ingest.main(str(path))
    refused = CliRunner().invoke(app, ["forget", "  ", "--params", str(path)])
    assert refused.exit_code == 2 and "no customer id given" in refused.output
    result = CliRunner().invoke(app, ["forget", "c1", "--params", str(path)])
    assert result.exit_code == 0, result.output
    customers = pd.read_parquet(params.paths.validated_dir / "customers.parquet")
    assert customers["customer_id"].tolist() == ["c2"]
    (record,) = [json.loads(line) for line in params.privacy.erasure_log.read_text().splitlines()]
    assert record["rows_removed"] == {params.paths.validated_dir.as_posix(): 2}
