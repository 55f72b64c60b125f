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
    learn_above: float | str | None = None
    """For a learnable parameter kept above a bound while it is learned: it is stored as
    ``raw`` with value ``bound + softplus(raw)``, the bound a number or another parameter's
    name (xielu's alpha_n stays above beta)."""

    def lower_bound(self, params: Mapping[str, ParamValue]) -> float:
        """The value of :attr:`learn_above` at ``params``."""
        bound = self.learn_above
        return float(params[bound]) if isinstance(bound, str) else float(bound or 0.0)

    def validate(self, activation: str, value: ParamValue) -> ParamValue:
        """Return ``value`` converted to this parameter's kind, or raise
        :class:`InvalidParameterError` naming the value and the reason."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise InvalidParameterError(activation, self.name, value, "expected true or false")
            return value
        if isinstance(value, bool):
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
    """How a framework spells the same function, and how it differs from the catalog.

    An empty ``name`` means the framework has no version of it; ``differences`` then says
    what its users write instead."""

    name: str
    """Class or function, e.g. ``torch.nn.LeakyReLU`` or ``keras.layers.LeakyReLU``."""
    defaults: str = ""
    """Its default parameters in its own spelling, e.g. ``negative_slope=0.01``."""
    differences: str = ""
    """Any difference from the catalog in definition or default; empty when identical."""
    functional: str = ""
    """The functional form, e.g. ``torch.nn.functional.leaky_relu`` or ``keras.activations.elu``."""

    @property
    def available(self) -> bool:
        return bool(self.name)

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "functional": self.functional,
            "defaults": self.defaults,
            "differences": self.differences,
        }


@dataclass(frozen=True)
class Preset:
    """A name for an entry with some parameters fixed, e.g. ``quick_gelu`` is
    ``silu(beta=1.702)``; written parameters override the preset's."""

    name: str
    params: Mapping[str, ParamValue]
    doc: str


@dataclass(frozen=True)
class Constraint:
    """A condition relating several parameters, e.g. ``min_val < max_val``."""

    holds: Callable[[Mapping[str, ParamValue]], bool]
    params: tuple[str, ...]
    text: str
    """What it needs, e.g. ``needs min_val < max_val``."""


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


Kind = Literal["elementwise", "vector", "gated"]


@dataclass(frozen=True)
class Definition:
    """Everything the catalog knows about one activation function.

    Three kinds: *elementwise* (``forward``/``derivative`` map each element), *vector*
    (``vector=True``: over the ``axis`` parameter, with a ``jvp`` instead of a derivative)
    and *gated* (``gate`` set; a vector entry whose input of ``2n`` units along ``axis``
    splits into a value half ``a`` (first) and a gate half ``b`` (second), and whose output
    is ``a * gate(b)``, ``n`` units)."""

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
    jax: FrameworkRef = FrameworkRef("")
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    presets: tuple[Preset, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    output_range: Callable[[Mapping[str, ParamValue]], tuple[float, float]] = field(
        default=_constant((-math.inf, math.inf))
    )
    max_derivative: Callable[[Mapping[str, ParamValue]], float] = field(default=_constant(1.0))
    """sup_x |f'(x)|: the scale for "saturated" (derivative below 1% of this)."""
    kinks: Callable[[Mapping[str, ParamValue]], tuple[float, ...]] = field(default=_constant(()))
    """Points where f or f' is not differentiable (a kink or jump of f or of f'): finite
    differences skip them and quadrature splits there."""
    notes: tuple[str, ...] = ()
    """Corrections and caveats, e.g. where the seed article's formula is wrong."""
    training: str = ""
    """What changes in training mode, for entries that behave differently there (rrelu)."""
    vector: bool = False
    """True for activations over an axis (softmax, gated): a JVP, no elementwise derivative."""
    jvp: Kernel | None = None
    gate: Callable[[Mapping[str, ParamValue]], str] | None = None
    """For a gated entry: the spec of the elementwise entry applied to the gate half."""

    @property
    def kind(self) -> Kind:
        if self.gate is not None:
            return "gated"
        return "vector" if self.vector else "elementwise"

    def param(self, name: str) -> Param | None:
        lowered = name.lower()
        for p in self.params:
            if p.name == lowered or lowered in p.aliases:
                return p
        return None

    def defaults(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}

    def check(self, params: Mapping[str, ParamValue]) -> None:
        """Raise :class:`InvalidParameterError` for the first constraint ``params`` break."""
        for c in self.constraints:
            if not c.holds(params):
                shown = ", ".join(f"{n}={format_value(params[n])}" for n in c.params)
                raise InvalidParameterError(self.name, c.params[-1], params[c.params[-1]],
                                            f"{c.text} (got {shown})")  # fmt: skip


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


def _round(out: Any, dtype: np.dtype) -> Any:
    with np.errstate(over="ignore"):
        result = np.asarray(out).astype(dtype)
    return result[()] if result.ndim == 0 else result


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
    def kind(self) -> Kind:
        return self.definition.kind

    @property
    def is_vector(self) -> bool:
        """Acts over the ``axis`` parameter (softmax, log_softmax, ..., and gated entries)."""
        return self.definition.vector

    @property
    def is_gated(self) -> bool:
        return self.definition.gate is not None

    @property
    def width_factor(self) -> int:
        """Input units per output unit along the axis: 2 for a gated entry (value and
        gate halves), else 1. A layer feeding it projects to ``width_factor * width``."""
        return 2 if self.is_gated else 1

    @property
    def gate(self) -> Activation:
        """The elementwise entry applied to a gated entry's gate half."""
        if self.definition.gate is None:
            raise TypeError(f"{self.spec} is not a gated activation")
        return _from_spec(self.definition.gate(self.params))

    @property
    def learnable(self) -> tuple[str, ...]:
        """Names of the parameters a framework layer learns (their values here are the
        initial values)."""
        return tuple(p.name for p in self.definition.params if p.learnable)

    def _apply(self, kernel: Kernel, x: Any, **extra: Any) -> Any:
        arr = _as_float_array(x)
        work = _working_dtype(arr.dtype)
        # Rounding to the caller's dtype overflows to +-inf exactly where the true value
        # is beyond that dtype's range: that is the correct result, not an error.
        with np.errstate(under="ignore", over="ignore"):
            out = kernel(arr.astype(work), **extra, **self.params)
        return _round(out, arr.dtype)

    def __call__(self, x: Any) -> Any:
        """f(x), elementwise (over the ``axis`` parameter for a vector or gated entry)."""
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
        """Jacobian-vector product J_f(x) @ v; for elementwise activations f'(x) * v.
        For a gated entry ``v`` has the input's shape and the result the output's."""
        arr = _as_float_array(x)
        if not self.is_vector:
            return self.derivative(arr) * np.asarray(v).astype(arr.dtype)
        assert self.definition.jvp is not None
        tangent = np.asarray(v).astype(_working_dtype(arr.dtype))
        return self._apply(self.definition.jvp, arr, v=tangent)

    def _gate_parts(self, value: Any, gate: Any) -> tuple[np.ndarray, np.ndarray, Activation]:
        g = self.gate
        a, b = np.broadcast_arrays(_as_float_array(value), _as_float_array(gate))
        dtype = np.result_type(a.dtype, b.dtype)
        work = _working_dtype(dtype)
        return a.astype(work), b.astype(work), g

    def gated(self, value: Any, gate: Any) -> Any:
        """A gated entry as a function of its two inputs: ``value * gate_fn(gate)``,
        elementwise (broadcast), rounded once to the inputs' dtype."""
        a, b, g = self._gate_parts(value, gate)
        dtype = np.result_type(_as_float_array(value).dtype, _as_float_array(gate).dtype)
        with np.errstate(under="ignore", over="ignore"):
            out = a * g.definition.forward(b, **g.params)
        return _round(out, dtype)

    def gated_partials(self, value: Any, gate: Any) -> tuple[Any, Any]:
        """``(df/dvalue, df/dgate) = (gate_fn(gate), value * gate_fn'(gate))``."""
        a, b, g = self._gate_parts(value, gate)
        dtype = np.result_type(_as_float_array(value).dtype, _as_float_array(gate).dtype)
        assert g.definition.derivative is not None
        with np.errstate(under="ignore", over="ignore"):
            d_value = g.definition.forward(b, **g.params)
            d_gate = a * g.definition.derivative(b, **g.params)
        return _round(d_value, dtype), _round(d_gate, dtype)


_INPUTS = (
    "two inputs per output unit: the layer before projects to 2n units along the axis; "
    "the first n are the value a, the last n the gate b (the split of torch.nn.GLU, "
    "keras.ops.glu and jax.nn.glu); output a * {gate}(b), n units"
)


@dataclass(frozen=True)
class ActivationInfo:
    """The metadata of a bound activation, as shown by ``actlab show``."""

    name: str
    spec: str
    title: str
    kind: Kind
    aliases: tuple[str, ...]
    presets: tuple[Preset, ...]
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
    jax: FrameworkRef
    notes: tuple[str, ...]
    training: str
    inputs: str
    """For a gated entry, what its two inputs are; else empty."""

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
            kind=d.kind,
            aliases=d.aliases,
            presets=d.presets,
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
            jax=d.jax,
            notes=d.notes,
            training=d.training,
            inputs=_INPUTS.format(gate=act.gate.spec) if act.is_gated else "",
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
            "kind": self.kind,
            "aliases": list(self.aliases),
            "presets": {p.name: {"params": dict(p.params), "doc": p.doc} for p in self.presets},
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
            "jax": self.jax.to_dict(),
            "notes": list(self.notes),
            "training": self.training,
            "inputs": self.inputs,
            "vector": self.kind != "elementwise",
        }
