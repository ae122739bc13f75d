"""Reading raw source files: CSV (any common encoding and delimiter, compressed or not), Excel and
Parquet, into text-valued frames with provenance; a file that cannot be read is an IngestError
naming the file, the line, the column, the rule and a hint (README "Ingest: hostile files")."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features import source_format as fmt_rules
from features.ingest import SOURCE_FILE, SOURCE_ROW, IngestError

_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".zip")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_SNIFF_CHARS = 65_536


@dataclass(frozen=True)
class ReadOptions:
    """How to read source files (``ingest.source``): each ``auto`` is decided per file."""

    format: str = "auto"  # auto | csv | parquet | excel
    encoding: str = "auto"
    delimiter: str = "auto"


def _format_of(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    name = path.name.lower()
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_EXCEL_SUFFIXES):
        return "excel"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    raise IngestError(
        f"{path}: rule format: cannot tell the format from the name. Hint: name it .csv, .tsv, "
        f".csv.gz, .zip, .xlsx or .parquet, or set ingest.source.format."
    )


def list_source_files(path: Path, fmt: str = "auto") -> list[Path]:
    """The file itself, or every readable file below a folder, sorted so runs repeat."""
    if not path.exists():
        raise IngestError(f"{path}: input file or folder does not exist (ingest.source.path)")
    if path.is_file():
        return [path]
    suffixes = _CSV_SUFFIXES + _PARQUET_SUFFIXES + _EXCEL_SUFFIXES
    suffixes += tuple(s + c for s in _CSV_SUFFIXES for c in _COMPRESSED)
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))
    if not files:
        raise IngestError(f"{path}: folder holds no CSV, Excel or Parquet files")
    return files


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed (gzip, bz2, xz, or a zip archive holding one file)."""
    opener = _COMPRESSED.get(path.suffix.lower())
    if opener is not None:
        with opener(path, "rb") as stream:
            return stream.read()
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise IngestError(
                    f"{path}: rule zip_members: a zip source must hold exactly one file, this "
                    f"one holds {len(members)}. Hint: unzip it into a folder and point "
                    f"ingest.source.path at the folder."
                )
            return archive.read(members[0])
    return path.read_bytes()


def _parse_csv(file: str, data: bytes, text: str, encoding: str, delimiter: str, header):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                sep=delimiter,
                encoding=encoding,
                index_col=False,
            )
        except pd.errors.EmptyDataError:
            raise IngestError(
                f"{file}: rule empty_file: input is empty (no header, no rows). Hint: "
                f"export the file again with a header row and data."
            ) from None
        except pd.errors.ParserError as error:
            raise _parser_error(file, str(error), text, delimiter, header) from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        seen = len(fmt_rules.header_names(text.split("\n", 2)[1], delimiter))
        raise fmt_rules.ragged_error(file, 2, len(header), seen, header)
    return frame


def _parser_error(file: str, message: str, text: str, delimiter: str, header) -> IngestError:
    if "EOF inside string" in message:
        return fmt_rules.unclosed_quote_error(file, text, delimiter, header)
    ragged = fmt_rules.ragged_row_error(file, message, header)
    return ragged or IngestError(
        f"{file}: rule csv_syntax: {message}. Hint: check the quoting and the delimiter "
        f"(ingest.source.delimiter)."
    )


def _read_csv(path: Path, options: ReadOptions) -> tuple[pd.DataFrame, dict]:
    file, data = str(path), _read_bytes(path)
    text, encoding, notes = fmt_rules.decode_text(file, data, options.encoding)
    sample = text[:_SNIFF_CHARS]
    delimiter = options.delimiter
    if delimiter == "auto":
        delimiter = fmt_rules.sniff_delimiter(sample)
    header = fmt_rules.header_names(sample, delimiter)
    fmt_rules.check_header(file, header)
    nul = fmt_rules.nul_character_error(file, text, delimiter, header)
    if nul is not None:
        raise nul
    frame = _parse_csv(file, data, text, encoding, delimiter, header)
    swallowed = fmt_rules.swallowed_rows_error(file, frame, delimiter, text)
    if swallowed is not None:
        raise swallowed
    frame, dropped = fmt_rules.drop_blank_columns(frame, header)
    if dropped:
        notes.append(f"dropped {dropped} empty column(s) without a name")
    about = {"file": file, "format": "csv", "encoding": encoding, "delimiter": delimiter}
    return frame, {**about, "notes": notes}


def _read_excel(path: Path) -> tuple[pd.DataFrame, dict]:
    """Every sheet (cells keep their types: numbers, dates), as one table; see `excel_table`."""
    sheets = pd.read_excel(
        path, sheet_name=None, header=None, dtype=object, keep_default_na=False, na_values=[""]
    )
    frame, notes = fmt_rules.excel_table(str(path), sheets)
    return frame, {"file": str(path), "format": "excel", "notes": notes}


def _read_file(file: Path, options: ReadOptions) -> tuple[pd.DataFrame, dict]:
    kind = _format_of(file, options.format)
    try:
        if kind == "csv":
            return _read_csv(file, options)
        if kind == "excel":
            return _read_excel(file)
        return pd.read_parquet(file), {"file": str(file), "format": "parquet", "notes": []}
    except IngestError:
        raise
    except Exception as error:  # a third-party reader's own failure, turned into a refusal
        raise IngestError(
            f"{file}: rule {kind}_syntax: cannot be read as {kind} ({type(error).__name__}: "
            f"{error}). Hint: check that the file is a complete {kind} file, or set "
            f"ingest.source.format."
        ) from None


def read_source(path: Path, options: ReadOptions | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Raw rows unchanged, with provenance, and what was decided about each file (encoding,
    delimiter, notes). CSV is read as text so validation sees type errors."""
    frames, about = [], []
    for file in list_source_files(Path(path), (options or ReadOptions()).format):
        frame, info = _read_file(file, options or ReadOptions())
        if SOURCE_FILE not in frame:  # an Excel file names its sheet in each row's provenance
            frame[SOURCE_FILE] = str(file)
            frame[SOURCE_ROW] = range(len(frame))
        frames.append(frame)
        about.append(info)
    raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if raw.empty:
        raise IngestError(
            f"{path}: rule empty_file: input is empty (no data rows). Hint: the file has a "
            f"header only; export it again with its rows."
        )
    return raw, about
