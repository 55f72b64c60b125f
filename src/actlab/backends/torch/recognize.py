"""Recognise an activation by what it computes, not by its class name.

A candidate (a parameter-free module, one whose parameters are all scalars, or a
functional call with its other arguments bound) is evaluated on a probe grid ``g`` of
:data:`GRID_SIZE` points in [-20, 20] (dense near 0, where activations differ), laid out
in a tensor of the shape it is called with (each dimension cut to at most 4, the leading
one grown to hold the grid). Then, in this order:

1. **elementwise**: the output has the input's shape, the same input gives the same output,
   and permuting the input elements permutes the output the same way (softmax, GLU, or
   anything mixing elements fails). Otherwise: ``not elementwise``.
2. **linear**: ``f(g) = a g + b`` for two fitted numbers (identity, dropout in eval mode, a
   scaling): not an activation at all.
3. **catalog**: every elementwise catalog entry, first at its default parameters, then with
   its float parameters fitted by least squares (rounded to 6 and to 4 significant
   digits, whichever still matches), is compared with ``f(g)``: a match is within
   ``MATCH_RTOL * |ref| + MATCH_ATOL`` at every grid point, tight enough to tell
   ``gelu`` from ``gelu_tanh`` (they differ by up to 2e-4 near |x| = 2). A candidate
   with a learnable parameter that matches ``leaky_relu(alpha)`` is ``prelu(alpha)``.
4. otherwise ``unknown elementwise``: still watched (its derivative by autograd) and
   swappable on request.

A result is cached by what the candidate computed on the grid, so one behaviour is matched
once per process, whatever its class.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import torch

import actlab
from actlab.catalog import Activation
from actlab.catalog import build as build_activation

GRID_SIZE = 2001
"""Probe points: 1601 evenly spaced in [-8, 8], 400 more in [-20, 20]."""

MATCH_RTOL = 1e-5
MATCH_ATOL = 1e-6
"""A catalog entry matches when ``|f(g) - ref(g)| <= MATCH_RTOL |ref(g)| + MATCH_ATOL`` on
the whole grid (float32 evaluations of one formula by different code agree to a few ulp)."""

FIT_POINTS = 100
"""Parameters are fitted on about this many grid points, then checked on all of them."""

BOUND_SCALE = 100.0
"""Boundedness of a candidate with no catalog entry: its largest output magnitude on the
grid scaled by this factor is at most twice that on the grid (and at most 2 when that is
below 1)."""

Kind = Literal["catalog", "unknown", "not elementwise", "linear"]

UNKNOWN = "unknown elementwise"
NOT_ELEMENTWISE = "not elementwise"


@dataclass(frozen=True)
class Behaviour:
    """What a candidate computes: ``kind``, the matched catalog ``activation`` (kind
    ``"catalog"``), whether its output is ``bounded`` on both sides, and ``max_derivative``
    (``sup |f'|``: the catalog's, or the largest autograd derivative on the grid; NaN when
    not elementwise)."""

    kind: Kind
    activation: Activation | None = None
    bounded: bool = False
    max_derivative: float = math.nan

    @property
    def label(self) -> str:
        """The catalog spec, ``"unknown elementwise"`` or ``"not elementwise"`` (or
        ``"linear"``)."""
        if self.activation is not None:
            return self.activation.spec
        return {"unknown": UNKNOWN, "not elementwise": NOT_ELEMENTWISE}.get(self.kind, "linear")

    @property
    def is_activation(self) -> bool:
        """An elementwise non-linearity (a catalog entry or an unknown one)."""
        return self.kind in ("catalog", "unknown")


@lru_cache(maxsize=1)
def grid() -> np.ndarray:
    """The probe grid, float32, ascending."""
    inner = np.linspace(-8.0, 8.0, 1601)
    outer = np.concatenate(
        [np.linspace(-20.0, -8.0, 200, endpoint=False), np.linspace(8.0, 20.0, 201)[1:]]
    )
    return np.sort(np.concatenate([inner, outer])).astype(np.float32)


def _probe_shape(shape: tuple[int, ...], exact: bool = False) -> tuple[int, ...]:
    """A shape with ``shape``'s number of dimensions, each cut to 4 (kept as they are when
    ``exact``), the first grown so that it holds the whole grid."""
    if len(shape) <= 1:
        return (GRID_SIZE,)
    rest = tuple((d if exact else min(d, 4)) if d > 0 else 1 for d in shape[1:])
    return (math.ceil(GRID_SIZE / math.prod(rest)), *rest)


def _evaluate(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor | None:
    try:
        with torch.no_grad():
            y = fn(x.clone())
    except Exception:  # a candidate that cannot take this input is no activation here
        return None
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or not y.is_floating_point():
        return None
    return y.detach().to(torch.float32)


def _is_linear(x: np.ndarray, y: np.ndarray) -> bool:
    a, b = np.polyfit(x.astype(np.float64), y.astype(np.float64), 1)
    fit = a * x + b
    return bool(np.all(np.abs(y - fit) <= 1e-4 * (np.abs(fit) + 1.0)))


def recognize(
    fn: Callable[[torch.Tensor], torch.Tensor],
    shape: tuple[int, ...] = (),
    *,
    device: torch.device | str = "cpu",
    learnable: bool = False,
    exact: bool = False,
) -> Behaviour:
    """What ``fn`` computes when called with a tensor of ``shape`` (see the module
    docstring). ``learnable``: ``fn`` has trainable parameters; ``exact``: probe with
    ``shape``'s own trailing dimensions (for a function whose parameters have that shape,
    as Keras' ``PReLU``). Never raises for a candidate that fails: that is ``not
    elementwise``."""
    g = grid()
    probe = _probe_shape(shape, exact)
    size = math.prod(probe)
    flat = torch.as_tensor(np.resize(g, size), device=device)
    x = flat.view(probe)
    y = _evaluate(fn, x)
    if y is None:
        return Behaviour("not elementwise")
    again = _evaluate(fn, x)
    perm = torch.randperm(size, generator=torch.Generator().manual_seed(0)).to(device)
    shuffled = _evaluate(fn, flat[perm].view(x.shape))
    out = y.flatten()
    if (
        again is None
        or shuffled is None
        or not torch.allclose(again.flatten(), out, rtol=1e-6, atol=1e-7, equal_nan=True)
        or not torch.allclose(shuffled.flatten(), out[perm], rtol=1e-6, atol=1e-7, equal_nan=True)
    ):
        return Behaviour("not elementwise", bounded=_bounded(fn, x, out))
    values = out[: len(g)].cpu().numpy()
    if not np.all(np.isfinite(values)):
        return _unknown(fn, x, values)
    key = values.tobytes()
    found = _match(key, learnable)
    if found is not None:
        return found
    return _unknown(fn, x, values)


def _unknown(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, values: np.ndarray
) -> Behaviour:
    g = grid()
    if np.all(np.isfinite(values)) and _is_linear(g, values):
        return Behaviour("linear")
    bounded = _bounded(fn, x, torch.as_tensor(values))
    return Behaviour("unknown", None, bounded, _autograd_derivative(fn, x))


def _bounded(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether ``fn``'s output stays put when its input grows :data:`BOUND_SCALE`-fold."""
    scaled = _evaluate(fn, x * BOUND_SCALE)
    if scaled is None:
        return False
    big, small = float(scaled.abs().max()), float(y.abs().max())
    return math.isfinite(big) and big <= 2.0 * max(small, 1.0)


def _autograd_derivative(fn: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> float:
    """``max |f'|`` on the grid, by autograd (NaN when autograd cannot differentiate)."""
    x = z.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            (d,) = torch.autograd.grad(fn(x).sum(), x)
    except Exception:
        return math.nan
    return float(d.abs().max())


@lru_cache(maxsize=256)
def _match(values: bytes, learnable: bool) -> Behaviour | None:
    """The catalog entry computing ``values`` (float32 bytes of f on the grid), or None."""
    y = np.frombuffer(values, dtype=np.float32).astype(np.float64)
    if _is_linear(grid(), y.astype(np.float32)):
        return Behaviour("linear")
    candidates = [actlab.get(name) for name in actlab.names()]
    elementwise = [a for a in candidates if not a.is_vector]
    for act in elementwise:  # default parameters first
        if _close(act, y):
            return _behaviour(act, learnable)
    for act in elementwise:
        fitted = _fit(act, y)
        if fitted is not None:
            return _behaviour(fitted, learnable)
    return None


@lru_cache(maxsize=512)
def _reference(act: Activation) -> np.ndarray:
    """``act`` on the grid, float32 (the catalog rounds its float64 result once)."""
    return np.asarray(act(grid()), dtype=np.float64)


def _close(act: Activation, y: np.ndarray) -> bool:
    ref = _reference(act)
    return bool(np.all(np.abs(y - ref) <= MATCH_RTOL * np.abs(ref) + MATCH_ATOL))


def _fit(act: Activation, y: np.ndarray) -> Activation | None:
    """``act``'s definition with its float parameters fitted to ``y``, if one matches."""
    from scipy.optimize import least_squares

    params = [p for p in act.definition.params if p.kind is float and not p.learnable]
    if not params:
        return None
    every = len(grid()) // FIT_POINTS
    g = grid()[::every].astype(np.float64)
    target = y[::every]
    fixed = dict(act.params)

    def bind(theta: np.ndarray) -> Activation | None:
        values = {**fixed, **{p.name: float(t) for p, t in zip(params, theta, strict=True)}}
        try:
            return build_activation(act.name, values)
        except actlab.SpecError:
            return None

    def residual(theta: np.ndarray) -> np.ndarray:
        candidate = bind(theta)
        if candidate is None:
            return np.full_like(g, 1e6)
        with np.errstate(all="ignore"):
            r = (np.asarray(candidate(g), dtype=np.float64) - target) / (np.abs(target) + 1.0)
        return np.nan_to_num(r, nan=1e6, posinf=1e6, neginf=-1e6)

    lows = [p.low if p.low is not None else -np.inf for p in params]
    highs = [p.high if p.high is not None else np.inf for p in params]
    start = np.clip([float(fixed[p.name]) for p in params], lows, highs)
    try:
        solution = least_squares(residual, start, bounds=(lows, highs), xtol=1e-12, ftol=1e-12)
    except ValueError:
        return None
    for digits in (6, 4):
        rounded = [float(f"{t:.{digits}g}") for t in solution.x]
        candidate = bind(np.array(rounded))
        if candidate is not None and _close(candidate, y):
            return candidate
    return None


def _behaviour(act: Activation, learnable: bool) -> Behaviour:
    if learnable and act.name in ("relu", "leaky_relu"):  # a learned slope, for now at alpha
        act = actlab.get(f"prelu(alpha={act.params.get('alpha', 0.0)!r})")
    lo, hi = act.output_range
    return Behaviour("catalog", act, math.isfinite(lo) and math.isfinite(hi), act.max_derivative)
