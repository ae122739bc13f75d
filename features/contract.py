"""The event contract (v1): column names, dtypes, event types and quarantine reasons.

Every layer after ingest relies on these definitions; change them only with a contract version bump.
"""

from __future__ import annotations

CONTRACT_VERSION = "1"

EVENT_TYPES: tuple[str, ...] = (
    "purchase",
    "refund",
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "email_open",
    "email_click",
    "support_ticket",
)
MONETARY_EVENT_TYPES: tuple[str, ...] = ("purchase", "refund")

# Column -> logical type of the validated events table.
EVENT_COLUMNS: dict[str, str] = {
    "customer_id": "string",
    "event_time": "timestamp[UTC]",
    "event_type": "category",
    "order_id": "string",
    "amount": "float",
    "quantity": "int",
    "product_id": "string",
    "category": "string",
    "channel": "string",
}
REQUIRED_EVENT_COLUMNS: tuple[str, ...] = ("customer_id", "event_time", "event_type")

# The validated layer also stores two integer surrogates, engine details that feature queries group
# and join on (hashing integers is several times cheaper than hashing text), not something a source
# provides: in events and customers, the customer's row number in customers.parquet (int32; that
# file is sorted by customer_id), and in events, the event type's position in EVENT_TYPES (int8).
CUSTOMER_KEY = "customer_key"
EVENT_TYPE_CODE = "event_type_code"

CUSTOMER_COLUMNS: dict[str, str] = {
    "customer_id": "string",
    "first_seen": "timestamp[UTC]",
    "country": "string",
    "acquisition_channel": "string",
    "marketing_consent": "boolean",
}
# Kept for fairness audits only; never model features unless a param opts them in.
SENSITIVE_CUSTOMER_COLUMNS: tuple[str, ...] = ("age_band", "gender")
