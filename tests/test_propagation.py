"""Signal propagation (actlab.catalog.propagation) against known results and independent
computations: closed forms (He et al. 2015, Klambauer et al. 2017, the arc-cosine kernel of
Cho & Saul 2009), mpmath quadrature, a plain Gauss-Hermite tensor grid for the correlation
map, and torch.nn.init.calculate_gain for the frameworks' values."""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest
import torch

import actlab
from actlab.catalog import propagation as pg


def _mp_expectation(f, breaks=(0.0,)) -> float:
    with mp.workdps(30):
        points = [-mp.inf, *sorted(breaks), mp.inf]
        return float(mp.quad(lambda z: f(z) * mp.npdf(z), points))


@pytest.mark.parametrize("alpha", [0.01, 0.2, 0.5, 1.0])
def test_leaky_relu_gain_is_he_et_al(alpha: float) -> None:
    p = pg.signal_propagation(f"leaky_relu(alpha={alpha})")
    assert p.gain == pytest.approx(math.sqrt(2 / (1 + alpha**2)), rel=1e-12)
    assert p.chi1 == pytest.approx(1.0, abs=1e-12) and p.phase == "critical"
    assert math.isinf(p.depth_scale) and p.c_star == 1.0


def test_relu_gain_is_sqrt_2_and_critical() -> None:
    p = pg.signal_propagation("relu")
    assert p.gain == pytest.approx(math.sqrt(2), rel=1e-13)
    assert p.mean == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-12)  # E[relu(z)]
    assert p.phase == "critical" and p.variance_slope == pytest.approx(1.0, abs=1e-12)


def test_selu_fixed_point_is_mean_0_variance_1_with_lecun_init() -> None:
    p = pg.signal_propagation("selu")
    assert p.gain == pytest.approx(1.0, abs=1e-7)  # LeCun: std = 1/sqrt(fan_in)
    assert p.mean == pytest.approx(0.0, abs=1e-7)
    assert pg.fixed_point("selu", 1.0) == pytest.approx(1.0, abs=1e-6)
    assert p.variance_slope < 1  # the fixed point attracts (Klambauer et al. 2017)


@pytest.mark.parametrize("spec", ["tanh", "sigmoid", "gelu", "elu(alpha=0.5)", "softsign"])
def test_gain_and_chi1_match_mpmath_quadrature(spec: str) -> None:
    act = actlab.get(spec)
    second = _mp_expectation(lambda z: mp.mpf(float(act(float(z)))) ** 2)
    slope2 = _mp_expectation(lambda z: mp.mpf(float(act.derivative(float(z)))) ** 2)
    p = pg.signal_propagation(spec)
    assert p.gain == pytest.approx(1 / math.sqrt(second), rel=1e-9)
    assert p.chi1 == pytest.approx(slope2 / second, rel=1e-9)


def test_the_init_gain_is_signal_propagations_for_every_entry() -> None:
    """init="auto" takes the gain from one quadrature, not the whole analysis."""
    for act in map(actlab.get, actlab.names()):
        if act.is_vector and not act.is_gated:
            continue
        assert pg.variance_preserving_gain(act) == pg.signal_propagation(act).gain, act.spec


def _hermite_grid_correlation(f, c: float, n: int = 150) -> float:
    """E[f(z1) f(c z1 + sqrt(1 - c^2) z2)] on a plain Gauss-Hermite tensor grid."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / math.sqrt(2 * math.pi)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    u2 = c * z1 + math.sqrt(1 - c * c) * z2
    return float(np.sum(np.outer(w, w) * f(z1) * f(u2)))


@pytest.mark.parametrize("spec", ["tanh", "gelu", "silu"])
def test_correlation_fixed_point_matches_a_tensor_grid(spec: str) -> None:
    """(Smooth entries only: a tensor Gauss-Hermite grid converges slowly across a kink.)"""
    act = actlab.get(spec)
    p = pg.signal_propagation(spec)
    assert p.phase == "chaotic"
    g2 = p.gain**2
    # c* is a fixed point of the correlation map, and chi_c its slope there
    assert g2 * _hermite_grid_correlation(act, p.c_star) == pytest.approx(p.c_star, abs=1e-9)
    slope = g2 * _hermite_grid_correlation(act.derivative, p.c_star)
    assert p.chi_c == pytest.approx(slope, rel=1e-8)
    assert p.depth_scale == pytest.approx(-1 / math.log(slope), rel=1e-7)


@pytest.mark.parametrize(
    "spec", [s for s in ("softsign", "hard_tanh", "tanh") if s in actlab.names()]
)
def test_odd_entries_decorrelate_completely(spec: str) -> None:
    """For odd f with zero bias, c* = 0 in the chaotic phase, where the slope factorizes:
    chi_c = g^2 E[f'(z)]^2 (mpmath, split at the kinks)."""
    act = actlab.get(spec)
    p = pg.signal_propagation(spec)
    assert p.phase == "chaotic" and p.c_star == 0.0
    mean_slope = _mp_expectation(lambda z: mp.mpf(float(act.derivative(float(z)))),
                                 breaks=(0.0, *act.kinks))  # fmt: skip
    assert p.chi_c == pytest.approx(p.gain**2 * mean_slope**2, rel=1e-9)


@pytest.mark.parametrize("c", [-0.9, -0.3, 0.0, 0.4, 0.8, 0.95])
def test_relu_covariance_is_the_arc_cosine_kernel(c: float) -> None:
    """Cho & Saul 2009: E[relu(u1) relu(u2)] = (sqrt(1 - c^2) + (pi - arccos c) c) / (2 pi)."""
    want = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / (2 * math.pi)
    got = pg.covariance("relu", c)
    assert got == pytest.approx(want, abs=2e-6)
    assert abs(got - want) <= pg.covariance_error("relu", c) + 1e-10


def test_gated_entries_follow_from_their_gate() -> None:
    """bilinear a*b: E[f^2] = 1, chi_1 = 2, covariance c^2 (closed forms)."""
    p = pg.signal_propagation("bilinear")
    assert p.gain == pytest.approx(1.0) and p.chi1 == pytest.approx(2.0)
    for c in (-0.5, 0.3, 0.9):
        assert pg.covariance("bilinear", c) == pytest.approx(c * c, abs=1e-12)
    # swiglu: E[(a silu(b))^2] = E[silu(b)^2] (mpmath), chi_1 = g^2 (E[silu^2] + E[silu'^2])
    silu = actlab.get("silu")
    second = _mp_expectation(lambda z: mp.mpf(float(silu(float(z)))) ** 2)
    slope2 = _mp_expectation(lambda z: mp.mpf(float(silu.derivative(float(z)))) ** 2)
    p = pg.signal_propagation("swiglu")
    assert p.gain == pytest.approx(1 / math.sqrt(second), rel=1e-9)
    assert p.chi1 == pytest.approx((second + slope2) / second, rel=1e-9)
    assert p.mean == 0 and p.c_star == 0.0  # odd in the value: correlations vanish


def test_framework_gains_are_torchs() -> None:
    for name, (call, gain_of, _) in pg.TORCH_GAINS.items():
        act = actlab.get(name)
        nonlinearity = call.split("'")[1]
        param = act.params.get("alpha")
        assert gain_of(act.params) == pytest.approx(
            torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15
        ), name


def test_pytorch_tanh_gain_is_not_variance_preserving() -> None:
    p = pg.signal_propagation("tanh")
    assert p.torch is not None and p.torch.gain == pytest.approx(5 / 3)
    assert p.gain == pytest.approx(1.5925374197228312, rel=1e-12)  # mpmath: 1.59253741972283
    assert p.torch.fixed_point > 1.1  # 5/3 inflates the variance
    assert pg.signal_propagation("selu").torch.fixed_point < 0.1  # 3/4 shrinks it


def test_fixed_point_iteration_finds_the_stable_point() -> None:
    assert pg.fixed_point("relu", 1.5) == math.inf  # sigma_w^2 / 2 > 1: grows
    assert pg.fixed_point("relu", 1.3) == 0.0  # shrinks
    assert pg.fixed_point("relu", math.sqrt(2), q0=3.0) == pytest.approx(3.0)  # neutral
    q = pg.fixed_point("tanh", 1.2)
    assert 0 < q < 1 and pg.variance_map("tanh", q, 1.2) == pytest.approx(q, rel=1e-10)


def test_vector_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="whole axis"):
        pg.signal_propagation("softmax")


def test_quadrature_needs_neither_torch_nor_scipy() -> None:
    code = (
        "import sys\n"
        "from actlab.catalog.propagation import signal_propagation\n"
        "signal_propagation('gelu'); signal_propagation('tanh')\n"
        "assert 'scipy' not in sys.modules and 'torch' not in sys.modules, "
        "sorted(m for m in ('scipy', 'torch') if m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
