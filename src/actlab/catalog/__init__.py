"""The catalog: framework-free math and metadata of every activation, reachable by name.

>>> import actlab
>>> act = actlab.get("leaky_relu(alpha=0.2)")
>>> float(act(-1.0))
-0.2
"""

from actlab.catalog import definitions as _definitions  # noqa: F401  (registers entries)
from actlab.catalog.base import Activation, ActivationInfo, Definition, FrameworkRef, Param
from actlab.catalog.errors import (
    DuplicateActivationError,
    InvalidParameterError,
    SpecError,
    SpecSyntaxError,
    UnknownActivationError,
    UnknownParameterError,
)
from actlab.catalog.registry import aliases, build, definition, get, get_many, names

parse = get

__all__ = [
    "Activation",
    "ActivationInfo",
    "Definition",
    "DuplicateActivationError",
    "FrameworkRef",
    "InvalidParameterError",
    "Param",
    "SpecError",
    "SpecSyntaxError",
    "UnknownActivationError",
    "UnknownParameterError",
    "aliases",
    "build",
    "definition",
    "get",
    "get_many",
    "names",
    "parse",
]
