"""The hyperparameter search space of the XGBoost candidates (``train.search`` in params.yaml).

Kept apart from the search itself (models.tuning, which needs Optuna and XGBoost) so that the params
schema, pipelines.config, can use it without loading either."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of the search; depth and rounds also bound what explanations cost at scoring."""

    max_depth: tuple[int, int] = (3, 5)
    learning_rate: tuple[float, float] = (0.03, 0.3)
    max_rounds: int = 300
    min_child_weight: tuple[float, float] = (1.0, 50.0)
    subsample: tuple[float, float] = (0.6, 1.0)
    colsample_bytree: tuple[float, float] = (0.5, 1.0)
    reg_lambda: tuple[float, float] = (0.1, 20.0)
    tweedie_variance_power: tuple[float, float] = (1.1, 1.9)
