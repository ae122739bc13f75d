"""Progress: bars on a terminal, silent under --quiet and in CI; Optuna trials counted."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from models.estimators import CalibratedXGBClassifier
from models.frames import Split
from models.search_space import SearchSpace
from models.tuning import tune
from pipelines.progress import Steps, progress_bar


def _terminal(**options) -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100, **options)


def test_bar_draws_on_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    console = _terminal()
    with progress_bar(console) as bar:
        task = bar.add_task("features: cutoff", total=2)
        bar.advance(task, 2)
    assert "features: cutoff" in console.file.getvalue()
    assert "2/2" in console.file.getvalue()


def test_bar_is_silent_under_quiet_in_ci_and_in_logs(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    quiet = _terminal(quiet=True)
    log = Console(file=io.StringIO(), force_terminal=False)
    monkeypatch.setenv("CI", "true")
    ci = _terminal()
    for console in (quiet, log, ci):
        with progress_bar(console) as bar:
            bar.advance(bar.add_task("step", total=1))
        assert console.file.getvalue() == ""


def _split(n: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = pd.Series((X["a"] + rng.normal(size=n) > 0).astype(int))
    return Split(X, y, pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)]}))


def test_tune_reports_every_trial_and_a_resumed_study_only_what_it_adds(tmp_path):
    train, valid = _split(400, 0), _split(200, 1)
    space = SearchSpace(max_depth=(2, 3), max_rounds=30)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    calls: list[tuple[int, int]] = []

    def run(n_trials: int):
        return tune(
            "churn",
            [(train, valid), (_split(300, 2), valid)],
            lambda settings: CalibratedXGBClassifier(**settings),
            storage=storage,
            name="progress-test",
            n_trials=n_trials,
            timeout_s=None,
            seed=0,
            space=space,
            on_trial=lambda done, total: calls.append((done, total)),
        )

    run(3)
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    calls.clear()
    study = run(3)  # finished: resumed from SQLite, nothing to add
    assert calls == [(3, 3)] and len(study.trials) == 3
    calls.clear()
    study = run(4)
    assert calls == [(3, 4), (4, 4)] and len(study.trials) == 4
    # Each finished trial is the mean over the folds, and says what each fold scored.
    for trial in (t for t in study.trials if t.value is not None):
        assert trial.value == pytest.approx(np.mean(trial.user_attrs["fold_scores"]), abs=1e-6)
        assert len(trial.user_attrs["fold_scores"]) == 2


def test_steps_count_their_names_and_show_the_step_running(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    console = _terminal()
    with progress_bar(console) as bar:
        steps = Steps(bar, "score", ["loading", "scoring"])
        assert bar.tasks[0].total == 2 and bar.tasks[0].description == "score: loading"
        steps.done()
        assert bar.tasks[0].description == "score: scoring"
        steps.done()
        assert bar.tasks[0].finished and bar.tasks[0].description == "score: done"
    assert "2/2" in console.file.getvalue()
