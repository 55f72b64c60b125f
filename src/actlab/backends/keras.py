"""Keras 3 backend: every catalog entry as a serializable Keras layer built on ``keras.ops``.

Import through :mod:`actlab.keras`, which selects the torch backend before Keras loads.
Where ``keras.ops`` has an op with the catalog's definition it is used; elsewhere the
catalog's stable formula is written with ``keras.ops``:

* softplus(beta): ``(relu(b x) + log1p(exp(-|b x|))) / b`` (never overflows);
* mish: ``x * tanh(softplus(x))`` with that softplus;
* silu(beta): ``x * sigmoid(b x)``;
* prelu: one learnable slope initialised to ``alpha`` (Keras' own PReLU starts at 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras
from keras import ops

from actlab.catalog import Activation
from actlab.catalog import get as get_activation

OpsFn = Callable[[Any], Any]


def _softplus(x: Any, beta: float = 1.0) -> Any:
    bx = x * beta
    return (ops.relu(bx) + ops.log1p(ops.exp(-ops.abs(bx)))) / beta


def _prelu(x: Any, alpha: Any) -> Any:
    return ops.where(x >= 0, x, alpha * x)


_OPS: dict[str, Callable[[Mapping[str, Any]], OpsFn]] = {
    "identity": lambda _p: lambda x: x,
    "relu": lambda _p: ops.relu,
    "leaky_relu": lambda p: lambda x: ops.leaky_relu(x, negative_slope=p["alpha"]),
    "relu6": lambda _p: ops.relu6,
    "prelu": lambda p: lambda x: _prelu(x, p["alpha"]),
    "hard_sigmoid": lambda _p: ops.hard_sigmoid,
    "hard_swish": lambda _p: ops.hard_silu,
    "softsign": lambda _p: ops.softsign,
    "sigmoid": lambda _p: ops.sigmoid,
    "tanh": lambda _p: ops.tanh,
    "softplus": lambda p: lambda x: _softplus(x, p["beta"]),
    "elu": lambda p: lambda x: ops.elu(x, alpha=p["alpha"]),
    "selu": lambda _p: ops.selu,
    "celu": lambda p: lambda x: ops.celu(x, alpha=p["alpha"]),
    "gelu": lambda _p: lambda x: ops.gelu(x, approximate=False),
    "gelu_tanh": lambda _p: lambda x: ops.gelu(x, approximate=True),
    "silu": lambda p: lambda x: x * ops.sigmoid(x * p["beta"]),
    "mish": lambda _p: lambda x: x * ops.tanh(_softplus(x)),
    "log_sigmoid": lambda _p: ops.log_sigmoid,
    "softmax": lambda p: lambda x: ops.softmax(x, axis=int(p["axis"])),
}


def ops_function(spec: str | Activation) -> OpsFn:
    """The entry as a function of a Keras tensor, with its parameters fixed."""
    act = get_activation(spec)
    if act.name not in _OPS:
        raise NotImplementedError(f"actlab's keras backend has no implementation of {act.spec!r}")
    return _OPS[act.name](act.params)


@keras.saving.register_keras_serializable(package="actlab")
class ActlabActivation(keras.layers.Layer):
    """A catalog activation as a Keras layer; ``get_config()`` holds the spec string, so a
    model saved to ``.keras`` loads back with ``keras.saving.load_model``. Learnable
    entries (prelu) own a weight ``alpha`` of shape ``(1,)`` initialised to the spec's value.
    """

    def __init__(self, spec: str = "relu", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = get_activation(spec)
        self.spec = self.activation.spec
        self._fn = ops_function(self.activation)
        self._learnable = [p.name for p in self.activation.definition.params if p.learnable]
        if self._learnable and self.activation.name != "prelu":
            raise NotImplementedError(f"no keras layer with learnable parameters for {self.spec!r}")
        self.alpha: Any = None

    def build(self, input_shape: Any) -> None:
        if self._learnable:
            self.alpha = self.add_weight(
                name="alpha",
                shape=(1,),
                initializer=keras.initializers.Constant(float(self.activation.params["alpha"])),
            )

    def call(self, inputs: Any) -> Any:
        if self.alpha is not None:
            return _prelu(inputs, ops.cast(self.alpha, inputs.dtype))
        return self._fn(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "spec": self.spec}


def get(spec: str | Activation) -> ActlabActivation:
    """A Keras layer for ``spec``, usable as ``Dense(..., activation=get(spec))`` or as a
    layer of ``keras.Sequential``. Raises :class:`actlab.SpecError` for a bad spec."""
    return ActlabActivation(get_activation(spec).spec)
