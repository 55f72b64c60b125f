"""The catalog's records: a parameter, the metadata of an activation, its definition,
and :class:`Activation`, a definition bound to parameter values.

Numerics contract for every definition's ``forward`` / ``derivative`` kernel: it receives
``x`` already converted to a *working* dtype (``float64`` for float16/float32 input,
``numpy.longdouble`` for float64 input) and keyword parameters as Python numbers, must use
only NumPy ufuncs that support that dtype, must not overflow where the true value is
finite, and returns an array of the working dtype. :class:`Activation` rounds the result
once to the caller's dtype, so float32 results are correctly rounded in almost every case
and float64 results carry the extra bits of extended precision where the platform has it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from actlab.catalog.errors import InvalidParameterError
from actlab.catalog.spec import ParamValue, format_value

Kernel = Callable[..., np.ndarray]
InitScheme = Literal["he", "lecun", "glorot"]


@dataclass(frozen=True)
class Param:
    """One parameter of an activation, with its default and the values it allows.

    ``low``/``high`` bound the value (inclusive unless ``low_open``/``high_open``);
    ``reason`` says why, and is quoted in the error for a value outside the bounds.
    """

    name: str
    default: ParamValue
    doc: str
    aliases: tuple[str, ...] = ()
    kind: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    reason: str = ""
    learnable: bool = False

    def validate(self, activation: str, value: ParamValue) -> ParamValue:
        """Return ``value`` converted to this parameter's kind, or raise
        :class:`InvalidParameterError` naming the value and the reason."""
        if isinstance(value, bool) and self.kind is not bool:
            raise InvalidParameterError(activation, self.name, value, "expected a number")
        if self.kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise InvalidParameterError(activation, self.name, value, "expected an integer")
            value = int(value)
        elif self.kind is float:
            value = float(value) + 0.0  # -0.0 becomes 0.0: one function, one canonical spec
            if not math.isfinite(value):
                raise InvalidParameterError(activation, self.name, value, "must be finite")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise InvalidParameterError(activation, self.name, value, self.bounds_text())
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            raise InvalidParameterError(activation, self.name, value, self.bounds_text())
        return value

    def bounds_text(self, *, with_reason: bool = True) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{self.name} {'>' if self.low_open else '>='} {format_value(self.low)}")
        if self.high is not None:
            parts.append(f"{self.name} {'<' if self.high_open else '<='} {format_value(self.high)}")
        text = " and ".join(parts) or "out of range"
        reason = f" ({self.reason})" if self.reason and with_reason else ""
        return f"needs {text}{reason}"


@dataclass(frozen=True)
class FrameworkRef:
    """How a framework spells the same function, and how it differs from the catalog."""

    name: str
    """Class or function, e.g. ``torch.nn.LeakyReLU`` or ``keras.layers.LeakyReLU``."""
    defaults: str = ""
    """Its default parameters in its own spelling, e.g. ``negative_slope=0.01``."""
    differences: str = ""
    """Any difference from the catalog in definition or default; empty when identical."""
    functional: str = ""
    """The functional form, e.g. ``torch.nn.functional.leaky_relu`` or ``keras.activations.elu``."""

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "functional": self.functional,
            "defaults": self.defaults,
            "differences": self.differences,
        }


@dataclass(frozen=True)
class Properties:
    """Qualitative properties, stated for the default parameters."""

    monotonic: bool
    smooth: bool
    """Continuously differentiable everywhere (C^1)."""
    zero_centered: bool
    """Takes both signs, so layer outputs can have mean near zero."""
    bounded_above: bool
    bounded_below: bool
    self_normalizing: bool = False

    def to_dict(self) -> dict[str, bool]:
        return dict(self.__dict__)

    def labels(self) -> list[str]:
        names = {
            "monotonic": "monotonic",
            "smooth": "smooth",
            "zero_centered": "zero-centred",
            "bounded_above": "bounded above",
            "bounded_below": "bounded below",
            "self_normalizing": "self-normalizing",
        }
        return [label for key, label in names.items() if getattr(self, key)]


def _constant(value: Any) -> Callable[[Mapping[str, ParamValue]], Any]:
    return lambda _params: value


@dataclass(frozen=True)
class Definition:
    """Everything the catalog knows about one activation function."""

    name: str
    title: str
    forward: Kernel
    derivative: Kernel | None
    formula: str
    latex: str
    derivative_formula: str
    derivative_latex: str
    properties: Properties
    use_cases: tuple[str, ...]
    reference: str
    torch: FrameworkRef
    keras: FrameworkRef
    init: InitScheme
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    output_range: Callable[[Mapping[str, ParamValue]], tuple[float, float]] = field(
        default=_constant((-math.inf, math.inf))
    )
    max_derivative: Callable[[Mapping[str, ParamValue]], float] = field(default=_constant(1.0))
    """sup_x |f'(x)|: the scale for "saturated" (derivative below 1% of this)."""
    kinks: Callable[[Mapping[str, ParamValue]], tuple[float, ...]] = field(default=_constant(()))
    """Points where f is not differentiable (finite differences skip them)."""
    notes: tuple[str, ...] = ()
    """Corrections and caveats, e.g. where the seed article's formula is wrong."""
    vector: bool = False
    """True for activations over an axis (softmax): no elementwise derivative, a JVP instead."""
    jvp: Kernel | None = None
    gate: Callable[[Mapping[str, ParamValue]], str] | None = None
    """For a gated entry (a vector entry whose input splits into a value half a and a gate
    half b, output a * g(b)): the spec of the elementwise entry g."""

    def param(self, name: str) -> Param | None:
        lowered = name.lower()
        for p in self.params:
            if p.name == lowered or lowered in p.aliases:
                return p
        return None

    def defaults(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}


def _working_dtype(dtype: np.dtype) -> type:
    return np.longdouble if dtype.itemsize >= 8 else np.float64


def _as_float_array(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"expected real numbers, got an array of dtype {arr.dtype}")
    return arr


def _from_spec(spec: str) -> Activation:
    from actlab.catalog.registry import get

    return get(spec)


@dataclass(frozen=True, eq=False)
class Activation:
    """An activation function with its parameters bound: ``act(x)``, ``act.derivative(x)``.

    NumPy in, NumPy out: float32 gives float32, float64 gives float64, integers give
    float64; scalars and arrays of any shape. ``str(act)`` and ``act.spec`` are the
    canonical spec string, and ``actlab.get(act.spec) == act``.
    """

    definition: Definition
    params: Mapping[str, ParamValue]

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def spec(self) -> str:
        """Canonical spec: the name, then the non-default parameters in declared order."""
        changed = [
            f"{p.name}={format_value(self.params[p.name])}"
            for p in self.definition.params
            if self.params[p.name] != p.default
        ]
        return f"{self.name}({', '.join(changed)})" if changed else self.name

    def __str__(self) -> str:
        return self.spec

    def _repr_html_(self) -> str:
        """Jupyter: the card ``actlab show`` prints, with f and f' drawn."""
        from actlab.report.notebook import activation_html

        return activation_html(self)

    def __repr__(self) -> str:
        return f"Activation({self.spec!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Activation):
            return NotImplemented
        return self.name == other.name and dict(self.params) == dict(other.params)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.params.items()))))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickle and copy by canonical spec (models holding actlab modules can then be
        deep-copied and saved with ``torch.save``)."""
        return (_from_spec, (self.spec,))

    @property
    def info(self) -> ActivationInfo:
        return ActivationInfo.of(self)

    @property
    def output_range(self) -> tuple[float, float]:
        return self.definition.output_range(self.params)

    @property
    def max_derivative(self) -> float:
        return float(self.definition.max_derivative(self.params))

    @property
    def kinks(self) -> tuple[float, ...]:
        return tuple(self.definition.kinks(self.params))

    @property
    def is_vector(self) -> bool:
        return self.definition.vector

    @property
    def is_gated(self) -> bool:
        return self.definition.gate is not None

    @property
    def gate(self) -> Activation:
        """The elementwise entry applied to a gated entry's gate half."""
        if self.definition.gate is None:
            raise TypeError(f"{self.spec} is not a gated activation")
        return _from_spec(self.definition.gate(self.params))

    def _apply(self, kernel: Kernel, x: Any, **extra: Any) -> Any:
        arr = _as_float_array(x)
        work = _working_dtype(arr.dtype)
        # Rounding to the caller's dtype overflows to +-inf exactly where the true value
        # is beyond that dtype's range: that is the correct result, not an error.
        with np.errstate(under="ignore", over="ignore"):
            out = kernel(arr.astype(work), **extra, **self.params)
            result = np.asarray(out).astype(arr.dtype)
        return result[()] if result.ndim == 0 else result

    def __call__(self, x: Any) -> Any:
        """f(x), elementwise (over the ``axis`` parameter for a vector activation)."""
        return self._apply(self.definition.forward, x)

    def derivative(self, x: Any) -> Any:
        """f'(x), elementwise and analytic (not autodiff)."""
        if self.definition.derivative is None:
            raise TypeError(
                f"{self.name} acts on a whole axis and has no elementwise derivative; "
                "use .jvp(x, v)"
            )
        return self._apply(self.definition.derivative, x)

    def jvp(self, x: Any, v: Any) -> Any:
        """Jacobian-vector product J_f(x) @ v; for elementwise activations f'(x) * v."""
        arr = _as_float_array(x)
        if not self.is_vector:
            return self.derivative(arr) * np.asarray(v).astype(arr.dtype)
        assert self.definition.jvp is not None
        tangent = np.asarray(v).astype(_working_dtype(arr.dtype))
        return self._apply(self.definition.jvp, arr, v=tangent)


@dataclass(frozen=True)
class ActivationInfo:
    """The metadata of a bound activation, as shown by ``actlab show``."""

    name: str
    spec: str
    title: str
    aliases: tuple[str, ...]
    params: dict[str, dict[str, Any]]
    formula: str
    latex: str
    derivative_formula: str
    derivative_latex: str
    output_range: tuple[float, float]
    properties: Properties
    use_cases: tuple[str, ...]
    reference: str
    torch: FrameworkRef
    keras: FrameworkRef
    init: InitScheme
    notes: tuple[str, ...]
    vector: bool

    @classmethod
    def of(cls, act: Activation) -> ActivationInfo:
        d = act.definition
        params = {
            p.name: {
                "value": act.params[p.name],
                "default": p.default,
                "doc": p.doc,
                "aliases": list(p.aliases),
                "allowed": p.bounds_text(with_reason=False)
                if (p.low is not None or p.high is not None)
                else "",
                "learnable": p.learnable,
            }
            for p in d.params
        }
        return cls(
            name=d.name,
            spec=act.spec,
            title=d.title,
            aliases=d.aliases,
            params=params,
            formula=d.formula,
            latex=d.latex,
            derivative_formula=d.derivative_formula,
            derivative_latex=d.derivative_latex,
            output_range=act.output_range,
            properties=d.properties,
            use_cases=d.use_cases,
            reference=d.reference,
            torch=d.torch,
            keras=d.keras,
            init=d.init,
            notes=d.notes,
            vector=d.vector,
        )

    def range_text(self) -> str:
        lo, hi = self.output_range

        def fmt(v: float) -> str:
            return "inf" if v == math.inf else "-inf" if v == -math.inf else f"{v:.4g}"

        left = "(" if math.isinf(lo) else "["
        right = ")" if math.isinf(hi) else "]"
        return f"{left}{fmt(lo)}, {fmt(hi)}{right}"

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.output_range
        return {
            "name": self.name,
            "spec": self.spec,
            "title": self.title,
            "aliases": list(self.aliases),
            "params": self.params,
            "formula": self.formula,
            "latex": self.latex,
            "derivative_formula": self.derivative_formula,
            "derivative_latex": self.derivative_latex,
            "range": [None if math.isinf(lo) else lo, None if math.isinf(hi) else hi],
            "range_text": self.range_text(),
            "properties": self.properties.to_dict(),
            "use_cases": list(self.use_cases),
            "reference": self.reference,
            "pytorch": self.torch.to_dict(),
            "keras": self.keras.to_dict(),
            "init": self.init,
            "notes": list(self.notes),
            "vector": self.vector,
        }
