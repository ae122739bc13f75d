"""BG/NBD (pymc-marketing) recovers the parameters of data simulated from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.bgnbd import fit_bgnbd

TRUE = {"r": 0.8, "alpha": 40.0, "a": 1.0, "b": 5.0}


def simulate_bgnbd(n: int, seed: int) -> pd.DataFrame:
    """Purchases at rate lambda ~ Gamma(r, alpha) until dropout, with p ~ Beta(a, b) after each."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    p_drop = rng.beta(TRUE["a"], TRUE["b"], n)
    horizon = rng.uniform(150, 700, n)
    frequency, recency = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / rate[i])
            if t > horizon[i]:
                break
            frequency[i] += 1
            recency[i] = t
            if rng.random() < p_drop[i]:
                break
    return pd.DataFrame(
        {"customer_id": np.arange(n), "frequency": frequency, "recency": recency, "T": horizon}
    )


@pytest.mark.slow
def test_bgnbd_recovers_simulated_parameters():
    model = fit_bgnbd(simulate_bgnbd(6000, seed=11))
    fitted = model.fit_summary()
    for name, value in TRUE.items():
        assert fitted[name] == pytest.approx(value, rel=0.25), name
