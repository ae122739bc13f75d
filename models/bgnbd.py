"""BG/NBD (purchase and dropout) and Gamma-Gamma (spend) models, fitted via pymc-marketing.

Fitted per cutoff on that cutoff's feature table only, so their outputs are point-in-time and can
serve both as baselines and as features: expected orders in a horizon, the probability of no
order in a horizon (a better churn score than P(alive), which is 1 for every one-time buyer), and
expected value in a horizon.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from features.catalogue import FeatureInfo
from features.targets import EXPECTED_VALUE, NEXT_ORDER_DAYS, NO_ORDER, ORDER, TARGETS
from models.probabilistic import (
    RFM_INPUTS,
    BGNBDParams,
    expected_orders,
    summarize,
    target_prediction,
)

EXPECTED_ORDERS = FeatureInfo(
    "bgnbd_expected_orders",
    "bgnbd",
    "orders",
    "BG/NBD expected orders in the value horizon",
    "{value:.1f} orders expected (BG/NBD)",
)
# What the stage stores per target: probabilities as P(no order) (propensity reads 1 - it).
_STORED = {
    NO_ORDER: NO_ORDER,
    ORDER: NO_ORDER,
    EXPECTED_VALUE: EXPECTED_VALUE,
    NEXT_ORDER_DAYS: NEXT_ORDER_DAYS,
}


def _catalogue():
    for entry in TARGETS.values():
        if entry.is_value:
            yield EXPECTED_ORDERS
        yield FeatureInfo(entry.prior_column, "bgnbd", *entry.prior_info)


BGNBD_CATALOGUE = tuple(_catalogue())
BGNBD_COLUMNS = tuple(info.name for info in BGNBD_CATALOGUE)


def rfm_summary(features: pd.DataFrame) -> pd.DataFrame:
    """The (frequency, recency, T) summary in days for buyers, from one cutoff's feature table.

    frequency = repeat orders; recency = first to last order; T = first order to the cutoff.
    """
    buyers = features[features["orders_total"] > 0]
    return pd.DataFrame(
        {
            "customer_id": buyers["customer_id"].to_numpy(),
            "frequency": (buyers["orders_total"] - 1).to_numpy(dtype=float),
            "recency": (buyers["days_since_first_order"] - buyers["days_since_last_order"])
            .clip(lower=0)
            .to_numpy(dtype=float),
            "T": buyers["days_since_first_order"].to_numpy(dtype=float),
            "monetary_value": buyers["avg_order_value"].to_numpy(dtype=float),
        }
    )


def _quiet():
    for name in ("pymc", "pytensor", "pymc_marketing"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="pymc.*")
    warnings.filterwarnings("ignore", module="pytensor.*")
    warnings.filterwarnings("ignore", module="pymc_marketing.*")


def fit_bgnbd(summary: pd.DataFrame):
    """Maximum a posteriori BG/NBD fit (fast; a full posterior is not needed for a baseline)."""
    from pymc_marketing.clv import BetaGeoModel

    _quiet()
    model = BetaGeoModel(data=summary[["customer_id", "frequency", "recency", "T"]])
    model.fit(method="map", progressbar=False)
    return model


def fit_gamma_gamma(summary: pd.DataFrame):
    """Gamma-Gamma spend model on repeat buyers (it assumes spend independent of frequency)."""
    from pymc_marketing.clv import GammaGammaModel

    _quiet()
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    model = GammaGammaModel(data=repeat[["customer_id", "frequency", "monetary_value"]])
    model.fit(method="map", progressbar=False)
    return model


def fit_params(summary: pd.DataFrame) -> BGNBDParams | None:
    """MAP parameters of BG/NBD and Gamma-Gamma; None with fewer than 20 buyers."""
    if len(summary) < 20:
        return None
    bg = fit_bgnbd(summary).fit_result
    values = {k: float(np.ravel(bg[k].values)[0]) for k in ("r", "alpha", "a", "b")}
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) >= 10:
        gg = fit_gamma_gamma(summary).fit_result
        values |= {k: float(np.ravel(gg[k].values)[0]) for k in ("p", "q", "v")}
    return BGNBDParams(**values)


def bgnbd_features(
    features: pd.DataFrame, horizon_days: dict[str, int], params: BGNBDParams | None = None
) -> tuple[pd.DataFrame, BGNBDParams | None]:
    """Per customer and target, the model's forecast in the target's horizon (`BGNBD_CATALOGUE`),
    from parameters fitted on this cutoff's buyers (or the given ``params``). Non-buyers get NaN
    (the models do not apply to them), and so do targets without a horizon here."""
    params = params if params is not None else fit_params(rfm_summary(features))
    out = pd.DataFrame({"customer_id": features["customer_id"].to_numpy()})
    out = out.assign(**{column: np.nan for column in BGNBD_COLUMNS})
    if params is None:
        return out, None
    Z = features[list(RFM_INPUTS)].to_numpy(dtype=float)
    for entry in (t for t in TARGETS.values() if t.name in horizon_days):
        horizon = horizon_days[entry.name]
        if entry.is_value:
            out[EXPECTED_ORDERS.name] = expected_orders(params, summarize(Z), horizon)
        stored = _STORED[entry.orientation]
        out[entry.prior_column] = target_prediction(params, stored, horizon, Z)
    return out, params
