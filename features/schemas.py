"""Pandera schemas: the contract that validated tables satisfy at every layer boundary."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from features.contract import EVENT_TYPES, MONETARY_EVENT_TYPES

_UTC = "datetime64[ns, UTC]"
# Arrow-backed text: vectorised string kernels, compact in memory, zero-copy to Parquet.
TEXT = pd.StringDtype("pyarrow")


def _monetary_rows_have_order_and_amount(df):
    monetary = df["event_type"].isin(MONETARY_EVENT_TYPES)
    ok = df["order_id"].notna() & (df["amount"] > 0)
    return ~monetary | ok


def _other_rows_have_no_amount(df):
    return df["event_type"].isin(MONETARY_EVENT_TYPES) | df["amount"].isna()


EventSchema = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(TEXT, pa.Check.str_length(min_value=1)),
        "event_time": pa.Column(_UTC),
        "event_type": pa.Column(TEXT, pa.Check.isin(EVENT_TYPES)),
        "order_id": pa.Column(TEXT, nullable=True),
        "amount": pa.Column("float64", nullable=True),
        "quantity": pa.Column("Int64", pa.Check.gt(0), nullable=True),
        "product_id": pa.Column(TEXT, nullable=True),
        "category": pa.Column(TEXT, nullable=True),
        "channel": pa.Column(TEXT, nullable=True),
    },
    checks=[
        pa.Check(_monetary_rows_have_order_and_amount, name="monetary_has_order_and_amount"),
        pa.Check(_other_rows_have_no_amount, name="non_monetary_has_no_amount"),
    ],
    strict=True,
    ordered=True,
    name="events_v1",
)

CustomerSchema = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(TEXT, pa.Check.str_length(min_value=1), unique=True),
        "first_seen": pa.Column(_UTC, nullable=True),
        "country": pa.Column(TEXT, nullable=True),
        "acquisition_channel": pa.Column(TEXT, nullable=True),
        "marketing_consent": pa.Column("boolean", nullable=True),
    },
    strict=False,  # optional sensitive attributes may follow
    name="customers_v1",
)
