"""How a raw text file is laid out: encoding, delimiter, header; and what went wrong when it is not.

Pure functions on bytes, text and parser messages. ``pipelines/source_files.py`` reads the files
and calls these to decide how to parse them and to turn a parser failure into an IngestError
that names the file, the line, the column, the rule and a hint.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

import numpy as np
import pandas as pd

from features.ingest import SOURCE_FILE, SOURCE_ROW, IngestError

DELIMITERS = (",", ";", "\t", "|")
# Tried in order when ``ingest.source.encoding`` is auto and the file has no byte-order mark:
# cp1252 (Windows "ANSI", what Excel writes in Western Europe) is a superset of Latin-1's
# printable characters; Latin-1 decodes any byte, so the chain always ends in a reading.
FALLBACK_ENCODINGS = ("utf-8", "cp1252", "latin-1")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark announces, or None."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def candidate_encodings(head: bytes, configured: str) -> tuple[str, ...]:
    """Encodings to try in order: the configured one, else the BOM's, else the fallback chain."""
    if configured != "auto":
        return (configured,)
    bom = bom_encoding(head)
    return (bom,) if bom else FALLBACK_ENCODINGS


def looks_like_utf16(head: bytes) -> bool:
    """Text in UTF-16 without a byte-order mark: every other byte of ASCII text is NUL."""
    return len(head) >= 8 and head.count(0) >= len(head) // 4


def first_undecodable_line(data: bytes, encoding: str) -> tuple[int, int] | None:
    """(line, byte within the line), both 1-based, of the first byte ``encoding`` cannot decode."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as error:
        before = data[: error.start]
        return before.count(b"\n") + 1, error.start - (before.rfind(b"\n") + 1) + 1
    except LookupError:
        return None
    return None


def decoding_error(file: str, data: bytes, encoding: str) -> IngestError:
    where = first_undecodable_line(data, encoding)
    at = f" at line {where[0]}, byte {where[1]}" if where else ""
    utf16 = looks_like_utf16(data[:4096])
    hint = (
        "the file has NUL bytes: it looks like UTF-16 without a byte-order mark; set "
        "ingest.source.encoding: utf-16-le (or utf-16-be)"
        if utf16
        else "set ingest.source.encoding to the file's encoding (e.g. cp1252, latin-1), or auto"
    )
    return IngestError(
        f"{file}: rule encoding: the text is not valid {encoding}{at}. Hint: {hint}."
    )


def decode_text(file: str, data: bytes, configured: str) -> tuple[str, str, list[str]]:
    """(text, encoding, notes): the first candidate encoding that decodes every byte."""
    candidates = candidate_encodings(data[:4], configured)
    if configured == "auto" and looks_like_utf16(data[:4096]) and not bom_encoding(data[:4]):
        raise decoding_error(file, data, "utf-8 (nor any 8-bit encoding)")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        notes = []
        if encoding != candidates[0]:
            line, _ = first_undecodable_line(data, candidates[0]) or (0, 0)
            notes.append(f"not valid {candidates[0]} (first at line {line}): read as {encoding}")
        return text, encoding, notes
    raise decoding_error(file, data, candidates[0])


def drop_blank_columns(frame: pd.DataFrame, header: list[str]) -> tuple[pd.DataFrame, int]:
    """Columns without a name and without a value (a trailing delimiter on every line)."""
    blank = [
        column
        for column, name in zip(frame.columns, header, strict=False)
        if not name.strip() and frame[column].isna().all()
    ]
    return frame.drop(columns=blank), len(blank)


def excel_table(file: str, sheets: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, list[str]]:
    """The sheets of a workbook (read without a header) as one table: the first row of each is
    its header; every sheet with rows must have the first one's header, so no sheet's rows are
    left out unnoticed. Provenance is ``file[sheet]`` and the row within the sheet."""
    frames, notes, first = [], [], None
    for sheet, cells in sheets.items():
        if cells.empty:
            continue
        names = ["" if pd.isna(v) else str(v).strip() for v in cells.iloc[0]]
        check_header(f"{file}[{sheet}]", names)
        first = first or (sheet, names)
        if names != first[1]:
            raise IngestError(
                f"{file}: sheet '{sheet}', line 1: rule excel_sheets: every sheet must have the "
                f"header of sheet '{first[0]}' ({first[1]}), this one has {names}. Hint: delete "
                f"the sheets that are not events, or save the one you mean as its own file."
            )
        frame = cells.iloc[1:].reset_index(drop=True).infer_objects()
        frame.columns = [name or f"Unnamed: {i}" for i, name in enumerate(names)]
        frame, dropped = drop_blank_columns(frame, names)
        notes += [f"sheet '{sheet}': dropped {dropped} empty unnamed column(s)"] if dropped else []
        frames.append(
            frame.assign(**{SOURCE_FILE: f"{file}[{sheet}]", SOURCE_ROW: range(len(frame))})
        )
    if not frames:
        raise IngestError(f"{file}: rule empty_file: every sheet is empty. Hint: export it again.")
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return table, notes + [f"read {len(frames)} sheets"] * (len(frames) > 1)


def _field_counts(sample: str, delimiter: str) -> list[int]:
    lines = sample.splitlines()[:-1] or sample.splitlines()  # the last line may be cut off
    reader = csv.reader(io.StringIO("\n".join(lines[:50])), delimiter=delimiter)
    try:
        return [len(row) for row in reader if row]
    except csv.Error:
        return []


def sniff_delimiter(sample: str) -> str:
    """The delimiter among ``DELIMITERS`` that splits the header into most fields while every
    sampled row has as many fields as the header; ties go to the earlier candidate (comma)."""
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        counts = _field_counts(sample, delimiter)
        if not counts or counts[0] <= best_fields:
            continue
        if all(count == counts[0] for count in counts):
            best, best_fields = delimiter, counts[0]
    return best


def header_names(sample: str, delimiter: str) -> list[str]:
    """The header row's names as written (before pandas renames repeats or blanks)."""
    try:
        return next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    except csv.Error:
        return []


def check_header(file: str, names: list[str]) -> None:
    """A name written twice makes the file ambiguous (which one is the amount?): refuse it."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        key = name.strip()
        if key and key in seen:
            raise IngestError(
                f"{file}: line 1, column '{key}' (positions {seen[key]} and {position}): rule "
                f"duplicate_column_name: each column name must appear once in the header. Hint: "
                f"rename one of them, then map the one you mean in ingest.source.column_map."
            )
        seen.setdefault(key, position)


def delimiter_hint(columns: list[str]) -> str:
    """When the header came out as one column holding a delimiter, say which one it looks like."""
    if len(columns) != 1:
        return ""
    for other in DELIMITERS:
        if other in columns[0]:
            return (
                f"the header was read as one column containing {_NAMES[other]}: the file "
                f"looks {_NAMES[other]}-delimited; set ingest.source.delimiter: {other!r} "
                f"(or auto, to sniff it)."
            )
    return ""


def nul_character_error(
    file: str, text: str, delimiter: str, header: list[str]
) -> IngestError | None:
    """A NUL character: CSV parsers cut the value there, silently, so the file is refused."""
    at = text.find("\x00")
    if at < 0:
        return None
    start = text.rfind("\n", 0, at) + 1
    field = text.count(delimiter, start, at)
    column = header[field] if field < len(header) else f"field {field + 1}"
    return IngestError(
        f"{file}: line {text.count(chr(10), 0, at) + 1}, column '{column}': rule nul_character: "
        f"text must not hold NUL characters (a parser would cut the value there). Hint: the "
        f"export is corrupt or in UTF-16 (set ingest.source.encoding); remove the NUL bytes."
    )


def ragged_row_error(file: str, message: str, header: list[str]) -> IngestError | None:
    """A row with more fields than the header, from the parser's message."""
    match = _RAGGED.search(message)
    if not match:
        return None
    expected, line, seen = (int(g) for g in match.groups())
    return ragged_error(file, line, expected, seen, header)


def ragged_error(file: str, line: int, expected: int, seen: int, header: list[str]) -> IngestError:
    last = header[-1] if header else "?"
    return IngestError(
        f"{file}: line {line}, after column '{last}': rule ragged_row: every row must have as "
        f"many fields as the header ({expected}), this one has {seen}. Hint: a value holds the "
        f'delimiter without quotes (quote it, e.g. "1,234.50"), or the delimiter is wrong '
        f"(set ingest.source.delimiter)."
    )


def unclosed_quote_error(file: str, text: str, delimiter: str, header: list[str]) -> IngestError:
    """Where the quoted field that runs to the end of the file opens."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    start, fields = 1, 0
    try:
        for row in reader:
            start, fields = reader.line_num + 1, len(row)
    except csv.Error:
        pass
    line = start
    lines = text.splitlines()
    first = lines[line - 1] if 0 < line <= len(lines) else ""
    row = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    fields = len(row) or fields
    column = header[fields - 1] if 0 < fields <= len(header) else f"field {fields}"
    return IngestError(
        f"{file}: line {line}, column '{column}': rule malformed_quoting: a quoted value opens "
        f"there and is never closed, so the rest of the file would be read as that value. Hint: "
        f'close the quote, or write a quote inside a value as two ("").'
    )


def swallowed_rows_error(
    file: str, frame: pd.DataFrame, delimiter: str, text: str
) -> IngestError | None:
    """A quoted value spanning lines that themselves look like whole rows: a quote opened by
    mistake swallowed them (the parser cannot tell; the field counts still match). Only a file
    with more lines than rows has values spanning lines, so most files are not searched."""
    n_columns = frame.shape[1]
    if n_columns < 3 or text.count("\n") <= len(frame) + 1:
        return None
    texts = [c for c in frame.columns if frame[c].dtype == object]
    for column in texts:
        multi = frame[column].str.contains("\n", regex=False, na=False).to_numpy()
        for row in np.flatnonzero(multi):
            inner = frame[column].iloc[row].splitlines()[1:]
            if any(line.count(delimiter) >= n_columns - 1 for line in inner):
                before = sum(int(frame[c].iloc[:row].str.count("\n").sum()) for c in texts)
                return IngestError(
                    f"{file}: line {row + 2 + before}, column '{column}': rule malformed_quoting: "
                    f"a quoted value opens there and spans {len(inner) + 1} lines that look like "
                    f"rows of their own, so they would be lost inside it. Hint: close the quote "
                    f'where the value ends, or write a quote inside a value as two ("").'
                )
    return None
