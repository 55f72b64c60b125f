"""The run directory: configuration, environment, results, checkpoints; resumable.

The names below are imported from their modules on first use (PEP 562): the command line
imports :mod:`actlab.store.interrupt` at start-up, and ``actlab list`` / ``show`` need
nothing else of this package.
"""

from __future__ import annotations

from actlab._lazy import lazy_names

__getattr__, __all__ = lazy_names(
    __name__,
    {
        "CheckpointError": "errors",
        "RunDirError": "errors",
        "RunLockedError": "errors",
        "RunLock": "lock",
        "RunDir": "run_dir",
        "environment": "run_dir",
        "write_json_atomic": "run_dir",
    },
)
