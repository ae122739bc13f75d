"""Which cutoffs (``as_of``) to build: training snapshots, a holdout per target, the scoring one.

Out-of-time by construction: a target's training snapshots are the grid points whose label window
ends at or before that target's holdout cutoff, and the holdout is the latest grid point whose label
window (of the horizon asked for) is fully observed.

A target is always served at the horizon asked for. When the data cannot hold enough purged
training windows of that length, models are trained at the longest horizon it can hold
(``training_horizon_days``) and their forecasts are rescaled to the asked horizon by the
probabilistic model (`models.horizon`). The holdout is still labelled at the asked horizon where
the data has such a window (``backtested``); where it has none, the holdout is labelled at the
training horizon and the plan says "not backtested at this horizon".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class SnapshotRules:
    step_days: int = 30
    min_history_days: int = 90
    min_training_snapshots: int = 3


@dataclass
class TargetPlan:
    horizon_days: int  # asked for (params): what the target is served and, if possible, judged at
    training: list[pd.Timestamp]
    holdout: pd.Timestamp
    message: str | None = None
    training_horizon_days: int | None = None  # None: the same as horizon_days
    backtested: bool = True  # the holdout is labelled at horizon_days

    @property
    def validation(self) -> pd.Timestamp:
        """The latest training snapshot: tuning validates on it, strictly after the others."""
        return self.training[-1]

    @property
    def trained_days(self) -> int:
        return self.training_horizon_days or self.horizon_days

    @property
    def holdout_days(self) -> int:
        return self.horizon_days if self.backtested else self.trained_days

    def label_days(self, as_of: pd.Timestamp) -> int:
        """The label horizon at a cutoff: the holdout's, or the training horizon elsewhere."""
        return self.holdout_days if as_of == self.holdout else self.trained_days


@dataclass
class SnapshotPlan:
    scoring: pd.Timestamp
    grid: list[pd.Timestamp]
    targets: dict[str, TargetPlan] = field(default_factory=dict)

    def all_cutoffs(self) -> list[pd.Timestamp]:
        return sorted(set(self.grid) | {self.scoring})

    def to_dict(self) -> dict:
        return {
            "scoring": self.scoring.isoformat(),
            "grid": [g.isoformat() for g in self.grid],
            "targets": {
                name: {
                    "horizon_days": plan.horizon_days,
                    "training_horizon_days": plan.trained_days,
                    "holdout_horizon_days": plan.holdout_days,
                    "backtested": plan.backtested,
                    "training": [t.isoformat() for t in plan.training],
                    "validation": plan.validation.isoformat(),
                    "holdout": plan.holdout.isoformat(),
                    "message": plan.message,
                }
                for name, plan in self.targets.items()
            },
        }


def scoring_cutoff(last_event_time: pd.Timestamp) -> pd.Timestamp:
    """The end of the data: midnight UTC after the last event, so every event counts."""
    return last_event_time.tz_convert("UTC").floor("D") + DAY


def _grid(first: pd.Timestamp, scoring: pd.Timestamp, rules: SnapshotRules) -> list[pd.Timestamp]:
    earliest = first.tz_convert("UTC").floor("D") + rules.min_history_days * DAY
    points, point = [], scoring
    while point >= earliest:
        points.append(point)
        point -= rules.step_days * DAY
    return sorted(points)


def _purged_training(training: list[pd.Timestamp], horizon: int) -> int:
    """How many training cutoffs' label windows end by the validation cutoff (the last one)."""
    if not training:
        return 0
    return sum(t + horizon * DAY <= training[-1] for t in training[:-1])


def _holdout(grid, scoring, horizon: int) -> pd.Timestamp | None:
    """The latest grid point whose label window of ``horizon`` days is fully observed."""
    holdouts = [g for g in grid if g + horizon * DAY <= scoring]
    return holdouts[-1] if holdouts else None


def _training(grid, holdout, horizon: int) -> list[pd.Timestamp]:
    return [g for g in grid if holdout is not None and g + horizon * DAY <= holdout]


def plan_snapshots(
    first_event_time: pd.Timestamp,
    last_event_time: pd.Timestamp,
    horizons_days: dict[str, int],
    rules: SnapshotRules,
) -> SnapshotPlan:
    """Derive the snapshot plan from the data's date range and each target's horizon."""
    scoring = scoring_cutoff(last_event_time)
    grid = _grid(first_event_time, scoring, rules)
    plan = SnapshotPlan(scoring=scoring, grid=grid)
    for target, horizon in horizons_days.items():
        asked_holdout = _holdout(grid, scoring, horizon)
        used = horizon
        while True:
            holdout = asked_holdout or _holdout(grid, scoring, used)
            training = _training(grid, holdout, used)
            enough = _purged_training(training, used) >= rules.min_training_snapshots
            if enough or used <= rules.step_days:
                break
            used = max(used - rules.step_days, rules.step_days)
        if holdout is None or _purged_training(training, used) < 1:
            raise ValueError(
                f"{target}: the data spans {len(grid)} usable cutoffs every {rules.step_days} "
                f"days, too few for purged training, validation and holdout windows even at "
                f"{used} days; need more history"
            )
        backtested = asked_holdout is not None
        message = None
        if used != horizon:
            message = (
                f"{target}: served at the asked {horizon} days; trained at {used} days, the "
                f"longest the data ({first_event_time:%Y-%m-%d} to {last_event_time:%Y-%m-%d}) "
                f"holds with {rules.min_training_snapshots} purged training windows, and "
                f"rescaled to {horizon} days by the BG/NBD ratio of expectations; "
                + (
                    f"backtested at {horizon} days on the holdout {holdout:%Y-%m-%d}"
                    if backtested
                    else f"not backtested at this horizon (no {horizon}-day window is observed "
                    f"after {rules.min_history_days} days of history); judged at {used} days"
                )
            )
        plan.targets[target] = TargetPlan(
            horizon, training, holdout, message, used if used != horizon else None, backtested
        )
    return plan


def explicit_plan(
    training: list[str], holdout: str, scoring: str, horizons_days: dict[str, int]
) -> SnapshotPlan:
    """A plan from hand-set cutoffs, refused when any label window would cross the holdout."""
    train = sorted(pd.Timestamp(t, tz="UTC") for t in training)
    hold, score = pd.Timestamp(holdout, tz="UTC"), pd.Timestamp(scoring, tz="UTC")
    plan = SnapshotPlan(scoring=score, grid=sorted({*train, hold}))
    for target, horizon in horizons_days.items():
        window = horizon * DAY
        if not train or train[-1] + window > hold or hold + window > score:
            raise ValueError(
                f"{target}: explicit snapshots need every training cutoff + {horizon} days <= "
                f"holdout ({holdout}) and holdout + {horizon} days <= scoring ({scoring})"
            )
        plan.targets[target] = TargetPlan(horizon, train, hold)
    return plan
