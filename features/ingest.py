"""Validate mapped raw events against the event contract, quarantining every rejected row.

Pure functions on DataFrames: the DVC stage in ``pipelines/ingest.py`` does the reading and writing.
Invariant: rows read = accepted + anonymous + quarantined + duplicates removed + suppressed (rows of
forgotten customers that ``features.erasure`` drops before validation; 0 when none are listed).

Rows without a customer id (guest checkouts, anonymous sessions) are not errors: when they pass
every other rule they are kept in their own ``anonymous`` table, unless ``anonymous="reject"``
quarantines them as ``missing_customer_id``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.contract import EVENT_COLUMNS, EVENT_TYPES, MONETARY_EVENT_TYPES
from features.schemas import TEXT, EventSchema

SOURCE_FILE, SOURCE_ROW, PRE_REASON = "_source_file", "_source_row", "_pre_reason"
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


class IngestError(ValueError):
    """Input that cannot be ingested; the message names file, column, rule and examples."""


@dataclass(frozen=True)
class Rule:
    """One contract rule: a machine-readable reason, the column it is about, and what it demands."""

    reason: str
    column: str
    text: str


# Ordered: a row that breaks several rules is quarantined under the first, with all of them listed.
RULES: tuple[Rule, ...] = (
    Rule("missing_customer_id", "customer_id", "customer_id is required and non-empty"),
    Rule("missing_event_time", "event_time", "event_time is required"),
    Rule("unparseable_event_time", "event_time", "event_time must parse as a timestamp"),
    Rule("future_event_time", "event_time", "event_time must not be after the reference time"),
    Rule("missing_event_type", "event_type", "event_type is required"),
    Rule("unknown_event_type", "event_type", f"event_type must be one of {', '.join(EVENT_TYPES)}"),
    Rule("accounting_entry", "product_id", "accounting entries are not customer behaviour"),
    Rule("missing_order_id", "order_id", "order_id is required for purchase and refund"),
    Rule("wrong_type_amount", "amount", "amount must be a number"),
    Rule("missing_amount", "amount", "amount is required for purchase and refund"),
    Rule("non_finite_amount", "amount", "amount must be finite"),
    Rule("non_positive_amount", "amount", "amount must be > 0 for purchase and refund"),
    Rule("unexpected_amount", "amount", "amount must be absent for non-monetary events"),
    Rule("wrong_type_quantity", "quantity", "quantity must be a whole number"),
    Rule("non_positive_quantity", "quantity", "quantity must be > 0 when present"),
)
RULES_BY_REASON = {rule.reason: rule for rule in RULES}


ANONYMOUS_POLICIES = ("keep", "reject")


@dataclass
class IngestResult:
    events: pd.DataFrame
    quarantine: pd.DataFrame
    rows_read: int
    duplicates_removed: int
    anonymous: pd.DataFrame | None = None  # valid rows without a customer id (policy "keep")
    suppressed: int = 0  # rows of forgotten customers, dropped unread (features.erasure)

    @property
    def anonymous_rows(self) -> int:
        return 0 if self.anonymous is None else len(self.anonymous)

    @property
    def reconciles(self) -> bool:
        kept = len(self.events) + self.anonymous_rows + len(self.quarantine)
        return self.rows_read == kept + self.duplicates_removed + self.suppressed


def clean_strings(values: pd.Series) -> pd.Series:
    """Strings stripped, empty to missing; integral floats (Excel ids like 12417.0) lose '.0'."""
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & np.isfinite(values) & (values == values.round())
        out = values.astype(object)
        out[whole] = values[whole].astype("int64").astype(str)
        out[values.isna()] = None
        values = out
    text = values.astype(TEXT).str.strip()
    return text.mask(text == "")


def parse_event_time(values: pd.Series, timezone: str) -> pd.Series:
    """Parse timestamps to UTC; naive values are read in ``timezone``, unparseable become NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_dtype(values):
        return _localize(values, timezone)
    text = clean_strings(values)
    has_offset = text.str.contains(_OFFSET, na=False)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if has_offset.any():
        out[has_offset] = _parse_text(text[has_offset], utc=True)
    naive = ~has_offset & text.notna()
    if naive.any():
        out[naive] = _localize(_parse_text(text[naive], utc=False), timezone)
    return out


def _parse_text(text: pd.Series, utc: bool) -> pd.Series:
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    retry = parsed.isna() & text.notna()
    if retry.any():
        parsed = parsed.astype(object)
        parsed[retry] = pd.to_datetime(text[retry], errors="coerce", format="mixed", utc=utc)
        parsed = pd.to_datetime(parsed, utc=utc)
    return parsed.astype("datetime64[ns, UTC]" if utc else "datetime64[ns]")


def _localize(values: pd.Series, timezone: str) -> pd.Series:
    # Repeated hour at the end of DST: take the first (summer-time) reading; skipped hour: shift.
    ambiguous = np.ones(len(values), dtype=bool)
    local = values.dt.tz_localize(timezone, ambiguous=ambiguous, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def _parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numeric values and a mask of present-but-not-numeric entries."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64"), pd.Series(False, index=values.index)
    text = clean_strings(values)
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    return number, text.notna() & number.isna()


def _present(values: pd.Series) -> pd.Series:
    """Not missing; for text, also not blank."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.notna()
    return clean_strings(values.astype(TEXT)).notna()


def _parse(mapped: pd.DataFrame, timezone: str) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Contract-typed columns plus the parse-failure masks the rules need."""
    parsed = pd.DataFrame(index=mapped.index)
    for column in ("customer_id", "order_id", "product_id", "category", "channel"):
        parsed[column] = clean_strings(mapped[column])
    parsed["event_type"] = clean_strings(mapped["event_type"]).str.lower()
    parsed["event_time"] = parse_event_time(mapped["event_time"], timezone)
    parsed["amount"], bad_amount = _parse_number(mapped["amount"])
    parsed["quantity"], bad_quantity = _parse_number(mapped["quantity"])
    failures = {
        "time_present": _present(mapped["event_time"]),
        "bad_amount": bad_amount,
        "bad_quantity": bad_quantity,
    }
    return parsed[list(EVENT_COLUMNS)], failures


def _rule_masks(
    parsed: pd.DataFrame, failures: dict[str, pd.Series], pre_reason: pd.Series, reference
) -> dict[str, pd.Series]:
    time, amount, quantity = parsed["event_time"], parsed["amount"], parsed["quantity"]
    monetary = parsed["event_type"].isin(MONETARY_EVENT_TYPES)
    has_amount = amount.notna() | failures["bad_amount"]
    masks: dict[str, Callable[[], pd.Series]] = {
        "missing_customer_id": lambda: parsed["customer_id"].isna(),
        "missing_event_time": lambda: ~failures["time_present"],
        "unparseable_event_time": lambda: failures["time_present"] & time.isna(),
        "future_event_time": lambda: time > reference,
        "missing_event_type": lambda: parsed["event_type"].isna(),
        "unknown_event_type": lambda: (
            parsed["event_type"].notna() & ~parsed["event_type"].isin(EVENT_TYPES)
        ),
        "accounting_entry": lambda: pre_reason == "accounting_entry",
        "missing_order_id": lambda: monetary & parsed["order_id"].isna(),
        "wrong_type_amount": lambda: failures["bad_amount"],
        "missing_amount": lambda: monetary & ~has_amount,
        "non_finite_amount": lambda: amount.notna() & ~np.isfinite(amount),
        "non_positive_amount": lambda: monetary & (amount <= 0),
        "unexpected_amount": lambda: ~monetary & has_amount & parsed["event_type"].notna(),
        "wrong_type_quantity": lambda: (
            failures["bad_quantity"]
            | (quantity.notna() & np.isfinite(quantity) & (quantity != quantity.round()))
        ),
        "non_positive_quantity": lambda: quantity <= 0,
    }
    return {rule.reason: masks[rule.reason]().fillna(False).astype(bool) for rule in RULES}


def _first_reason(
    masks: dict[str, pd.Series], index: pd.Index, skip: frozenset[str] = frozenset()
) -> pd.Series:
    reason = pd.Series(None, index=index, dtype=object)
    for rule in reversed(RULES):
        if rule.reason not in skip:
            reason = reason.mask(masks[rule.reason], rule.reason)
    return reason


def _all_reasons(masks: dict[str, pd.Series], rejected: pd.Series) -> pd.Series:
    table = pd.DataFrame({r: m[rejected] for r, m in masks.items()})
    names = np.array(list(masks), dtype=object)
    return pd.Series(
        [";".join(names[row]) for row in table.to_numpy()], index=table.index, dtype=object
    )


def _original_values(raw: pd.DataFrame, rows: pd.Index) -> pd.Series:
    subset = raw.loc[rows].astype(object).where(raw.loc[rows].notna(), None)
    return pd.Series(
        [json.dumps(rec, default=str, ensure_ascii=False) for rec in subset.to_dict("records")],
        index=rows,
        dtype=object,
    )


def build_quarantine(
    mapped: pd.DataFrame, raw: pd.DataFrame, masks: dict[str, pd.Series], reason: pd.Series
) -> pd.DataFrame:
    """One row per rejected input row: where it came from, why, and its original values."""
    rejected = reason.notna()
    rows = reason.index[rejected]
    first = reason[rejected]
    return pd.DataFrame(
        {
            "source_file": mapped.loc[rows, SOURCE_FILE].astype(str),
            "source_row": mapped.loc[rows, SOURCE_ROW].astype("int64"),
            "reason": first.astype(str),
            "column": first.map(lambda r: RULES_BY_REASON[r].column).astype(str),
            "rule": first.map(lambda r: RULES_BY_REASON[r].text).astype(str),
            "all_reasons": _all_reasons(masks, rejected),
            "original": _original_values(raw, rows),
        }
    ).reset_index(drop=True)


def validate_events(
    mapped: pd.DataFrame,
    raw: pd.DataFrame,
    reference_time: pd.Timestamp,
    timezone: str = "UTC",
    anonymous: str = "keep",
) -> IngestResult:
    """Split mapped rows into contract-valid events, anonymous rows and a quarantine; drop exact
    duplicates (counted).

    ``mapped`` holds the contract columns plus ``_source_file``/``_source_row`` (and optionally
    ``_pre_reason`` set by a source mapping); ``raw`` holds the original values, same index.
    ``anonymous``: "keep" puts rows that lack only a customer id in their own table; "reject"
    quarantines them. A row without an id that also breaks another rule is quarantined either way.
    """
    if anonymous not in ANONYMOUS_POLICIES:
        raise ValueError(f"anonymous must be one of {ANONYMOUS_POLICIES}, got {anonymous!r}")
    pre_reason = mapped[PRE_REASON] if PRE_REASON in mapped else pd.Series(None, index=mapped.index)
    parsed, failures = _parse(mapped, timezone)
    masks = _rule_masks(parsed, failures, pre_reason, reference_time)
    keep = anonymous == "keep"
    reason = _first_reason(masks, mapped.index, frozenset({"missing_customer_id"} if keep else ()))
    quarantine = build_quarantine(mapped, raw, masks, reason)
    valid = reason.isna()
    guests = valid & masks["missing_customer_id"]
    accepted = parsed[valid & ~guests]
    duplicated = exact_duplicates(accepted)
    events = finalize_events(accepted[~duplicated])
    guest_rows = parsed[guests]
    guest_duplicated = exact_duplicates(guest_rows)
    return IngestResult(
        events,
        quarantine,
        len(mapped),
        int(duplicated.sum() + guest_duplicated.sum()),
        finalize_anonymous(guest_rows[~guest_duplicated]) if keep else None,
    )


def exact_duplicates(frame: pd.DataFrame) -> pd.Series:
    """Rows equal to an earlier row in every column. Row hashes find the candidates fast; the
    candidates are then compared value by value, so a hash collision never drops a row."""
    hashes = pd.util.hash_pandas_object(frame, index=False)
    candidates = hashes.duplicated(keep=False).to_numpy()
    duplicated = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        duplicated[candidates] = frame[candidates].duplicated(keep="first").to_numpy()
    return pd.Series(duplicated, index=frame.index)


def finalize_anonymous(rows: pd.DataFrame) -> pd.DataFrame:
    """Anonymous rows in contract dtypes (no customer id), in time order; not contract-checked
    against the id rule they break by definition."""
    out = rows.astype({c: TEXT for c in ("customer_id", "event_type", "order_id", "product_id")})
    out = out.astype({"category": TEXT, "channel": TEXT, "amount": "float64"})
    out["quantity"] = out["quantity"].round().astype("Int64")
    return out.sort_values(["event_time", "order_id"], kind="stable").reset_index(drop=True)


def finalize_events(events: pd.DataFrame) -> pd.DataFrame:
    """Contract dtypes, deterministic order, then the pandera contract check."""
    out = events.astype(
        {
            "customer_id": TEXT,
            "event_type": TEXT,
            "order_id": TEXT,
            "product_id": TEXT,
            "category": TEXT,
            "channel": TEXT,
            "amount": "float64",
        }
    )
    out["quantity"] = out["quantity"].round().astype("Int64")
    out = out.sort_values(
        ["event_time", "customer_id", "event_type", "order_id", "product_id"],
        kind="stable",
        na_position="first",
    ).reset_index(drop=True)
    return EventSchema.validate(out)
