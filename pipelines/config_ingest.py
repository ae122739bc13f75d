"""The ``ingest`` and ``privacy`` sections of ``params.yaml``: where the events come from, how their
files are read (encoding, delimiter, dates, number formats), the ingest rules, and the right to
erasure's files. `pipelines.config` reads the whole file; light imports only."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from features.contract import EVENT_COLUMNS, EVENT_TYPES
from features.ingest import AmountOutlierRule
from pipelines.config_score import Strict


class SourceParams(Strict):
    """Where raw events come from and how their columns map onto the event contract."""

    kind: Literal["events", "online_retail_ii"]
    path: Path
    customers_path: Path | None = None
    format: Literal["auto", "csv", "parquet", "excel"] = "auto"
    encoding: str = "auto"  # auto: byte-order mark, else UTF-8, else cp1252, else Latin-1
    delimiter: Literal["auto", ",", ";", "\t", "|"] = "auto"  # auto: sniffed from the head
    timezone: str | None = None  # zone of naive timestamps; None: UTC, or the built-in mapping's
    dayfirst: bool = False  # 03/04/2024 is 3 April (true) or 4 March (false)
    decimal: Literal[".", ","] = "."
    thousands: Literal["auto", ",", ".", " ", "'"] | None = "auto"  # auto: the other of , and .
    column_map: dict[str, str] = Field(default_factory=dict)
    event_type_map: dict[str, str] = Field(default_factory=dict)
    default_event_type: str | None = None
    customers_column_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return value if value == "auto" else codecs.lookup(value).name
        except LookupError as error:
            raise ValueError(f"unknown encoding {value!r}; use auto, utf-8, cp1252...") from error

    @model_validator(mode="after")
    def _distinct_marks(self) -> SourceParams:
        if self.thousands == self.decimal:
            raise ValueError(f"thousands and decimal must differ, both are {self.decimal!r}")
        return self

    @field_validator("column_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(EVENT_COLUMNS))
        if unknown:
            raise ValueError(
                f"column_map keys must be contract columns {list(EVENT_COLUMNS)}; got {unknown}"
            )
        return value

    @field_validator("event_type_map")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted({v for v in value.values() if v not in EVENT_TYPES})
        if bad:
            raise ValueError(f"event_type_map values must be one of {list(EVENT_TYPES)}; got {bad}")
        return value


class SufficiencyParams(Strict):
    min_purchasing_customers: int = Field(ge=1)
    min_history_days: int = Field(ge=1)


class IngestParams(Strict):
    source: SourceParams
    amount_outlier: AmountOutlierRule  # absurd amounts: quarantined unless allowed
    reference_time: str | None = None
    max_reject_fraction: float = Field(ge=0.0, le=1.0)
    anonymous: Literal["keep", "reject"]  # rows without a customer id: own table or reject
    sufficiency: SufficiencyParams


class PrivacyParams(Strict):
    """The right to erasure (`segments forget`): files no stage writes, so neither `dvc repro` nor
    `make clean` removes them."""

    suppression: Path  # pseudonymised ids of forgotten customers; every ingest drops their rows
    salt: Path  # the salt of those ids, made by the first erasure (owner-only); salt_env wins
    salt_env: str  # environment variable that may hold the salt instead
    erasure_log: Path  # one JSON line per erasure: pseudonymised ids, time, files touched
