"""Data set names: ``digits``, ``moons(n=1000, noise=0.3)``, ... .

A name uses the activation spec syntax (:func:`actlab.catalog.spec.parse_raw`); names and
parameter keys are case-insensitive. Unknown names and parameters raise a
:class:`DataError` that lists the valid ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actlab.catalog.errors import SpecSyntaxError
from actlab.catalog.spec import ParamValue, format_value, parse_raw
from actlab.data import generators
from actlab.data.embedded import EMBEDDED
from actlab.data.errors import DataError
from actlab.data.raw import RawData


@dataclass(frozen=True)
class Param:
    """A generator parameter: default, type and the allowed interval."""

    default: int | float
    integer: bool
    low: float
    high: float = float("inf")
    low_open: bool = False
    high_open: bool = False

    def check(self, dataset: str, key: str, value: ParamValue) -> int | float:
        """The value converted to the parameter's type, or a :class:`DataError`."""
        ok_type = not isinstance(value, bool) and (not self.integer or float(value).is_integer())
        v = (int(value) if self.integer else float(value)) if ok_type else value
        above = ok_type and (v > self.low if self.low_open else v >= self.low)
        below = ok_type and (v < self.high if self.high_open else v <= self.high)
        if above and below:
            return v
        kind = "an integer" if self.integer else "a number"
        lo = f"{'>' if self.low_open else '>='} {format_value(self.low)}"
        hi = (
            ""
            if self.high == float("inf")
            else (f" and {'<' if self.high_open else '<='} {format_value(self.high)}")
        )
        raise DataError(
            f"{dataset}: {key}={format_value(value)} is not allowed; it must be {kind} {lo}{hi}"
        )


@dataclass(frozen=True)
class Entry:
    """One named data set: how to build it and the parameters it takes."""

    build: Callable[..., RawData]
    params: dict[str, Param] = field(default_factory=dict)


_N = Param(1000, True, 10)
_NOISE = Param(0.1, False, 0.0)
_SEED = Param(0, True, 0)

_GENERATED: dict[str, Entry] = {
    "moons": Entry(generators.moons, {"n": _N, "noise": Param(0.2, False, 0.0), "seed": _SEED}),
    "circles": Entry(
        generators.circles,
        {
            "n": _N,
            "noise": _NOISE,
            "factor": Param(0.5, False, 0.0, 1.0, low_open=True, high_open=True),
            "seed": _SEED,
        },
    ),
    "xor": Entry(generators.xor, {"n": _N, "noise": _NOISE, "seed": _SEED}),
    "spirals": Entry(
        generators.spirals,
        {
            "n": _N,
            "noise": _NOISE,
            "classes": Param(2, True, 2, 20),
            "turns": Param(1.0, False, 0.0, low_open=True),
            "seed": _SEED,
        },
    ),
}

REGISTRY: dict[str, Entry] = {
    **{name: Entry(fn) for name, fn in EMBEDDED.items()},
    **_GENERATED,
}


def dataset_names() -> list[str]:
    """Every data set name, embedded ones first (``digits`` is the default)."""
    return list(REGISTRY)


def _unknown(name: str) -> DataError:
    close = difflib.get_close_matches(name, list(REGISTRY), n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return DataError(
        f"unknown dataset {name!r}; {hint}valid names: {', '.join(REGISTRY)} "
        "(or a path to a .csv, .npz or .npy file)"
    )


def load_named(text: str) -> RawData:
    """Build the data set named by ``text`` (``"spirals(n=600, classes=3)"``)."""
    try:
        raw = parse_raw(text)
    except SpecSyntaxError as exc:
        raise DataError(
            f"{text!r} is not an existing file nor a dataset name ({exc.problem} at "
            f"position {exc.position}); valid names: {', '.join(REGISTRY)}"
        ) from None
    name = raw.name.lower()
    entry = REGISTRY.get(name)
    if entry is None:
        raise _unknown(raw.name)
    values: dict[str, Any] = {k: p.default for k, p in entry.params.items()}
    given = []
    for key, value in raw.args:
        param = entry.params.get(key.lower())
        if param is None:
            valid = (
                f"valid: {', '.join(entry.params)}" if entry.params else "it takes no parameters"
            )
            raise DataError(f"dataset {name} has no parameter {key!r} ({valid})")
        values[key.lower()] = param.check(name, key.lower(), value)
        given.append(f"{key.lower()}={format_value(values[key.lower()])}")
    canonical = f"{name}({', '.join(given)})" if given else name
    data = entry.build(**values)
    data.name = data.origin = canonical
    if entry.params:
        every = ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
        data.source = f"{data.source} ({name}({every}))"
    return data
