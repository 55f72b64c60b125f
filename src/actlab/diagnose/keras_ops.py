"""The backend-specific part of the Keras monitor, for every Keras 3 backend.

Derivatives come from the backend's own mechanism (:data:`GRADIENTS`): ``tf.GradientTape``
on TensorFlow, ``jax.grad`` on JAX, torch autograd on PyTorch, each through a stateless
function of the values it differentiates: ``f`` itself for an activation's ``f'(z)``, and
for the loss gradient ``model.stateless_call`` + ``model.stateless_compute_loss`` with the
model's current variable values (nothing of the model's state changes, its loss trackers
included). The signals themselves are computed from ``f(z)`` and ``f'(z)`` by the one
torch implementation the PyTorch monitor uses (:func:`actlab.diagnose.signals.signals`
on the fixed subsample of :mod:`actlab.diagnose.sampling`), so a model gives the same
findings on every backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from actlab.backends.keras import keras
from actlab.diagnose.sampling import Subsample, subsample
from actlab.diagnose.signals import layout, signals

ops = keras.ops
ScalarFn = Callable[[list[Any]], Any]


def _tensorflow_gradients(fn: ScalarFn, values: list[Any]) -> list[Any]:
    import tensorflow as tf

    leaves = [tf.convert_to_tensor(v) for v in values]
    with tf.GradientTape() as tape:
        tape.watch(leaves)
        out = fn(leaves)
    return list(tape.gradient(out, leaves))


def _jax_gradients(fn: ScalarFn, values: list[Any]) -> list[Any]:
    import jax

    return list(jax.grad(fn)(list(values)))


def _torch_gradients(fn: ScalarFn, values: list[Any]) -> list[Any]:
    leaves = [torch.as_tensor(v).detach().requires_grad_(True) for v in values]
    with torch.enable_grad():
        out = fn(leaves)
        return list(torch.autograd.grad(out, leaves, allow_unused=True))


GRADIENTS: dict[str, Callable[[ScalarFn, list[Any]], list[Any]]] = {
    "tensorflow": _tensorflow_gradients,
    "jax": _jax_gradients,
    "torch": _torch_gradients,
}
"""``(fn, values) -> d fn / d values`` for a scalar ``fn`` of a list of tensors, by the
backend's own automatic differentiation (None for a value ``fn`` does not use)."""


def gradients(fn: ScalarFn, values: list[Any]) -> list[Any]:
    """The gradient of the scalar ``fn(values)`` on Keras' backend."""
    backend = keras.backend.backend()
    if backend not in GRADIENTS:
        raise ValueError(
            f"actlab's Keras monitor runs on Keras' {', '.join(GRADIENTS)} backends, "
            f"not {backend!r}"
        )
    return GRADIENTS[backend](fn, values)


def numpy(value: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(value))


class KerasOps:
    """Every tensor operation the Keras monitor needs, on whichever backend Keras runs."""

    @staticmethod
    def tensor(values: Any) -> Any:
        return ops.convert_to_tensor(np.asarray(values))

    @staticmethod
    def function(fn: Callable[[Any], Any]) -> Callable[[torch.Tensor], torch.Tensor]:
        """``fn`` (a Keras activation function or layer) as a function of torch tensors,
        for :func:`actlab.backends.torch.recognize`."""
        if keras.backend.backend() == "torch":
            return fn
        return lambda x: torch.from_numpy(numpy(fn(ops.convert_to_tensor(x.numpy()))).copy())

    @staticmethod
    def finite(value: Any) -> bool:
        return bool(np.all(np.isfinite(numpy(value))))

    @staticmethod
    def value_and_derivative(fn: Callable[[Any], Any], z: Any) -> tuple[Any, Any]:
        """``f(z)`` and ``f'(z)`` (exact for elementwise ``f``: the gradient of
        ``sum f(z)``), float32."""
        z = ops.cast(z, "float32")
        (d,) = gradients(lambda zs: ops.sum(fn(zs[0])), [z])
        return fn(z), d

    @staticmethod
    def signals(
        a: Any, d: Any, unit_axis: int, max_derivative: float
    ) -> tuple[list[float], Subsample]:
        """Dead fraction, saturated fraction, mean, std on the fixed subsample, and the
        subsample (computed in torch, the same code on every backend)."""
        a_t = torch.from_numpy(numpy(a).astype(np.float32, copy=False))
        d_t = torch.from_numpy(numpy(d).astype(np.float32, copy=False))
        sub = subsample(tuple(a_t.shape), unit_axis, a_t.device)
        if sub.elements == 0:
            return [math.nan] * 4, sub
        places = layout([(sub.units, sub.samples)], [max_derivative], a_t.device)
        stats = signals(sub.gather(d_t).flatten(), sub.gather(a_t).flatten(), places)
        return stats[:, 0].double().tolist(), sub

    @staticmethod
    def loss_gradient_norms(
        model: Any, x: Any, y: Any, weights: Sequence[Any]
    ) -> list[float | None]:
        """Norms of the compiled loss's gradient on ``(x, y)`` w.r.t. ``weights``
        (inference mode), through the stateless loss of the model's current values."""
        trainable = list(model.trainable_variables)
        position = {id(v): i for i, v in enumerate(trainable)}
        frozen = [v.value for v in model.non_trainable_variables]
        metrics = [v.value for v in model.metrics_variables]

        def loss(values: list[Any]) -> Any:
            y_pred, _ = model.stateless_call(values, frozen, x, training=False)
            value, _ = model.stateless_compute_loss(
                values, frozen, metrics, x=x, y=y, y_pred=y_pred, training=False
            )
            return value

        grads = gradients(loss, [v.value for v in trainable])
        norms: list[float | None] = []
        for w in weights:
            g = grads[position[id(w)]] if id(w) in position else None
            norms.append(
                None if g is None else float(np.linalg.norm(numpy(g).astype(np.float64).ravel()))
            )
        return norms
