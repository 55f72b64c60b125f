"""The run directory: configuration, environment, results, checkpoints; resumable.

The names below are imported from their modules on first use (PEP 562): the command line
imports :mod:`actlab.store.interrupt` at start-up, and ``actlab list`` / ``show`` need
nothing else of this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CheckpointError": "errors",
    "RunDirError": "errors",
    "RunLockedError": "errors",
    "RunLock": "lock",
    "RunDir": "run_dir",
    "environment": "run_dir",
    "write_json_atomic": "run_dir",
}
"""Name -> the module of this package that defines it."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)
