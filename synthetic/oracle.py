"""An (approximate) oracle from the synthetic generator's latent truth: how good could it get?

It knows who has already dropped out and each customer's true purchase rate, dropout probability
and spend, which no model can see. It ignores seasonality and the exact refund amounts, so it is a
reference point for "distance to the ceiling", not an exact Bayes-optimal score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.targets import EXPECTED_VALUE, NEXT_ORDER_DAYS, NO_ORDER, ORDER, spec


def oracle_scores(
    latent: pd.DataFrame, customer_ids: pd.Series, as_of: pd.Timestamp, target: str, horizon: int
) -> np.ndarray:
    """Oracle score for ``target`` per customer id (same orientation as the model's)."""
    truth = latent.set_index("customer_id").reindex(customer_ids.to_numpy())
    is_buyer = truth["is_buyer"].fillna(False).astype(bool).to_numpy()
    dropout = pd.to_datetime(truth["dropout_time"], utc=True)
    alive = is_buyer & (dropout.isna() | (dropout > as_of)).to_numpy()
    rate = truth["purchase_rate_per_day"].fillna(0).to_numpy(float)
    p_drop = truth["dropout_prob"].fillna(1).clip(1e-6, 1).to_numpy(float)
    p_no_order = np.where(alive, np.exp(-rate * horizon), 1.0)
    orientation = spec(target).orientation
    if orientation == NO_ORDER:
        return p_no_order
    if orientation == ORDER:
        return 1.0 - p_no_order
    if orientation == NEXT_ORDER_DAYS:  # median wait of a Poisson buyer; gone ones wait forever
        return np.where(alive & (rate > 0), np.log(2) / np.maximum(rate, 1e-12), np.inf)
    if orientation != EXPECTED_VALUE:
        raise ValueError(f"no oracle for target {target!r} ({orientation})")
    expected_orders = np.where(alive, (1 - np.exp(-rate * p_drop * horizon)) / p_drop, 0.0)
    order_value = truth["mean_order_value"].fillna(0).to_numpy(float)
    kept = 1 - truth["refund_prob"].fillna(0).to_numpy(float) * 0.75
    return expected_orders * order_value * kept
