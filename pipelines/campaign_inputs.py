"""What measuring a campaign and learning uplift from it both read: the export, the customers a
campaign could reach with their group, the window of validated events after the as-of, and the
list of customers actually contacted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.targets import NO_ORDER
from models.control import outcome_targets
from models.measurement import MeasureRules
from pipelines.config import Params
from pipelines.exits import EXIT_NOT_FOUND, EXIT_NOT_MEASURABLE, ScoringError
from pipelines.io import last_event_time, read_events_between

EVENT_COLUMNS = ["customer_id", "event_time", "event_type", "order_id", "amount"]


def measure_rules(params: Params) -> MeasureRules:
    churn = outcome_targets()[NO_ORDER].name
    return MeasureRules(
        confidence=params.campaign.confidence,
        min_days=params.campaign.min_days,
        min_group_customers=params.campaign.min_group_customers,
        churn_horizon_days=params.targets.horizons()[churn],
        cost_per_contact=params.campaign.cost_per_contact,
    )


def export_folder(exports_dir: Path, as_of: str | None) -> Path:
    folder = Path(exports_dir) / (as_of or "latest")
    if not (folder / "manifest.json").exists():
        raise ScoringError(
            EXIT_NOT_FOUND, f"no export at {folder}", "run `segments score`, or check --export"
        )
    return folder.resolve()


def population(folder: Path, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """The customers a campaign could reach (consenting), with segment, group, whether the
    churn model covers them, and those of the other ``columns`` the export has."""
    churn = outcome_targets()[NO_ORDER].score_column
    segments = pd.read_parquet(folder / "segments.parquet")
    if "group" not in segments:
        raise ScoringError(
            EXIT_NOT_MEASURABLE,
            f"{folder / 'segments.parquet'}: no `group` column (an export made before control "
            "groups), so there is no control group to compare with",
            "measure an export made by this version of `segments score`",
        )
    reach = segments[segments["marketing_consent"].fillna(False).astype(bool)]
    extra = [c for c in columns if c in reach and c not in ("customer_id", "segment", "group")]
    wanted = ["customer_id", "segment", "group", *extra]
    return reach[wanted].assign(churn_eligible=reach[churn].notna().to_numpy())


def read_contacted(path: Path | None) -> set | None:
    if path is None:
        return None
    try:
        return set(pd.read_csv(path, dtype=str, usecols=["customer_id"])["customer_id"])
    except (OSError, ValueError) as error:
        raise ScoringError(
            EXIT_NOT_MEASURABLE,
            f"{path}: cannot read a `customer_id` column of contacted customers ({error})",
            "pass a CSV with a customer_id column, like the activation files",
        ) from error


@dataclass(frozen=True)
class Window:
    """The validated events from the export's as-of through the day ``until``."""

    until: str
    days: int
    events: pd.DataFrame


def campaign_window(params: Params, folder: Path, until=None, events_dir=None) -> Window:
    """The window after the export in ``folder``, up to ``until`` (default: ``campaign.until``,
    else the day of the last event)."""
    events_dir = Path(events_dir or params.paths.validated_dir) / "events"
    start, last = pd.Timestamp(folder.name, tz="UTC"), last_event_time(events_dir)
    until = until or params.campaign.until or f"{last if last is not None else start:%Y-%m-%d}"
    end = pd.Timestamp(until, tz="UTC") + pd.Timedelta(days=1)
    events = read_events_between(events_dir, start, max(end, start), EVENT_COLUMNS)
    return Window(until, (end - start).days, events)
