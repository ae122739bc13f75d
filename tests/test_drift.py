"""PSI of the drift guard: stable under last-bit noise in the feature values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.drift import model_drift, psi, refusal


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


def _frames():
    cutoffs = [pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-02-01", tz="UTC")]
    values = np.linspace(0, 100, 200)
    reference = pd.DataFrame(
        {
            "as_of": np.repeat(cutoffs, 100),
            "spend": values,
            "orders": values % 7,
        }
    )
    current = pd.DataFrame({"spend": values + 60, "orders": values % 7})
    return reference, current, cutoffs


def test_model_drift_reports_each_model_and_lists_the_worst_over_the_limit_first():
    reference, current, cutoffs = _frames()
    inputs = {"churn": (["spend", "orders", "absent"], cutoffs), "cltv": (["orders"], cutoffs)}
    drift = model_drift(reference, current, inputs, warn=0.1, refuse=0.25, allow=False)
    assert list(drift["churn"]["psi"]) == ["spend", "orders"]  # worst first, unknown dropped
    assert drift["churn"]["reference_cutoffs"] == ["2025-01-01", "2025-02-01"]
    assert drift["cltv"]["refuse"] == [] and drift["over_limit"] == ["churn:spend"]
    assert refusal(drift) == ("churn", "spend", drift["churn"]["psi"]["spend"])


def test_drift_over_the_limit_does_not_refuse_when_allowed_nor_below_it():
    reference, current, cutoffs = _frames()
    allowed = model_drift(reference, current, {"churn": (["spend"], cutoffs)}, 0.1, 0.25, True)
    assert allowed["allowed"] and allowed["over_limit"] and refusal(allowed) is None
    stable = model_drift(reference, current, {"churn": (["orders"], cutoffs)}, 0.1, 0.25, False)
    assert stable["over_limit"] == [] and refusal(stable) is None


def test_only_the_models_training_cutoffs_are_the_reference():
    reference, current, cutoffs = _frames()
    early = model_drift(reference, current, {"churn": (["spend"], cutoffs[:1])}, 0.1, 0.25, False)
    pooled = model_drift(reference, current, {"churn": (["spend"], cutoffs)}, 0.1, 0.25, False)
    assert early["churn"]["psi"]["spend"] != pooled["churn"]["psi"]["spend"]
