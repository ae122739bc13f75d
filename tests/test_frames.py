"""Which cutoffs train, validate and test a target: purged, so no training label sees validation."""

from __future__ import annotations

import pandas as pd
import pytest

from models.frames import target_cutoffs


def _plan(step_days: int, n: int, horizon_days: int) -> dict:
    grid = [pd.Timestamp("2024-01-01") + pd.Timedelta(days=step_days * i) for i in range(n)]
    return {
        "targets": {
            "churn": {
                "horizon_days": horizon_days,
                "training": [t.isoformat() for t in grid],
                "holdout": (grid[-1] + pd.Timedelta(days=horizon_days)).isoformat(),
            }
        }
    }


def test_training_label_windows_end_by_the_validation_cutoff():
    cutoffs = target_cutoffs(_plan(30, 10, 90), "churn", max_training_snapshots=20)
    assert cutoffs.validation == pd.Timestamp("2024-01-01") + pd.Timedelta(days=270)
    # 240 and 210 overlap the validation window (label windows end at 330 and 300 > 270).
    assert cutoffs.training[-1] == pd.Timestamp("2024-01-01") + pd.Timedelta(days=180)
    horizon = pd.Timedelta(days=90)
    assert all(t + horizon <= cutoffs.validation for t in cutoffs.training)
    assert len(cutoffs.training) == 7


def test_the_most_recent_purged_cutoffs_are_kept():
    cutoffs = target_cutoffs(_plan(30, 10, 90), "churn", max_training_snapshots=2)
    start = pd.Timestamp("2024-01-01")
    assert cutoffs.training == [start + pd.Timedelta(days=150), start + pd.Timedelta(days=180)]


def test_too_short_a_history_for_a_purged_split_is_a_clear_error():
    with pytest.raises(ValueError, match="label window ends by the validation cutoff"):
        target_cutoffs(_plan(30, 3, 90), "churn", max_training_snapshots=6)


def test_rolling_origin_folds_are_purged_spaced_and_most_recent_first():
    from models.frames import validation_folds

    folds = validation_folds(_plan(30, 16, 90), "churn", 3, n_folds=3, spacing_days=90)
    assert len(folds) == 3
    validations = [f.validation for f in folds]
    assert validations == sorted(validations, reverse=True)
    assert all((a - b).days >= 90 for a, b in zip(validations, validations[1:], strict=False))
    for fold in folds:
        assert len(fold.training) == 3
        assert all(t + pd.Timedelta(days=90) <= fold.validation for t in fold.training)
    assert folds[0] == target_cutoffs(_plan(30, 16, 90), "churn", 3)
    # Too short a history for folds a season apart: the latest earlier cutoffs that still have
    # purged training cutoffs fill in, still most recent first.
    short = validation_folds(_plan(30, 8, 90), "churn", 3, n_folds=3, spacing_days=90)
    assert [f.validation.day_of_year for f in short] == [211, 181, 121]  # one a season back
    for fold in short:
        assert fold.training and all(
            t + pd.Timedelta(days=90) <= fold.validation for t in fold.training
        )
    tiny = validation_folds(_plan(30, 4, 90), "churn", 3, n_folds=3, spacing_days=90)
    assert len(tiny) == 1  # nothing earlier has a purged training cutoff
