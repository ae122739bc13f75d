"""Map source tables onto the event contract: a generic column mapping and Online Retail II.

Each mapper returns the contract columns plus provenance (``_source_file``, ``_source_row``) and,
where the source itself says a row is not an event, a ``_pre_reason``. Validation happens later,
in :func:`features.ingest.validate_events`, so every source is judged by the same rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import CUSTOMER_COLUMNS, EVENT_COLUMNS, REQUIRED_EVENT_COLUMNS
from features.ingest import (
    PRE_REASON,
    SOURCE_FILE,
    SOURCE_ROW,
    IngestError,
    clean_strings,
    parse_event_time,
)
from features.schemas import TEXT
from features.source_format import delimiter_hint

ONLINE_RETAIL_COLUMNS = (
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
)
ONLINE_RETAIL_TIMEZONE = "Europe/London"
# Non-product stock codes, handled deliberately (see README "Online Retail II"):
# charges the customer paid, or money given back, stay in net spend under their own category ...
CUSTOMER_CHARGE_CODES = {"POST": "shipping", "DOT": "shipping", "C2": "shipping", "M": "manual"}
CREDIT_CODES = {"D": "discount", "CRUK": "commission"}
# ... while bookkeeping entries are not customer behaviour and are quarantined as such.
ACCOUNTING_CODES = frozenset({"ADJUST", "ADJUST2", "B", "BANK CHARGES", "AMAZONFEE", "S"})


def _provenance(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[[SOURCE_FILE, SOURCE_ROW]].copy()


def map_columns(
    raw: pd.DataFrame,
    column_map: dict[str, str],
    event_type_map: dict[str, str],
    default_event_type: str | None = None,
) -> pd.DataFrame:
    """Rename source columns to contract columns; translate event-type values.

    Contract columns absent from ``column_map`` are looked up under their own name. A required
    column found nowhere is an :class:`IngestError` naming the file and the columns it has.
    """
    mapped = _provenance(raw)
    missing = []
    for column in EVENT_COLUMNS:
        source = column_map.get(column, column)
        if source in raw:
            mapped[column] = raw[source]
        elif column == "event_type" and default_event_type:
            mapped[column] = default_event_type
        elif column in REQUIRED_EVENT_COLUMNS:
            missing.append(f"{column} (looked for column '{source}')")
        else:
            mapped[column] = None
    if missing:
        files = ", ".join(sorted(map(str, raw[SOURCE_FILE].unique())))
        found = [c for c in raw.columns if not c.startswith("_")]
        raise IngestError(
            f"{files}: line 1 (header): rule required_column: required contract columns are not "
            f"mapped: {'; '.join(missing)}. The file has columns {found}. Hint: "
            f"{delimiter_hint(found) or 'set ingest.source.column_map in params.yaml.'}"
        )
    if event_type_map:
        types = mapped["event_type"].astype(TEXT).str.strip()
        mapped["event_type"] = types.map(lambda v: event_type_map.get(v, v) if pd.notna(v) else v)
    return mapped


def map_online_retail_ii(raw: pd.DataFrame) -> pd.DataFrame:
    """Online Retail II transaction lines to events.

    Invoices starting with 'C' and negative quantities become refunds of |quantity x price|;
    other lines are purchases of quantity x price. Postage, carriage and manual lines are
    customer charges (category shipping/manual), discounts and commission are credits
    (refunds), and bookkeeping codes are quarantined with reason ``accounting_entry``.
    """
    _require_columns(raw, ONLINE_RETAIL_COLUMNS)
    invoice = clean_strings(raw["Invoice"]).fillna("")
    code = clean_strings(raw["StockCode"]).fillna("")
    quantity = pd.to_numeric(raw["Quantity"], errors="coerce")
    price = pd.to_numeric(raw["Price"], errors="coerce")
    value = quantity * price
    is_refund = invoice.str.upper().str.startswith("C") | (quantity < 0) | code.isin(CREDIT_CODES)
    mapped = _provenance(raw)
    mapped["customer_id"] = raw["Customer ID"]
    mapped["event_time"] = raw["InvoiceDate"]
    mapped["event_type"] = np.where(is_refund, "refund", "purchase")
    mapped["order_id"] = invoice.mask(invoice == "")
    # A value that is not a number stays as text so validation reports wrong_type_amount.
    numeric = quantity.notna() & price.notna()
    mapped["amount"] = value.abs().astype(object).where(numeric, raw["Price"])
    mapped["quantity"] = quantity.abs().astype(object).where(quantity.notna(), raw["Quantity"])
    mapped["product_id"] = code.mask(code == "")
    category = code.map({**CUSTOMER_CHARGE_CODES, **CREDIT_CODES})
    mapped["category"] = category
    mapped["channel"] = "web"
    mapped[PRE_REASON] = np.where(code.str.upper().isin(ACCOUNTING_CODES), "accounting_entry", None)
    return mapped


def online_retail_customer_attributes(raw: pd.DataFrame) -> pd.DataFrame:
    """Country per customer: the most frequent one on their lines (ties: alphabetical)."""
    ids = clean_strings(raw["Customer ID"])
    lines = pd.DataFrame({"customer_id": ids, "country": clean_strings(raw["Country"])})
    lines = lines.dropna(subset=["customer_id"])
    counts = lines.groupby(["customer_id", "country"]).size().reset_index(name="n")
    counts = counts.sort_values(["customer_id", "n", "country"], ascending=[True, False, True])
    return counts.drop_duplicates("customer_id")[["customer_id", "country"]].reset_index(drop=True)


def _require_columns(raw: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in raw]
    if missing:
        files = ", ".join(sorted(map(str, raw[SOURCE_FILE].unique())))
        found = [c for c in raw.columns if not c.startswith("_")]
        raise IngestError(
            f"{files}: line 1 (header): rule required_column: not in Online Retail II format; "
            f"missing columns {missing} (expected {list(columns)}). Hint: "
            f"{delimiter_hint(found) or 'is ingest.source.kind right?'}"
        )


def build_customers(
    events: pd.DataFrame, attributes: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers table (one row per customer seen in events or attributes) and its quarantine.

    ``first_seen`` is the earlier of the attribute's own value and the first event. Attribute
    rows without an id, or repeating an id, are quarantined with a reason.
    """
    attributes = _normalise_attributes(attributes)
    bad_id = attributes["customer_id"].isna()
    repeated = attributes["customer_id"].duplicated(keep="first") & ~bad_id
    quarantine = attributes[bad_id | repeated].assign(
        reason=np.where(bad_id[bad_id | repeated], "missing_customer_id", "duplicate_customer_id")
    )
    attributes = attributes[~(bad_id | repeated)]
    first_event = events.groupby("customer_id", observed=True)["event_time"].min()
    ids = pd.Index(first_event.index).union(pd.Index(attributes["customer_id"].dropna()))
    customers = attributes.set_index("customer_id").reindex(ids)
    customers.index.name = "customer_id"
    both = pd.concat([customers["first_seen"], first_event.reindex(ids)], axis=1)
    customers["first_seen"] = both.min(axis=1)
    return _customer_dtypes(customers.reset_index()), quarantine.reset_index(drop=True)


def _normalise_attributes(attributes: pd.DataFrame | None) -> pd.DataFrame:
    frame = (
        pd.DataFrame(columns=list(CUSTOMER_COLUMNS)) if attributes is None else attributes.copy()
    )
    for column in CUSTOMER_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["customer_id"] = clean_strings(frame["customer_id"].astype(object))
    frame["first_seen"] = parse_event_time(frame["first_seen"], "UTC")
    return frame


def _customer_dtypes(customers: pd.DataFrame) -> pd.DataFrame:
    out = customers.copy()
    for column in out.columns:
        if column == "first_seen":
            out[column] = pd.to_datetime(out[column], utc=True).astype("datetime64[ns, UTC]")
        elif column == "marketing_consent":
            out[column] = out[column].map(_to_bool).astype("boolean")
        else:
            out[column] = clean_strings(out[column].astype(object)).astype(TEXT)
    ordered = list(CUSTOMER_COLUMNS) + [c for c in out.columns if c not in CUSTOMER_COLUMNS]
    return out[ordered].sort_values("customer_id", kind="stable").reset_index(drop=True)


def _to_bool(value) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y", "t"}:
        return True
    if text in {"false", "0", "no", "n", "f"}:
        return False
    return None
