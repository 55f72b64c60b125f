"""Tensor functions for catalog entries: ``functional(spec)`` and ``native(spec)``.

``native(spec)`` is the op a PyTorch user would call for the entry (``torch.sigmoid``,
``F.softplus`` at its default threshold, ...), or ``None`` where torch has none.
``functional(spec)`` is actlab's choice, made per entry from measurements (see
``BENCHMARKS.md`` and ``docs/frameworks.md``):

* torch's native op where its definition is the catalog's (one fused kernel each way);
* ``softplus`` keeps the native kernel but sets its linear-tail ``threshold`` by dtype
  (20 for float32 and narrower, 40 for float64): torch's fixed 20 returns ``x`` where
  ``x + log1p(exp(-x))`` still differs from ``x`` in float64 (up to x ~ 37);
* ``hard_sigmoid`` in float64 only goes through ``ElementwiseFunction`` (torch's exact
  forward kernel, a masked gradient divided by 6 backward): torch's float64 backward
  multiplies by 1/6 rounded to float32 (relative error 3e-8);
* ``softsign`` (torch's version is three unfused ops that keep two intermediates) and
  ``silu`` with ``beta != 1`` (no native op) go through the memory-efficient
  :class:`~actlab.backends.torch.autograd.ElementwiseFunction`.

Known, measured differences of the native ops kept (max abs error ~1e-7 in float32): the
exact and tanh GELU lose relative accuracy for x < -3, where ``1 + erf`` cancels; float32
``sigmoid`` and ``silu`` return 0 where the true value is subnormal (x < -88.7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F

from actlab.backends.torch import formulas
from actlab.backends.torch.autograd import elementwise
from actlab.catalog import Activation, get

TensorFn = Callable[[torch.Tensor], torch.Tensor]
Builder = Callable[[Mapping[str, Any]], TensorFn | None]


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _prelu_native(alpha: float) -> TensorFn:
    return lambda x: F.prelu(x, x.new_tensor([alpha]))


def _softplus_exact(beta: float) -> TensorFn:
    def softplus(x: torch.Tensor) -> torch.Tensor:
        threshold = 40.0 if x.dtype == torch.float64 else 20.0
        return F.softplus(x, beta=beta, threshold=threshold)

    return softplus


def _hard_sigmoid_exact() -> TensorFn:
    exact = elementwise(formulas.HARD_SIGMOID, {})

    def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
        return exact(x) if x.dtype == torch.float64 else F.hardsigmoid(x)

    return hard_sigmoid


_NATIVE: dict[str, Builder] = {
    "identity": lambda _p: _identity,
    "relu": lambda _p: F.relu,
    "leaky_relu": lambda p: partial(F.leaky_relu, negative_slope=p["alpha"]),
    "relu6": lambda _p: F.relu6,
    "prelu": lambda p: _prelu_native(p["alpha"]),
    "hard_sigmoid": lambda _p: F.hardsigmoid,
    "hard_swish": lambda _p: F.hardswish,
    "softsign": lambda _p: F.softsign,
    "sigmoid": lambda _p: torch.sigmoid,
    "tanh": lambda _p: torch.tanh,
    "softplus": lambda p: partial(F.softplus, beta=p["beta"]),
    "elu": lambda p: partial(F.elu, alpha=p["alpha"]),
    "selu": lambda _p: F.selu,
    "celu": lambda p: partial(F.celu, alpha=p["alpha"]),
    "gelu": lambda _p: F.gelu,
    "gelu_tanh": lambda _p: partial(F.gelu, approximate="tanh"),
    "silu": lambda p: F.silu if p["beta"] == 1 else None,
    "mish": lambda _p: F.mish,
    "log_sigmoid": lambda _p: F.logsigmoid,
    "softmax": lambda p: partial(torch.softmax, dim=int(p["axis"])),
}
"""Torch's own op for each entry at the catalog's parameters (None: torch has none)."""

_ACTLAB: dict[str, Builder] = {
    "prelu": lambda p: partial(F.leaky_relu, negative_slope=p["alpha"]),
    "hard_sigmoid": lambda _p: _hard_sigmoid_exact(),
    "softplus": lambda p: _softplus_exact(p["beta"]),
    "softsign": lambda p: elementwise(formulas.SOFTSIGN, p),
    "silu": lambda p: F.silu if p["beta"] == 1 else elementwise(formulas.SILU, p),
}
"""Entries where actlab does not simply call the native op."""


def native(spec: str | Activation) -> TensorFn | None:
    """Torch's own op for ``spec`` with the catalog's parameters, or ``None``."""
    act = get(spec)
    builder = _NATIVE.get(act.name)
    return None if builder is None else builder(act.params)


def implementation(spec: str | Activation) -> str:
    """``"native"`` when :func:`functional` calls torch's op unchanged, else ``"actlab"``."""
    act = get(spec)
    if act.name in _NATIVE and act.name not in _ACTLAB:
        return "native"
    return "native" if functional(act) is native(act) else "actlab"


def functional(spec: str | Activation) -> TensorFn:
    """A callable ``Tensor -> Tensor`` computing the activation named by ``spec``, exactly
    the catalog's function, differentiable by autograd, for any float dtype and device.

    Raises :class:`actlab.SpecError` for an unknown or invalid spec.
    """
    act = get(spec)
    builder = _ACTLAB.get(act.name) or _NATIVE.get(act.name)
    fn = None if builder is None else builder(act.params)
    if fn is None:
        raise NotImplementedError(f"actlab's torch backend has no implementation of {act.spec!r}")
    return fn
