"""Keras 3 backend: every catalog entry as a serializable Keras layer built on ``keras.ops``,
so it runs on whichever backend Keras runs on (TensorFlow, JAX or PyTorch).

The backend is Keras' own choice (``KERAS_BACKEND``, else ``~/.keras/keras.json``, else
TensorFlow), made when Keras is first imported; importing this module never changes it
(:func:`import_keras` turns a failed import into a one-line message). How each
entry runs is one :class:`KerasBinding` in :data:`BINDINGS` (a test fails when an entry has
none): ``actlab`` is the catalog's function written with ``keras.ops`` (Keras' own op where
its definition is the catalog's, else the catalog's stable formula), ``native`` Keras' own op
at the catalog's parameters, where it has one (measured in ``docs/frameworks.md``). Formulas
written here:

* softplus(beta): ``(relu(b x) + log1p(exp(-|b x|))) / b`` (never overflows);
* mish: ``x * n / (n + 2)`` with ``n = e^x (e^x + 2)`` in ``exp(-|x|)`` form;
* silu(beta): ``x * sigmoid(b x)``;
* gelu_tanh: ``x * sigmoid(2u)``, equal to ``x/2 (1 + tanh u)`` without its cancellation;
* squareplus: ``b / (2 (sqrt(x^2 + b) - x))`` for x < 0, where Keras' own form cancels;
* sparsemax: the threshold from the k-th cumulative sum (Keras 3.15's own op sums all the
  cumulative sums in the support: keras-team/keras#23425);
* gated entries: ``a * gate(b)`` for the halves ``(a, b)`` of the input along ``axis``;
* learnable entries (prelu, star_relu, xielu, snake): one weight of shape ``(1,)`` per
  learnable parameter, initialised to the spec's value (Keras' own PReLU starts at 0);
  xielu's alphas are stored as softplus-inverses above their bounds, as in torch;
* rrelu: in training, slopes drawn from U(lower, upper) per element (``keras.random``).
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
"""Keras 3's training backends and the package each needs (``pip install`` name)."""

_PACKAGE_BACKEND = {
    "tensorflow": "tensorflow",
    "jax": "jax",
    "jaxlib": "jax",
    "torch": "torch",
    "openvino": "openvino",
}
"""Top-level module a backend imports -> the package that provides it."""


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _installed_backends() -> list[str]:
    return [b for b, package in BACKEND_PACKAGES.items() if _installed(package)]


def _configured_backend(package: str) -> str:
    """The backend Keras was asked for when its import failed for want of ``package``."""
    config = sys.modules.get("keras.src.backend.config")
    if config is not None:
        return str(config.backend())
    return os.environ.get("KERAS_BACKEND") or package


def import_keras() -> ModuleType:
    """``import keras`` on the backend Keras chooses, or an :class:`ImportError` whose
    one-line message says what failed: Keras missing, Keras 2, a backend package missing
    (named, with the package to install), or Keras' own import error."""
    try:
        import keras
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root == "keras":
            raise ImportError("actlab.keras needs Keras 3: pip install actlab[keras]") from exc
        if root in _PACKAGE_BACKEND:
            package = _PACKAGE_BACKEND[root]
            others = [b for b in _installed_backends() if b != package]
            alternative = f", or set KERAS_BACKEND to one of {', '.join(others)}" if others else ""
            raise ImportError(
                f"Keras' {_configured_backend(package)} backend needs {package}, which is not "
                f"installed: pip install {package}{alternative}"
            ) from exc
        raise ImportError(f"importing Keras failed: {exc}") from exc
    except (ImportError, ValueError) as exc:  # e.g. an unknown KERAS_BACKEND
        raise ImportError(f"importing Keras failed: {exc}") from exc
    major = int(str(keras.__version__).split(".")[0])
    if major < 3:
        raise ImportError(
            f"actlab.keras needs Keras 3, found Keras {keras.__version__}: pip install 'keras>=3'"
        )
    return keras


keras = import_keras()
ops = keras.ops

from actlab.catalog import Activation  # noqa: E402
from actlab.catalog import get as get_activation  # noqa: E402

OpsFn = Callable[[Any], Any]
Params = Mapping[str, Any]
Builder = Callable[[Params], OpsFn]


@dataclass(frozen=True)
class KerasBinding:
    """One catalog entry in Keras 3."""

    actlab: Builder
    """The catalog's function with ``keras.ops`` (parameters fixed)."""
    native: tuple[str, Callable[[Params], OpsFn | None]] | None = None
    """Keras' own op (its name, and a builder that is None where it lacks the parameters)."""
    learned: Callable[[Params], Callable[..., Any]] | None = None
    """For learnable entries: fixed params -> ``(x, **weights) -> y``."""
    training: Callable[[Params], Callable[[Any, Any], Any]] | None = None
    """Training-mode function ``(x, seed_generator) -> y`` where it differs (rrelu)."""


def _softplus(x: Any, beta: float = 1.0) -> Any:
    bx = x * beta
    return (ops.relu(bx) + ops.log1p(ops.exp(-ops.abs(bx)))) / beta


_SQRT_2_OVER_PI = 0.7978845608028654


def _gelu_tanh(x: Any) -> Any:
    """x/2 (1 + tanh u) as x sigmoid(2u), u = sqrt(2/pi) (t + 0.044715 t^3), t = x clipped to
    +-100: no cancellation for negative x (``ops.gelu`` computes 1 + tanh u), no overflow."""
    t = ops.clip(x, -100.0, 100.0)
    return x * ops.sigmoid(2.0 * _SQRT_2_OVER_PI * (t + 0.044715 * t * t * t))


def _mish(x: Any) -> Any:
    """x tanh(softplus(x)) with tanh(softplus(x)) = n / (n + 2), n = e^x (e^x + 2), written
    with e = exp(-|x|) as the catalog does (``tanh`` of a rounded softplus loses ulps)."""
    e = ops.exp(-ops.abs(x))
    n = e * (e + 2)
    return x * ops.where(x < 0, n / (n + 2), (1 + 2 * e) / (1 + 2 * e + 2 * e * e))


def _prelu(x: Any, alpha: Any) -> Any:
    return ops.where(x >= 0, x, alpha * x)


def _halves(x: Any, axis: int) -> tuple[Any, Any]:
    a, b = ops.split(x, 2, axis=axis)
    return a, b


def _gated(gate: Callable[[Params], OpsFn]) -> Builder:
    def build(p: Params) -> OpsFn:
        g = gate(p)
        axis = int(p["axis"])

        def apply(x: Any) -> Any:
            a, b = _halves(x, axis)
            return a * g(b)

        return apply

    return build


def _squareplus(x: Any, b: float) -> Any:
    h = ops.sqrt(ops.square(x) + b)
    return ops.where(x >= 0, (x + h) / 2, (b / 4) / (h / 2 - x / 2))


def _sparsemax(x: Any, axis: int) -> Any:
    """Martins & Astudillo 2016, algorithm 1: tau from the k-th cumulative sum."""
    ordered = ops.flip(ops.sort(x, axis=axis), axis=axis)
    cumulative = ops.cumsum(ordered, axis=axis)
    n = ops.shape(x)[axis]
    shape = [1] * len(ops.shape(x))
    shape[axis] = n
    rank = ops.reshape(ops.arange(1, n + 1, dtype=x.dtype), shape)
    support = ops.cast(ordered * rank + 1 > cumulative, x.dtype)
    k = ops.sum(support, axis=axis, keepdims=True)
    tau = (ops.sum(support * ordered, axis=axis, keepdims=True) - 1) / k
    return ops.relu(x - tau)


def _star_relu(x: Any, scale: Any, bias: Any) -> Any:
    return scale * ops.square(ops.relu(x)) + bias


def _xielu(x: Any, alpha_p: Any, alpha_n: Any, beta: float) -> Any:
    negative = ops.minimum(x, 0)
    return ops.where(
        x > 0,
        x * (alpha_p * x + beta),
        alpha_n * (ops.expm1(negative) - negative) + beta * x,
    )


def _snake(x: Any, frequency: Any) -> Any:
    return x + ops.square(ops.sin(frequency * x)) / frequency


def _rrelu_training(p: Params) -> Callable[[Any, Any], Any]:
    def apply(x: Any, seed: Any) -> Any:
        slope = keras.random.uniform(
            ops.shape(x), minval=p["lower"], maxval=p["upper"], dtype=x.dtype, seed=seed
        )
        return ops.where(x >= 0, x, slope * x)

    return apply


def _fixed(fn: Callable[..., Any], names: tuple[str, ...]) -> Builder:
    """A learnable entry's function with its parameters fixed at the spec's values."""
    return lambda p: lambda x: fn(x, **{k: p[k] for k in names})


def _native(name: str, build: Callable[[Params], OpsFn | None]) -> tuple[str, Callable]:
    return (name, build)


_A = keras.activations

BINDINGS: dict[str, KerasBinding] = {
    "sigmoid": KerasBinding(lambda _p: ops.sigmoid, _native("keras.activations.sigmoid", lambda _p: _A.sigmoid)),
    "tanh": KerasBinding(lambda _p: ops.tanh, _native("keras.activations.tanh", lambda _p: _A.tanh)),
    "relu": KerasBinding(lambda _p: ops.relu, _native("keras.activations.relu", lambda _p: _A.relu)),
    "leaky_relu": KerasBinding(
        lambda p: lambda x: ops.leaky_relu(x, negative_slope=p["alpha"]),
        _native("keras.activations.leaky_relu",
                lambda p: lambda x: _A.leaky_relu(x, negative_slope=p["alpha"])),
    ),
    "softplus": KerasBinding(
        lambda p: lambda x: _softplus(x, p["beta"]),
        _native("keras.activations.softplus", lambda p: _A.softplus if p["beta"] == 1 else None),
    ),
    "elu": KerasBinding(
        lambda p: lambda x: ops.elu(x, alpha=p["alpha"]),
        _native("keras.activations.elu", lambda p: lambda x: _A.elu(x, alpha=p["alpha"])),
    ),
    "selu": KerasBinding(lambda _p: ops.selu, _native("keras.activations.selu", lambda _p: _A.selu)),
    "gelu": KerasBinding(
        lambda _p: lambda x: ops.gelu(x, approximate=False),
        _native("keras.activations.gelu", lambda _p: lambda x: _A.gelu(x, approximate=False)),
    ),
    "gelu_tanh": KerasBinding(
        lambda _p: _gelu_tanh,
        _native("keras.activations.gelu(approximate=True)",
                lambda _p: lambda x: _A.gelu(x, approximate=True)),
    ),
    "silu": KerasBinding(
        lambda p: lambda x: x * ops.sigmoid(x * p["beta"]),
        _native("keras.activations.silu", lambda p: _A.silu if p["beta"] == 1 else None),
    ),
    "mish": KerasBinding(
        lambda _p: _mish,
        _native("keras.activations.mish", lambda _p: _A.mish),
    ),
    "celu": KerasBinding(
        lambda p: lambda x: ops.celu(x, alpha=p["alpha"]),
        _native("keras.activations.celu", lambda p: lambda x: _A.celu(x, alpha=p["alpha"])),
    ),
    "log_sigmoid": KerasBinding(
        lambda _p: ops.log_sigmoid, _native("keras.activations.log_sigmoid", lambda _p: _A.log_sigmoid)
    ),
    "identity": KerasBinding(
        lambda _p: lambda x: x, _native("keras.activations.linear", lambda _p: _A.linear)
    ),
    "relu6": KerasBinding(lambda _p: ops.relu6, _native("keras.activations.relu6", lambda _p: _A.relu6)),
    "prelu": KerasBinding(
        lambda p: lambda x: _prelu(x, p["alpha"]), learned=lambda _p: _prelu
    ),
    "hard_sigmoid": KerasBinding(
        lambda _p: ops.hard_sigmoid,
        _native("keras.activations.hard_sigmoid", lambda _p: _A.hard_sigmoid),
    ),
    "hard_swish": KerasBinding(
        lambda _p: ops.hard_silu, _native("keras.activations.hard_silu", lambda _p: _A.hard_silu)
    ),
    "softsign": KerasBinding(
        lambda _p: ops.softsign, _native("keras.activations.softsign", lambda _p: _A.softsign)
    ),
    "hard_tanh": KerasBinding(
        lambda p: lambda x: ops.clip(x, p["min_val"], p["max_val"]),
        _native("keras.activations.hard_tanh",
                lambda p: _A.hard_tanh if (p["min_val"], p["max_val"]) == (-1, 1) else None),
    ),
    "hard_shrink": KerasBinding(
        lambda p: lambda x: ops.hard_shrink(x, threshold=p["lambd"]),
        _native("keras.activations.hard_shrink",
                lambda p: lambda x: _A.hard_shrink(x, threshold=p["lambd"])),
    ),
    "soft_shrink": KerasBinding(
        lambda p: lambda x: ops.soft_shrink(x, threshold=p["lambd"]),
        _native("keras.activations.soft_shrink",
                lambda p: lambda x: _A.soft_shrink(x, threshold=p["lambd"])),
    ),
    "threshold": KerasBinding(
        lambda p: lambda x: ops.threshold(x, p["threshold"], p["value"]),
        _native("keras.activations.threshold",
                lambda p: lambda x: _A.threshold(x, p["threshold"], p["value"])),
    ),
    "sparse_plus": KerasBinding(
        lambda _p: ops.sparse_plus, _native("keras.activations.sparse_plus", lambda _p: _A.sparse_plus)
    ),
    "sparse_sigmoid": KerasBinding(
        lambda _p: ops.sparse_sigmoid,
        _native("keras.activations.sparse_sigmoid", lambda _p: _A.sparse_sigmoid),
    ),
    "rrelu": KerasBinding(
        lambda p: lambda x: ops.leaky_relu(x, negative_slope=(p["lower"] + p["upper"]) / 2),
        training=_rrelu_training,
    ),
    "exponential": KerasBinding(
        lambda _p: ops.exp, _native("keras.activations.exponential", lambda _p: _A.exponential)
    ),
    "tanh_shrink": KerasBinding(
        lambda _p: ops.tanh_shrink, _native("keras.activations.tanh_shrink", lambda _p: _A.tanh_shrink)
    ),
    "squareplus": KerasBinding(
        lambda p: lambda x: _squareplus(x, p["b"]),
        _native("keras.activations.squareplus", lambda p: lambda x: _A.squareplus(x, b=p["b"])),
    ),
    "relu2": KerasBinding(lambda _p: lambda x: ops.square(ops.relu(x))),
    "star_relu": KerasBinding(
        _fixed(_star_relu, ("scale", "bias")), learned=lambda _p: _star_relu
    ),
    "xielu": KerasBinding(
        _fixed(_xielu, ("alpha_p", "alpha_n", "beta")),
        learned=lambda p: lambda x, **w: _xielu(x, beta=p["beta"], **w),
    ),
    "snake": KerasBinding(_fixed(_snake, ("frequency",)), learned=lambda _p: _snake),
    "softmax": KerasBinding(
        lambda p: lambda x: ops.softmax(x, axis=int(p["axis"])),
        _native("keras.activations.softmax", lambda p: lambda x: _A.softmax(x, axis=int(p["axis"]))),
    ),
    "log_softmax": KerasBinding(
        lambda p: lambda x: ops.log_softmax(x, axis=int(p["axis"])),
        _native("keras.activations.log_softmax",
                lambda p: lambda x: _A.log_softmax(x, axis=int(p["axis"]))),
    ),
    "softmin": KerasBinding(lambda p: lambda x: ops.softmax(-x, axis=int(p["axis"]))),
    "sparsemax": KerasBinding(
        lambda p: lambda x: _sparsemax(x, int(p["axis"])),
        _native("keras.activations.sparsemax",
                lambda p: lambda x: _A.sparsemax(x, axis=int(p["axis"]))),
    ),
    "glu": KerasBinding(
        lambda p: lambda x: ops.glu(x, axis=int(p["axis"])),
        _native("keras.activations.glu", lambda p: lambda x: _A.glu(x, axis=int(p["axis"]))),
    ),
    "swiglu": KerasBinding(_gated(lambda p: lambda b: b * ops.sigmoid(b * p["beta"]))),
    "geglu": KerasBinding(
        _gated(lambda p: _gelu_tanh if p["approximate"] else lambda b: ops.gelu(b, approximate=False))
    ),
    "reglu": KerasBinding(_gated(lambda _p: ops.relu)),
    "bilinear": KerasBinding(_gated(lambda _p: lambda b: b)),
}  # fmt: skip


def ops_function(spec: str | Activation) -> OpsFn:
    """The entry as a function of a Keras tensor, with its parameters fixed (rrelu: the
    eval-mode function)."""
    act = get_activation(spec)
    return BINDINGS[act.name].actlab(act.params)


def native_op(spec: str | Activation) -> tuple[str, OpsFn | None]:
    """(name, function) of Keras' own op for ``spec`` at the catalog's parameters; the
    function is None where Keras has no such op (the name then says why)."""
    act = get_activation(spec)
    native = BINDINGS[act.name].native
    if native is None:
        return "", None
    name, build = native
    return name, build(act.params)


@keras.saving.register_keras_serializable(package="actlab")
class ActlabActivation(keras.layers.Layer):
    """A catalog activation as a Keras layer; ``get_config()`` holds the spec string, so a
    model saved to ``.keras`` loads back with ``keras.saving.load_model``.

    Learnable entries own one weight of shape ``(1,)`` per learnable parameter, initialised
    to the spec's value (a bounded one, xielu's alphas, stored as ``<name>_raw`` with value
    ``bound + softplus(raw)``). A gated entry halves its ``axis``; rrelu draws its slopes in
    training (``layer(x, training=True)``, as ``fit`` calls it)."""

    def __init__(self, spec: str = "relu", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = get_activation(spec)
        self.spec = self.activation.spec
        self._binding = BINDINGS[self.activation.name]
        self._fn = self._binding.actlab(self.activation.params)
        self._weights: dict[str, Any] = {}
        self._seed = keras.random.SeedGenerator() if self._binding.training else None

    def build(self, input_shape: Any) -> None:
        act = self.activation
        for p in act.definition.params:
            if not p.learnable:
                continue
            value = float(act.params[p.name])
            name = p.name
            if p.learn_above is not None:  # softplus^-1(value - bound)
                value = math.log(math.expm1(value - p.lower_bound(act.params)))
                name = f"{p.name}_raw"
            self._weights[p.name] = self.add_weight(
                name=name, shape=(1,), initializer=keras.initializers.Constant(value)
            )

    def learned(self) -> dict[str, Any]:
        """The learnable parameters as the function uses them."""
        out = {}
        for p in self.activation.definition.params:
            if p.name in self._weights:
                w = self._weights[p.name]
                if p.learn_above is not None:
                    w = ops.softplus(w) + p.lower_bound(self.activation.params)
                out[p.name] = w
        return out

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if self._weights:
            assert self._binding.learned is not None
            fixed = {k: v for k, v in self.activation.params.items() if k not in self._weights}
            values = {k: ops.cast(v, inputs.dtype) for k, v in self.learned().items()}
            return self._binding.learned(fixed)(inputs, **values)
        if training and self._binding.training is not None:
            return self._binding.training(self.activation.params)(inputs, self._seed)
        return self._fn(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if not self.activation.is_gated:
            return input_shape
        shape = list(input_shape)
        axis = int(self.activation.params["axis"])
        if shape[axis] is not None:
            shape[axis] //= 2
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "spec": self.spec}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ActlabActivation:
        """The layer of a saved config; a bad spec raises :class:`actlab.SpecError` itself
        (Keras' default wraps every error in a multi-line ``TypeError``)."""
        return cls(**config)


def get(spec: str | Activation) -> ActlabActivation:
    """A Keras layer for ``spec``, usable as ``Dense(..., activation=get(spec))`` or as a
    layer of ``keras.Sequential``. Raises :class:`actlab.SpecError` for a bad spec."""
    return ActlabActivation(get_activation(spec).spec)
