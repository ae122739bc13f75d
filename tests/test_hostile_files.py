"""The hostile-file matrix: each class of bad file either reconciles (rows read = accepted +
anonymous + quarantined + duplicates, with the expected counts) or is refused with exit code 2 and
a message naming the file, the line, the column, the rule and a hint; never a traceback.

Each case writes a small file under tmp_path and runs `segments ingest` through Typer's CliRunner,
so what is checked is what an operator sees (README "Ingest: hostile files").
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.io import read_events
from tests.conftest import write_params

COLUMNS = [
    "customer_id",
    "event_time",
    "event_type",
    "order_id",
    "amount",
    "quantity",
    "product_id",
    "category",
    "channel",
]


def order(i: int, **changes) -> dict:
    """A good purchase: customer c<i>, order o<i>, an everyday amount."""
    row = {
        "customer_id": f"c{i}",
        "event_time": f"2024-03-{i + 1:02d}T10:00:00Z",
        "event_type": "purchase",
        "order_id": f"o{i}",
        "amount": f"{19.5 + i:.2f}",
        "quantity": "1",
        "product_id": "p1",
        "category": "home",
        "channel": "web",
    }
    return {**row, **changes}


VIEW = {"customer_id": "c0", "event_time": "2024-02-28 09:00:00", "event_type": "page_view"}


def rows(*changed: dict) -> list[dict]:
    """Five good orders and a page view, then the changed rows."""
    return [order(i) for i in range(5)] + [VIEW, *changed]


def csv_text(records: list[dict], delimiter: str = ",", newline: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(COLUMNS)
    writer.writerows([[r.get(c, "") for c in COLUMNS] for r in records])
    return out.getvalue()


def text_file(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(text.encode(encoding))
        return folder / name

    return write


def events_csv(*changed: dict) -> Callable[[Path], Path]:
    """e.csv: the good rows, then the changed ones."""
    return text_file("e.csv", csv_text(rows(*changed)))


def bytes_file(name: str, data: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name

    return write


def gzip_file(records: list[dict]) -> Callable[[Path], Path]:
    return bytes_file("events.csv.gz", gzip.compress(csv_text(records).encode(), mtime=0))


def zip_file(members: dict[str, str]) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        with zipfile.ZipFile(folder / "events.zip", "w") as archive:
            for member, text in members.items():
                archive.writestr(member, text)
        return folder / "events.zip"

    return write


def excel_file(*sheets: list[dict], notes: bool = False) -> Callable[[Path], Path]:
    """What a shop's spreadsheet export holds: numbers and dates as typed cells, one sheet per
    list of rows (the UCI Online Retail II workbook has two, one per year)."""

    def write(folder: Path) -> Path:
        with pd.ExcelWriter(folder / "orders.xlsx") as workbook:
            for number, records in enumerate(sheets, start=1):
                frame = pd.DataFrame(records).reindex(columns=COLUMNS)
                stamps = pd.to_datetime(frame["event_time"], format="ISO8601", utc=True)
                frame["event_time"] = stamps.dt.tz_localize(None)
                frame["amount"] = pd.to_numeric(frame["amount"])
                frame["quantity"] = pd.to_numeric(frame["quantity"]).astype("Int64")
                frame.to_excel(workbook, sheet_name=f"Year {number}", index=False)
            if notes:  # a sheet that is not events: its rows would be left out unnoticed
                pd.DataFrame({"note": ["exported by hand"]}).to_excel(workbook, sheet_name="Notes")
        return folder / "orders.xlsx"

    return write


@dataclass
class Reconciles:
    """Expected counts; ``reasons`` is the quarantine by reason."""

    read: int
    accepted: int
    quarantined: int = 0
    duplicates: int = 0
    anonymous: int = 0
    reasons: dict = field(default_factory=dict)


@dataclass
class Refused:
    """Fragments the exit-2 message must hold besides the file name, the rule and a hint."""

    rule: str
    where: tuple[str, ...] = ()


@dataclass
class Case:
    write: Callable[[Path], Path]
    expect: Reconciles | Refused
    source: dict = field(default_factory=dict)
    ingest: dict = field(default_factory=dict)
    check: Callable[[Path, dict], None] | None = None


def events_of(tmp_path: Path) -> pd.DataFrame:
    return read_events(tmp_path / "validated" / "events")


def quarantine_of(tmp_path: Path) -> pd.DataFrame:
    return pd.read_parquet(tmp_path / "validated" / "quarantine.parquet")


def _categories(expected: set[str]) -> Callable[[Path, dict], None]:
    def check(tmp_path: Path, report: dict) -> None:
        assert set(events_of(tmp_path)["category"].dropna()) == expected

    return check


def _note(fragment: str, also: Callable | None = None) -> Callable[[Path, dict], None]:
    def check(tmp_path: Path, report: dict) -> None:
        notes = [n for f in report["source"]["files"] for n in f["notes"]]
        assert any(fragment in n for n in notes), notes
        if also:
            also(tmp_path, report)

    return check


def _times(expected: dict[str, str]) -> Callable[[Path, dict], None]:
    def check(tmp_path: Path, report: dict) -> None:
        events = events_of(tmp_path).set_index("order_id")
        for order_id, stamp in expected.items():
            assert events.loc[order_id, "event_time"] == pd.Timestamp(stamp), order_id

    return check


def _amounts(expected: dict[str, float]) -> Callable[[Path, dict], None]:
    def check(tmp_path: Path, report: dict) -> None:
        amounts = events_of(tmp_path).set_index("order_id")["amount"]
        for order_id, amount in expected.items():
            assert amounts[order_id] == amount, order_id

    return check


def _outliers(flagged: int) -> Callable[[Path, dict], None]:
    def check(tmp_path: Path, report: dict) -> None:
        assert report["amount_outlier"]["flagged"] == flagged
        assert report["amount_outlier"]["cutoff_amount"] < 1e12

    return check


def _padded_ids(tmp_path: Path, report: dict) -> None:
    assert sorted(events_of(tmp_path)["customer_id"].unique()) == [f"c{i}" for i in range(5)]


def _control_columns(tmp_path: Path, report: dict) -> None:
    assert sorted(quarantine_of(tmp_path)["column"]) == ["customer_id", "order_id"]


SEMICOLON = csv_text(rows(), delimiter=";")
LATIN = rows(order(5, category="Café"))
WINDOWS = rows(order(5, category="€ “deals”"))
RANDOM_BYTES = np.random.default_rng(14).integers(0, 256, 3000, dtype=np.uint8).tobytes()
HEADER = ",".join(COLUMNS)
EUROPEAN = [{**r, "amount": r["amount"].replace(".", ",")} if "amount" in r else r for r in rows()]
EUROPEAN += [order(5, amount="1.234,50"), order(6, amount="7,25")]

CASES: dict[str, Case] = {
    # --- encodings -------------------------------------------------------------------------
    "utf8": Case(events_csv(), Reconciles(6, 6)),
    "utf8_bom": Case(text_file("e.csv", csv_text(rows()), "utf-8-sig"), Reconciles(6, 6)),
    "latin1": Case(
        text_file("e.csv", csv_text(LATIN), "latin-1"),
        Reconciles(7, 7),
        check=_note("read as cp1252", _categories({"home", "Café"})),
    ),
    "cp1252": Case(
        text_file("e.csv", csv_text(WINDOWS), "cp1252"),
        Reconciles(7, 7),
        check=_categories({"home", "€ “deals”"}),
    ),
    "utf16_with_bom": Case(text_file("e.csv", csv_text(LATIN), "utf-16"), Reconciles(7, 7)),
    "utf16_without_bom": Case(
        text_file("e.csv", csv_text(rows()), "utf-16-le"), Refused("encoding", ("UTF-16",))
    ),
    "declared_encoding_is_wrong": Case(
        text_file("e.csv", csv_text(LATIN), "latin-1"),
        Refused("encoding", ("line 8",)),
        source={"encoding": "utf-8"},
    ),
    # --- delimiters ------------------------------------------------------------------------
    "semicolon_sniffed": Case(text_file("e.csv", SEMICOLON), Reconciles(6, 6)),
    "tab_sniffed": Case(text_file("e.txt", csv_text(rows(), "\t")), Reconciles(6, 6)),
    "pipe_sniffed": Case(text_file("e.csv", csv_text(rows(), "|")), Reconciles(6, 6)),
    "semicolon_named": Case(text_file("e.csv", SEMICOLON), Reconciles(6, 6), {"delimiter": ";"}),
    "semicolon_but_comma_named": Case(
        text_file("e.csv", SEMICOLON),
        Refused("required_column", ("line 1", "customer_id", "delimiter: ';'")),
        {"delimiter": ","},
    ),
    "crlf_line_ends": Case(text_file("e.csv", csv_text(rows(), newline="\r\n")), Reconciles(6, 6)),
    # --- quoting, header and row shape ----------------------------------------------------------
    "unclosed_quote": Case(
        text_file("e.csv", csv_text(rows()) + 'c9,2024-03-09,purchase,o9,5,1,p1,"home,web\n'),
        Refused("malformed_quoting", ("line 8", "column 'category'")),
    ),
    "quote_swallows_rows": Case(
        text_file(
            "e.csv", csv_text(rows()).replace(",home,", ',"home,', 1) + 'c9,x,y,z,1,1,p,q,r"\n'
        ),
        Refused("malformed_quoting", ("line 2", "column 'category'")),
    ),
    "multi_line_quoted_value": Case(
        events_csv(order(5, category="home,\ngarden")),
        Reconciles(7, 7),
        check=_categories({"home", "home,\ngarden"}),
    ),
    "duplicate_column_names": Case(
        text_file("e.csv", csv_text(rows()).replace("quantity", "amount", 1)),
        Refused("duplicate_column_name", ("line 1", "column 'amount'")),
    ),
    "blank_trailing_column": Case(
        text_file("e.csv", csv_text(rows()).replace("\n", ",\n")),
        Reconciles(6, 6),
        check=_note("empty column"),
    ),
    "blank_column_name_with_data": Case(
        text_file("e.csv", csv_text(rows()).replace("\n", ",note\n").replace(",note", ",", 1)),
        Reconciles(6, 6),
    ),
    "ragged_row": Case(
        text_file("e.csv", csv_text(rows(order(5, channel="web,app"))).replace('"', "")),
        Refused("ragged_row", ("line 8", "column 'channel'")),
    ),
    "ragged_first_row": Case(
        text_file("e.csv", csv_text([order(0, channel="web,app"), *rows()]).replace('"', "")),
        Refused("ragged_row", ("line 2",)),
    ),
    "short_row": Case(
        text_file("e.csv", csv_text(rows()) + "c9,2024-03-09T10:00:00Z,purchase,o9\n"),
        Reconciles(7, 6, quarantined=1, reasons={"missing_amount": 1}),
    ),
    # --- time ------------------------------------------------------------------------------
    "mixed_timezone_offsets": Case(
        events_csv(
            order(5, event_time="2024-05-01T10:00:00+02:00"),
            order(6, event_time="2024-05-01T10:00:00-05:00"),
            order(7, event_time="2024-05-01 10:00:00 +0530"),
            order(8, event_time="2024-05-01T10:00:00"),
        ),
        Reconciles(10, 10),
        check=_times(
            {
                "o5": "2024-05-01 08:00:00+00:00",
                "o6": "2024-05-01 15:00:00+00:00",
                "o7": "2024-05-01 04:30:00+00:00",
                "o8": "2024-05-01 10:00:00+00:00",
            }
        ),
    ),
    "day_first_dates": Case(
        events_csv(order(5, event_time="03/04/2024 10:00")),
        Reconciles(7, 7),
        source={"dayfirst": True},
        check=_times({"o5": "2024-04-03 10:00:00+00:00"}),
    ),
    "day_first_dates_read_month_first": Case(
        events_csv(
            order(5, event_time="03/04/2024 10:00"), order(6, event_time="13/04/2024 10:00")
        ),
        Reconciles(8, 7, quarantined=1, reasons={"unparseable_event_time": 1}),
        check=_times({"o5": "2024-03-04 10:00:00+00:00"}),
    ),
    # --- containers ------------------------------------------------------------------------
    "excel_xlsx": Case(excel_file(rows()), Reconciles(6, 6)),
    "excel_two_sheets": Case(
        excel_file(rows(), [order(i) for i in range(5, 9)]),
        Reconciles(10, 10),
        check=_note("read 2 sheets"),
    ),
    "excel_sheets_differ": Case(
        excel_file(rows(), notes=True), Refused("excel_sheets", ("sheet 'Notes'", "line 1"))
    ),
    "not_really_excel": Case(
        text_file("orders.xlsx", csv_text(rows())), Refused("excel_syntax", ("Hint",))
    ),
    "truncated_parquet": Case(
        bytes_file("e.parquet", b"PAR1" + RANDOM_BYTES[:200]), Refused("parquet_syntax")
    ),
    "gzip_csv": Case(gzip_file(rows()), Reconciles(6, 6)),
    "zip_csv": Case(zip_file({"events.csv": csv_text(rows())}), Reconciles(6, 6)),
    "zip_of_two_files": Case(
        zip_file({"a.csv": csv_text(rows()), "b.csv": csv_text(rows())}),
        Refused("zip_members", ("2",)),
    ),
    "empty_file": Case(text_file("e.csv", ""), Refused("empty_file")),
    "header_only": Case(text_file("e.csv", HEADER + "\n"), Refused("empty_file")),
    "unknown_extension": Case(text_file("e.dat", csv_text(rows())), Refused("format")),
    "binary_named_csv": Case(bytes_file("e.csv", RANDOM_BYTES), Refused("")),
    # --- values ----------------------------------------------------------------------------
    "nul_character": Case(
        events_csv(order(5, order_id="o\x005")),
        Refused("nul_character", ("line 8", "column 'order_id'")),
    ),
    "absurd_amount": Case(
        events_csv(order(5, amount="1e12")),
        Reconciles(7, 6, quarantined=1, reasons={"amount_outlier": 1}),
        check=_outliers(1),
    ),
    "absurd_amount_allowed": Case(
        events_csv(order(5, amount="1e12")),
        Reconciles(7, 7),
        ingest={
            "amount_outlier": {
                "method": "mad",
                "threshold": 8.0,
                "min_spread_log10": 0.5,
                "allow": True,
            }
        },
        check=_outliers(1),
    ),
    "negative_zero": Case(
        events_csv(order(5, amount="-0.00"), order(6, quantity="-0")),
        Reconciles(
            8, 6, quarantined=2, reasons={"non_positive_amount": 1, "non_positive_quantity": 1}
        ),
    ),
    "thousands_separators": Case(
        events_csv(order(5, amount="1,234.50"), order(6, amount="12,5")),
        Reconciles(8, 7, quarantined=1, reasons={"wrong_type_amount": 1}),
        check=_amounts({"o5": 1234.5}),
    ),
    "decimal_comma": Case(
        text_file("e.csv", csv_text(EUROPEAN, ";")),
        Reconciles(8, 8),
        source={"decimal": ","},
        check=_amounts({"o5": 1234.5, "o6": 7.25, "o0": 19.5}),
    ),
    "whitespace_padded_ids": Case(
        events_csv(order(1, customer_id="  c1\t", order_id=" o1 ")),
        Reconciles(7, 6, duplicates=1),
        check=_padded_ids,
    ),
    "invisible_characters_in_ids": Case(
        events_csv(order(5, customer_id="c\u200b5"), order(6, product_id="p\u202e1")),
        Reconciles(8, 6, quarantined=2, reasons={"control_characters": 2}),
    ),
    "huge_and_infinite_quantities": Case(
        events_csv(order(5, quantity="1e20"), order(6, quantity="inf")),
        Reconciles(8, 6, quarantined=2, reasons={"wrong_type_quantity": 2}),
    ),
    "control_characters": Case(
        text_file(
            "e.csv", csv_text(rows(order(5, customer_id="c\x075"), order(6, order_id="o\x1b6")))
        ),
        Reconciles(8, 6, quarantined=2, reasons={"control_characters": 2}),
        check=_control_columns,
    ),
}


def run_ingest(tmp_path: Path, case: Case):
    path = case.write(tmp_path)
    params = write_params(
        tmp_path, {"path": str(path), **case.source}, max_reject_fraction=0.5, **case.ingest
    )
    result = CliRunner().invoke(app, ["ingest", "--params", str(params), "--quiet"])
    return path, result


def test_the_matrix_covers_at_least_25_classes():
    assert len(CASES) >= 25
    assert sum(isinstance(c.expect, Refused) for c in CASES.values()) >= 8


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file(tmp_path, name):
    case = CASES[name]
    path, result = run_ingest(tmp_path, case)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if isinstance(case.expect, Refused):
        assert result.exit_code == 2, result.output
        message = result.output
        assert str(path) in message and f"rule {case.expect.rule}" in message, message
        assert "Hint" in message, message
        for fragment in case.expect.where:
            assert fragment in message, message
        return
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "reports" / "ingest.json").read_text())
    expect = case.expect
    got = (
        report["rows_read"],
        report["accepted"],
        report["quarantined"],
        report["duplicates_removed"],
        report["anonymous"],
    )
    assert got == (
        expect.read,
        expect.accepted,
        expect.quarantined,
        expect.duplicates,
        expect.anonymous,
    )
    assert report["reconciled"] is True
    assert report["quarantine_by_reason"] == expect.reasons
    if case.check:
        case.check(tmp_path, report)
