"""Which cutoffs (``as_of``) to build: training snapshots, a holdout per target, the scoring one.

Out-of-time by construction: a target's training snapshots are the grid points whose label window
ends at or before that target's holdout cutoff, and the holdout is the latest grid point whose label
window is fully observed. Horizons the data cannot support are capped, with a message saying so.
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
    horizon_days: int
    training: list[pd.Timestamp]
    holdout: pd.Timestamp
    message: str | None = None

    @property
    def validation(self) -> pd.Timestamp:
        """The latest training snapshot: tuning validates on it, strictly after the others."""
        return self.training[-1]


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


def _plan_target(grid, scoring, horizon: int) -> tuple[list, pd.Timestamp | None]:
    holdouts = [g for g in grid if g + horizon * DAY <= scoring]
    if not holdouts:
        return [], None
    holdout = holdouts[-1]
    return [g for g in grid if g + horizon * DAY <= holdout], holdout


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
        used, message = horizon, None
        training, holdout = _plan_target(grid, scoring, used)
        while (
            _purged_training(training, used) < rules.min_training_snapshots
            and used > rules.step_days
        ):
            used -= rules.step_days
            training, holdout = _plan_target(grid, scoring, used)
        if holdout is None or len(training) < 1:
            raise ValueError(
                f"{target}: the data spans {len(grid)} usable monthly cutoffs, too few for any "
                f"training and holdout snapshot with a {horizon}-day horizon; need more history"
            )
        if used != horizon:
            message = (
                f"{target}.horizon_days={horizon} capped to {used} days: the data "
                f"({first_event_time:%Y-%m-%d} to {last_event_time:%Y-%m-%d}) cannot hold "
                f"{rules.min_training_snapshots} training windows, a validation window and a "
                f"holdout window of {horizon} days without overlap"
            )
        plan.targets[target] = TargetPlan(used, training, holdout, message)
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
