"""The run directory: configuration, environment, results, checkpoints; resumable."""

from actlab.store.run_dir import RunDir, environment, write_json_atomic

__all__ = ["RunDir", "environment", "write_json_atomic"]
