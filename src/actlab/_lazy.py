"""A package's names imported from their modules on first use (PEP 562), so that importing
the package loads none of them: what keeps ``actlab list`` and ``--help`` free of torch
and scipy."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, where: dict[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """``(__getattr__, __all__)`` for ``package``, whose name ``n`` lives in its module
    ``where[n]``; a name is imported once, then kept as an ordinary attribute.

    A name may not be its module's name: importing the module binds that package attribute
    to the module itself, and ``__getattr__`` would never run (import such a name eagerly).
    """
    clashes = sorted(n for n, module in where.items() if n == module)
    if clashes:
        raise ValueError(f"{package}: {clashes} share their module's name; import them eagerly")

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__, sorted(where)
