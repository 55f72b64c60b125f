"""Overflow-safe standardization against exact rational arithmetic (``statistics`` computes
the mean and the population standard deviation from Fractions), over the whole float64
range."""

from __future__ import annotations

import statistics
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actlab.data.scaling import Standardization, ValueBeyondFloat32

FINITE = st.floats(allow_nan=False, allow_infinity=False)
MAGNITUDE = st.sampled_from([1e-300, 1e-5, 1.0, 1e5, 1e150, 1e300, 1.7e308])


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=2, max_size=30),
    scale=MAGNITUDE,
)
def test_mean_std_and_z_match_exact_arithmetic(values, scale):
    column = np.array(values) * scale
    if not np.isfinite(column).all():
        return
    fit = Standardization.fit(column.reshape(-1, 1))
    exact = [Fraction(v) for v in column.tolist()]
    mean = sum(exact) / len(exact)
    std = statistics.pstdev(column.tolist())
    assert bool(fit.constant[0]) == (len(set(column.tolist())) == 1)
    if fit.constant[0]:
        return
    assert float(fit.mean[0]) == pytest.approx(float(mean), rel=1e-12, abs=1e-300 * scale)
    assert float(fit.std[0]) == pytest.approx(std, rel=1e-9)
    z = fit.apply(column.reshape(-1, 1))[:, 0]
    truth = np.array([float((v - mean) / Fraction(std)) for v in exact], dtype=np.float32)
    np.testing.assert_allclose(z, truth, rtol=1e-5, atol=1e-5)


def test_a_column_of_1e300_is_scaled_not_zeroed():
    column = np.array([[1e300], [-1e300], [3e300], [5e307]])
    z = Standardization.fit(column).apply(column)[:, 0]
    assert np.isfinite(z).all() and abs(float(z.std()) - 1.0) < 1e-6


def test_a_constant_column_is_centred_not_scaled():
    fit = Standardization.fit(np.array([[7.0, 1.0], [7.0, 2.0]]))
    assert fit.constant.tolist() == [True, False] and fit.std[0] == 1.0
    assert fit.apply(np.array([[9.0, 1.5]])).tolist() == [[2.0, 0.0]]


def test_a_value_beyond_float32_after_scaling_names_its_place():
    fit = Standardization.fit(np.array([[0.0, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValueBeyondFloat32) as err:
        fit.apply(np.array([[0.5, 1.5], [0.5, 1e300]]))
    assert (err.value.row, err.value.column) == (1, 1) and "beyond float32" in str(err.value)
