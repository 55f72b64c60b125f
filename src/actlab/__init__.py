"""actlab: pick, use and understand neural-network activation functions with evidence.

The catalog (``get``, ``names``) needs only NumPy. ``compare``, ``resume``, ``load_run``
and ``monitor`` import PyTorch on first use.
"""

from __future__ import annotations

from typing import Any

from actlab.catalog import (
    Activation,
    SpecError,
    get,
    get_many,
    names,
    parse,
)

__version__ = "0.1.0"

_LAZY = {
    "compare": ("actlab.comparison", "compare"),
    "resume": ("actlab.comparison", "resume"),
    "extend_seeds": ("actlab.comparison", "extend_seeds"),
    "load_run": ("actlab.comparison", "load"),
    "CompareResult": ("actlab.comparison", "CompareResult"),
    "monitor": ("actlab.diagnose", "monitor"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'actlab' has no attribute {name!r}")


__all__ = [  # noqa: RUF022  (catalog first, then the torch-backed entry points)
    "Activation",
    "SpecError",
    "__version__",
    "get",
    "get_many",
    "names",
    "parse",
    "compare",
    "resume",
    "extend_seeds",
    "load_run",
    "CompareResult",
    "monitor",
]
