"""The ingest stage end to end on small files: outputs, report, clear failures, atomicity."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.ingest import IngestError
from pipelines import ingest
from pipelines.io import ROWS_PER_GROUP, read_events, write_events_by_month
from synthetic.shop import ShopSpec, generate_shop
from tests.conftest import GOOD_PURCHASE, GOOD_VIEW, write_params


def _write_csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_stage_writes_layers_and_a_reconciled_report(tmp_path):
    bad = {**GOOD_PURCHASE, "customer_id": ""}
    later = {**GOOD_PURCHASE, "event_time": "2024-07-15T08:00:00Z", "order_id": "o2"}
    rows = [GOOD_PURCHASE, GOOD_VIEW, later, bad, GOOD_PURCHASE]
    csv = _write_csv(tmp_path / "events.csv", rows)
    params = write_params(tmp_path, {"path": str(csv)}, max_reject_fraction=0.5, anonymous="reject")

    report = ingest.main(str(params))

    assert report["rows_read"] == 5 and report["accepted"] == 3
    assert report["quarantined"] == 1 and report["duplicates_removed"] == 1
    assert report["anonymous"] == 0
    assert report["reconciled"] is True
    assert report["quarantine_by_reason"] == {"missing_customer_id": 1}
    assert report["sufficiency"]["sufficient"] is False
    assert "only 1 customers have purchases" in report["sufficiency"]["message"]
    assert json.loads((tmp_path / "reports" / "ingest.json").read_text()) == report
    events = read_events(tmp_path / "validated" / "events")
    assert len(events) == 3
    months = sorted(p.name for p in (tmp_path / "validated" / "events").iterdir())
    assert months == ["event_month=2024-02", "event_month=2024-03", "event_month=2024-07"]
    quarantine = pd.read_parquet(tmp_path / "validated" / "quarantine.parquet")
    assert quarantine["reason"].tolist() == ["missing_customer_id"]
    customers = pd.read_parquet(tmp_path / "validated" / "customers.parquet")
    assert customers["customer_id"].tolist() == ["c1"]


def test_guest_rows_are_kept_apart_and_do_not_count_as_rejects(tmp_path):
    guests = [{**GOOD_PURCHASE, "customer_id": "", "order_id": f"g{i}"} for i in range(3)]
    csv = _write_csv(tmp_path / "events.csv", [GOOD_PURCHASE, GOOD_VIEW, *guests])
    params = write_params(tmp_path, {"path": str(csv)}, max_reject_fraction=0.05)

    report = ingest.main(str(params))  # 60% of rows lack an id: not a failure by default

    assert report["rows_read"] == 5 and report["accepted"] == 2 and report["anonymous"] == 3
    assert report["quarantined"] == 0 and report["reconciled"] is True
    assert report["anonymous_fraction"] == 0.6
    anonymous = pd.read_parquet(tmp_path / "validated" / "anonymous.parquet")
    assert sorted(anonymous["order_id"]) == ["g0", "g1", "g2"]
    rejecting = write_params(
        tmp_path, {"path": str(csv)}, max_reject_fraction=0.05, anonymous="reject"
    )
    with pytest.raises(IngestError, match="missing_customer_id"):
        ingest.main(str(rejecting))


def test_too_many_rejects_fail_with_file_column_rule_and_example(tmp_path):
    rows = [GOOD_PURCHASE] + [
        {**GOOD_PURCHASE, "amount": "-3", "order_id": f"o{i}"} for i in range(3)
    ]
    csv = _write_csv(tmp_path / "events.csv", rows)
    params = write_params(tmp_path, {"path": str(csv)}, max_reject_fraction=0.1)
    with pytest.raises(IngestError) as error:
        ingest.main(str(params))
    message = str(error.value)
    assert "3 of 4 rows (75.0%)" in message
    assert str(csv) in message and "column 'amount'" in message
    assert "non_positive_amount" in message and '"amount": "-3"' in message


def test_failed_run_leaves_earlier_outputs_intact(tmp_path):
    csv = _write_csv(tmp_path / "events.csv", [GOOD_PURCHASE, GOOD_VIEW])
    params = write_params(tmp_path, {"path": str(csv)}, max_reject_fraction=0.1)
    ingest.main(str(params))
    before = read_events(tmp_path / "validated" / "events")
    _write_csv(tmp_path / "events.csv", [{**GOOD_VIEW, "event_type": "nonsense"}] * 3)
    with pytest.raises(IngestError):
        ingest.main(str(params))
    pd.testing.assert_frame_equal(read_events(tmp_path / "validated" / "events"), before)
    assert not list(tmp_path.glob("*.tmp-*"))


def test_missing_file_empty_input_and_unmapped_columns_are_clear_errors(tmp_path):
    params = write_params(tmp_path, {"path": str(tmp_path / "nope.csv")})
    with pytest.raises(IngestError, match="nope.csv: input file or folder does not exist"):
        ingest.main(str(params))

    (tmp_path / "empty.csv").write_text(",".join(GOOD_PURCHASE) + "\n")
    params = write_params(tmp_path, {"path": str(tmp_path / "empty.csv")})
    with pytest.raises(IngestError, match="input is empty"):
        ingest.main(str(params))

    orders = pd.DataFrame({"Email": ["a@x"], "Created at": ["2024-01-01"], "Total": ["5"]})
    orders.to_csv(tmp_path / "orders.csv", index=False)
    params = write_params(tmp_path, {"path": str(tmp_path / "orders.csv")})
    with pytest.raises(IngestError, match=r"customer_id \(looked for column 'customer_id'\)"):
        ingest.main(str(params))


def test_shop_orders_export_with_a_column_mapping(tmp_path):
    orders = pd.DataFrame(
        {
            "Name": ["#1001", "#1002", "#1001"],
            "Email": ["ann@example.com", "bob@example.com", "ann@example.com"],
            "Created at": ["2024-05-01 10:00:00 +0200", "2024-05-02 11:00:00 +0200", "2024-05-09"],
            "Total": ["30.00", "12.50", "30.00"],
            "Financial Status": ["paid", "paid", "refunded"],
        }
    )
    orders.to_csv(tmp_path / "orders.csv", index=False)
    source = {
        "path": str(tmp_path / "orders.csv"),
        "column_map": {
            "customer_id": "Email",
            "event_time": "Created at",
            "order_id": "Name",
            "amount": "Total",
            "event_type": "Financial Status",
        },
        "event_type_map": {"paid": "purchase", "refunded": "refund"},
        "timezone": "Europe/Berlin",
    }
    report = ingest.main(str(write_params(tmp_path, source)))
    assert report["accepted"] == 3 and report["events_by_type"] == {"purchase": 2, "refund": 1}
    events = read_events(tmp_path / "validated" / "events")
    assert str(events["event_time"].iloc[0]) == "2024-05-01 08:00:00+00:00"
    assert str(events["event_time"].iloc[-1]) == "2024-05-08 22:00:00+00:00"  # naive, Berlin


def test_online_retail_source_through_the_stage(tmp_path, online_retail_path):
    source = {"kind": "online_retail_ii", "path": str(online_retail_path)}
    report = ingest.main(str(write_params(tmp_path, source, reference_time="2026-01-01")))
    assert report["rows_read"] == 34_766 and report["reconciled"] is True
    assert report["customers"] == 262
    verdict = report["sufficiency"]
    assert verdict["sufficient"] is False and "only" in verdict["message"]
    assert report["amount_outlier"]["flagged"] == 0  # no order of the sample is absurd


def test_month_files_are_ordered_by_event_type_so_readers_skip_row_groups(tmp_path):
    events = generate_shop(ShopSpec(n_customers=400, dirty_fraction=0.0), seed=3).events
    events = events.drop_duplicates().reset_index(drop=True)
    write_events_by_month(events, tmp_path / "events", basename_template="part-{i}.parquet")

    files = sorted((tmp_path / "events").rglob("*.parquet"))
    assert len(files) > 1
    for file in files:
        table = pq.read_table(file, columns=["event_type", "customer_id"])
        order = table.to_pandas().astype(str)
        assert order.equals(order.sort_values(["event_type", "customer_id"], kind="stable"))
        metadata = pq.ParquetFile(file).metadata
        assert all(
            metadata.row_group(i).num_rows <= ROWS_PER_GROUP for i in range(metadata.num_row_groups)
        )
    back = read_events(tmp_path / "events")
    assert len(back) == len(events)
    key = ["event_time", "customer_id", "event_type", "order_id", "product_id"]
    assert (
        back[key]
        .astype(str)
        .sort_values(key)
        .reset_index(drop=True)
        .equals(events[key].astype(str).sort_values(key).reset_index(drop=True))
    )
