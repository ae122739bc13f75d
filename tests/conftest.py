"""Shared fixtures: small hand-written event frames and paths to the optional real data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.ingest import SOURCE_FILE, SOURCE_ROW, IngestResult, validate_events

REPO = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = (
    REPO.parent / "shared" / "data" / "online_retail_ii_sample" / "online_retail_ii_sample.csv.gz"
)
REFERENCE = pd.Timestamp("2025-01-01", tz="UTC")

GOOD_PURCHASE = {
    "customer_id": "c1",
    "event_time": "2024-03-01T10:00:00Z",
    "event_type": "purchase",
    "order_id": "o1",
    "amount": "19.90",
    "quantity": "2",
    "product_id": "p1",
    "category": "home",
    "channel": "web",
}
GOOD_VIEW = {
    "customer_id": "c1",
    "event_time": "2024-02-28 09:00:00",
    "event_type": "page_view",
}


def raw_frame(rows: list[dict], file: str = "events.csv") -> pd.DataFrame:
    """Rows as a CSV would give them (text, missing as NaN), with provenance columns."""
    columns = list(GOOD_PURCHASE)
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)
    frame[SOURCE_FILE] = file
    frame[SOURCE_ROW] = range(len(frame))
    return frame


def ingest_rows(rows: list[dict], timezone: str = "UTC") -> IngestResult:
    raw = raw_frame(rows)
    return validate_events(raw, raw.drop(columns=[SOURCE_FILE, SOURCE_ROW]), REFERENCE, timezone)


@pytest.fixture(scope="session")
def online_retail_path() -> Path:
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"Online Retail II sample not found at {ONLINE_RETAIL} (../shared is absent)")
    return ONLINE_RETAIL


def write_params(tmp_path: Path, source: dict, **ingest) -> Path:
    """A params.yaml under tmp_path whose outputs also land under tmp_path."""
    import yaml

    params = {
        "seed": 7,
        "paths": {
            "raw_dir": str(tmp_path / "raw"),
            "validated_dir": str(tmp_path / "validated"),
            "ingest_report": str(tmp_path / "reports" / "ingest.json"),
        },
        "ingest": {"source": source, "reference_time": "2025-01-01T00:00:00Z", **ingest},
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path
