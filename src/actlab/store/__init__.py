"""The run directory: configuration, environment, results, checkpoints; resumable."""

from actlab.store.errors import CheckpointError, RunDirError, RunLockedError
from actlab.store.lock import RunLock
from actlab.store.run_dir import RunDir, environment, write_json_atomic

__all__ = [
    "CheckpointError",
    "RunDir",
    "RunDirError",
    "RunLock",
    "RunLockedError",
    "environment",
    "write_json_atomic",
]
