"""A run directory holds everything about one comparison::

    RUN_DIR/
      config.json        what was asked for (enough to resume or rerun)
      environment.json   versions and machine
      results.json       {"schema", "config", "data", "environment", "groups", "candidates"}
      checkpoints/<group>.pt   trainer state after the last finished epoch of an unfinished group
      report.html        written by ``actlab report`` / at the end of ``actlab compare``

Every file is written atomically (temporary file + ``os.replace``), so an interrupted run
(Ctrl-C, crash, power loss) leaves only complete files behind.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS_SCHEMA = "actlab.results/1"


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf by None so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write strict JSON to ``path`` so that readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(_json_safe(payload), fh, indent=1, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def environment() -> dict[str, Any]:
    """Versions and machine facts recorded with every run, for reproducibility."""
    import numpy
    import sklearn
    import torch

    from actlab import __version__

    return {
        "actlab": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scikit_learn": sklearn.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def default_run_path(root: str | Path = "runs") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / stamp
    suffix = 1
    while path.exists():
        suffix += 1
        path = Path(root) / f"{stamp}-{suffix}"
    return path


class RunDir:
    """Reads and writes one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"

    def checkpoint_path(self, group: str) -> Path:
        return self.path / "checkpoints" / f"{group}.pt"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def ensure_new(self) -> None:
        """Raise if the directory already holds a run (it is never overwritten)."""
        if self.exists():
            raise FileExistsError(
                f"{self.path} already holds a run; use --resume {self.path} to finish it "
                "or choose another --out"
            )

    def create(self, config: dict[str, Any], env: dict[str, Any]) -> None:
        """Start a run. ``config.json`` is what marks a directory as a run (see
        :meth:`exists`), so it is written last: a process killed in between leaves a
        directory that is not yet a run and is simply created again, never one that
        claims to be a run and lacks its environment."""
        self.ensure_new()
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path / "environment.json", env)
        write_json_atomic(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        if not self.exists():
            raise FileNotFoundError(f"{self.path} is not an actlab run directory (no config.json)")
        return json.loads(self.config_path.read_text())

    def read_environment(self) -> dict[str, Any]:
        return json.loads((self.path / "environment.json").read_text())

    def read_results(self) -> dict[str, Any] | None:
        if not self.results_path.is_file():
            return None
        return json.loads(self.results_path.read_text())

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.results_path, {"schema": RESULTS_SCHEMA, **results})

    def save_checkpoint(self, group: str, state: dict[str, Any]) -> None:
        import torch

        path = self.checkpoint_path(group)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".pt.tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)

    def load_checkpoint(self, group: str) -> dict[str, Any] | None:
        import torch

        path = self.checkpoint_path(group)
        if not path.is_file():
            return None
        return torch.load(path, weights_only=False)

    def drop_checkpoint(self, group: str) -> None:
        path = self.checkpoint_path(group)
        path.unlink(missing_ok=True)
        if path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()
