"""The ingest report: reconciliation, counts per reason, coverage, data-sufficiency verdict."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.ingest import IngestError, IngestResult


@dataclass(frozen=True)
class SufficiencyThresholds:
    min_purchasing_customers: int = 500
    min_history_days: int = 365


def judge_sufficiency(events: pd.DataFrame, thresholds: SufficiencyThresholds) -> dict:
    """Is there enough purchase history to train and honestly evaluate models? Says why not."""
    purchases = events[events["event_type"] == "purchase"]
    buyers = int(purchases["customer_id"].nunique())
    if len(purchases):
        span = purchases["event_time"].max() - purchases["event_time"].min()
        history_days = int(span / pd.Timedelta(days=1))
    else:
        history_days = 0
    problems = []
    if buyers < thresholds.min_purchasing_customers:
        problems.append(
            f"only {buyers} customers have purchases "
            f"(at least {thresholds.min_purchasing_customers} are needed)"
        )
    if history_days < thresholds.min_history_days:
        problems.append(
            f"purchases span only {history_days} days "
            f"(at least {thresholds.min_history_days} are needed for training and holdout windows)"
        )
    if problems:
        message = (
            "Not enough data for reliable models: "
            + "; ".join(problems)
            + ". Models will be trained, but treat their metrics as indicative only."
        )
    else:
        message = f"Sufficient: {buyers} purchasing customers over {history_days} days."
    return {
        "sufficient": not problems,
        "purchasing_customers": buyers,
        "history_days": history_days,
        "message": message,
        "thresholds": {
            "min_purchasing_customers": thresholds.min_purchasing_customers,
            "min_history_days": thresholds.min_history_days,
        },
    }


def summarize_ingest(
    result: IngestResult,
    customers: pd.DataFrame,
    customer_quarantine: pd.DataFrame,
    thresholds: SufficiencyThresholds,
    source: dict,
) -> dict:
    """Everything a reviewer checks after ingest, as one JSON-able dict (a DVC metrics file)."""
    events = result.events
    times = events["event_time"]
    return {
        "source": source,
        "rows_read": result.rows_read,
        "accepted": len(events),
        "anonymous": result.anonymous_rows,
        "quarantined": len(result.quarantine),
        "duplicates_removed": result.duplicates_removed,
        "suppressed": result.suppressed,  # rows of forgotten customers (features.erasure)
        "reconciled": result.reconciles,
        "reject_fraction": round(len(result.quarantine) / max(result.rows_read, 1), 6),
        "anonymous_fraction": round(result.anonymous_rows / max(result.rows_read, 1), 6),
        "quarantine_by_reason": result.quarantine["reason"].value_counts().sort_index().to_dict(),
        "events_by_type": events["event_type"].value_counts().sort_index().to_dict(),
        "customers": len(customers),
        "customers_with_events": int(events["customer_id"].nunique()),
        "customers_quarantined": len(customer_quarantine),
        "date_min": times.min().isoformat() if len(events) else None,
        "date_max": times.max().isoformat() if len(events) else None,
        "sufficiency": judge_sufficiency(events, thresholds),
    }


def check_reject_fraction(result: IngestResult, max_fraction: float, examples: int = 3) -> None:
    """Fail loudly, naming file, column, rule and example rows, when too much is rejected."""
    if result.rows_read == 0:
        raise IngestError("the input has no rows: nothing to ingest")
    quarantine = result.quarantine
    fraction = len(quarantine) / result.rows_read
    if fraction <= max_fraction:
        return
    lines = [
        f"ingest rejected {len(quarantine)} of {result.rows_read} rows ({fraction:.1%}), "
        f"more than ingest.max_reject_fraction={max_fraction:.1%}. Largest causes:"
    ]
    by_rule = quarantine.groupby(["source_file", "column", "reason", "rule"]).size()
    for (file, column, reason, rule), count in by_rule.sort_values(ascending=False)[:5].items():
        sample = quarantine[(quarantine["reason"] == reason) & (quarantine["source_file"] == file)]
        shown = "; ".join(
            f"row {r.source_row}: {r.original}" for r in sample.head(examples).itertuples()
        )
        lines.append(
            f"- {file}: column '{column}', rule {reason} ({rule}): {count} rows, e.g. {shown}"
        )
    lines.append(
        "Every rejected row would be in the quarantine table; fix the mapping or the data."
    )
    raise IngestError("\n".join(lines))
