"""PSI of the drift guard: stable under last-bit noise in the feature values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.drift import psi


def test_a_value_on_a_bin_edge_stays_on_its_side_under_last_bit_noise():
    """Sums of floats differ in their last bits between engine runs; a customer whose spend
    equals a bin edge (a value others share exactly) must not change the PSI."""
    expected = pd.Series(np.repeat([10.0, 20.0, 42.22, 50.0, 70.0], 20))
    actual = pd.Series([42.22] * 30 + [10.0] * 10)
    noisy = actual.copy()
    noisy[:30] = np.nextafter(42.22, 0.0)  # one ulp below the edge
    assert psi(expected, noisy) == psi(expected, actual)
    assert psi(expected, actual) > 0.1  # the shift itself is still seen


def test_identical_samples_have_no_drift_and_a_moved_sample_has_some():
    values = pd.Series(np.linspace(0, 100, 500))
    assert psi(values, values) == 0.0
    assert psi(values, values + 30) > 0.25
