"""Tensor functions for catalog entries: ``functional(spec)`` and ``native(spec)``.

``native(spec)`` is the op a PyTorch user would call for the entry (``torch.sigmoid``,
``F.softplus`` at its default threshold, ...), or ``None`` where torch has none.
``functional(spec)`` is actlab's choice, made per entry from measurements (see
``BENCHMARKS.md`` and ``docs/frameworks.md``), both read from
:data:`actlab.backends.torch.bindings.BINDINGS`:

* torch's native op where its definition is the catalog's (one fused kernel each way);
* ``softplus`` keeps the native kernel but sets its linear-tail ``threshold`` by dtype
  (20 for float32 and narrower, 40 for float64): torch's fixed 20 returns ``x`` where
  ``x + log1p(exp(-x))`` still differs from ``x`` in float64 (up to x ~ 37);
* ``hard_sigmoid`` in float64 only goes through ``ElementwiseFunction`` (torch's exact
  forward kernel, a masked gradient divided by 6 backward): torch's float64 backward
  multiplies by 1/6 rounded to float32 (relative error 3e-8);
* ``softsign`` (torch's version is three unfused ops that keep two intermediates),
  ``tanh_shrink`` (torch's ``x - tanh(x)`` loses every digit near 0), ``silu`` with
  ``beta != 1`` and the entries torch does not have (relu2, star_relu, xielu, snake,
  squareplus, sparse_plus, sparse_sigmoid, sparsemax, and the gated swiglu, geglu,
  reglu, bilinear) go through the memory-efficient Functions of
  :mod:`~actlab.backends.torch.autograd`, which save only their input.

Known, measured differences of the native ops kept (max abs error ~1e-7 in float32): the
exact and tanh GELU lose relative accuracy for x < -3, where ``1 + erf`` cancels; float32
``sigmoid`` and ``silu`` return 0 where the true value is subnormal (x < -88.7).
"""

from __future__ import annotations

from actlab.backends.torch.bindings import TensorFn, binding, functional_of
from actlab.catalog import Activation, get


def native(spec: str | Activation) -> TensorFn | None:
    """Torch's own op for ``spec`` with the catalog's parameters, or ``None``."""
    act = get(spec)
    build = binding(act).native
    return None if build is None else build(act.params)


def implementation(spec: str | Activation) -> str:
    """``"native"`` when :func:`functional` calls torch's op unchanged, else ``"actlab"``."""
    act = get(spec)
    b = binding(act)
    if b.actlab is None:
        return "native"
    return "native" if functional(act) is native(act) else "actlab"


def functional(spec: str | Activation) -> TensorFn:
    """A callable ``Tensor -> Tensor`` computing the activation named by ``spec``, exactly
    the catalog's function (the eval-mode one for rrelu), differentiable by autograd, for
    any float dtype and device. A vector or gated entry acts along its ``axis``.

    Raises :class:`actlab.SpecError` for an unknown or invalid spec.
    """
    return functional_of(get(spec))
