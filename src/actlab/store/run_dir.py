"""A run directory holds everything about one comparison::

    RUN_DIR/
      config.json        what was asked for (enough to resume or rerun)
      environment.json   versions and machine
      results.json       {"schema", "config", "data", "environment", "groups", "candidates"}
      checkpoints/<group>.safetensors   state after the last finished epoch of an unfinished
                         group: tensors and a JSON document, data only
                         (:mod:`actlab.store.checkpoint`)
      report.html        written by ``actlab report`` / at the end of ``actlab compare``
      actlab.lock        while a process trains into it: who (:mod:`actlab.store.lock`)

Every file is written atomically and durably (temporary file, ``fsync``, ``os.replace``,
``fsync`` of the directory), so an interrupted run (Ctrl-C, crash, power loss) leaves only
complete files behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from actlab.store.atomic import remove_leftovers, replace_atomically
from actlab.store.checkpoint import SUFFIX as CHECKPOINT_SUFFIX
from actlab.store.checkpoint import read_checkpoint, write_checkpoint
from actlab.store.errors import CheckpointError, RunDirError, one_line
from actlab.store.json_file import describe, read_json_object, require
from actlab.store.lock import RunLock

RESULTS_SCHEMA = "actlab.results/2"
"""Version 2 (verdicts): the ``analysis`` block holds ``settings`` and per group
``ranking``, ``verdicts``, ``recommendation`` and ``method`` (docs/results-schema.md)."""
READABLE_SCHEMAS = ("actlab.results/1", RESULTS_SCHEMA)
"""Version 1 differs only in its stored analysis, which is recomputed on reading."""


def json_safe(value: Any) -> Any:
    """Replace NaN/inf by None so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def json_text(value: Any) -> str:
    """Strict JSON of ``value`` (NaN/inf refused: :func:`json_safe` it first) laid out for
    people and written fast: an object's members one per line, a member that is a list one
    item per line (a run's candidates), each item compact. Every piece goes through json's
    C encoder; ``indent=`` would take its pure-Python path, ~3x slower on a results.json."""
    if not isinstance(value, dict):
        return json.dumps(value, allow_nan=False)

    def member(v: Any) -> str:
        if isinstance(v, list) and v:
            return "[\n  " + ",\n  ".join(json.dumps(x, allow_nan=False) for x in v) + "\n ]"
        return json.dumps(v, allow_nan=False)

    lines = [f" {json.dumps(str(k))}: {member(v)}" for k, v in value.items()]
    return "{\n" + ",\n".join(lines) + "\n}" if lines else "{}"


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write strict JSON to ``path`` durably, so that readers see the old file or the new
    one (:func:`actlab.store.atomic.replace_atomically`), laid out by :func:`json_text`."""
    text = json_text(json_safe(payload))
    replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def environment() -> dict[str, Any]:
    """Versions and machine facts recorded with every run, for reproducibility."""
    from importlib.metadata import version

    import numpy
    import torch

    from actlab import __version__

    return {
        "actlab": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scikit_learn": version("scikit-learn"),  # without importing it (~0.6 s)
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


_SAFE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]{0,99}")


def file_stem(name: str) -> str:
    """``name`` as a file name: itself when it is short and made of safe characters, else
    a readable prefix and a hash of the whole name (``--depth 130`` makes a group name
    longer than a file name may be)."""
    if _SAFE_STEM.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    prefix = re.sub(r"[^A-Za-z0-9._+=-]", "_", name)[:60].lstrip(".")
    return f"{prefix}-{digest}" if prefix else digest


_CANDIDATE_FIELDS = (
    ("group", str),
    ("activation", str),
    ("seed", int),
    ("status", str),
    ("history", dict),
)


def check_results(path: Path, payload: dict[str, Any]) -> None:
    """Raise :class:`RunDirError` unless ``payload`` has the shape of ``results.json``
    where the runner, the analysis and the report read it (``docs/results-schema.md``)."""
    schema = payload.get("schema")
    if schema is None:
        raise RunDirError(f"{path}: has no schema: not an actlab results file")
    if schema not in READABLE_SCHEMAS:
        raise RunDirError(
            f"{path}: has schema {one_line(schema, 60)!r}; this actlab reads "
            f"{', '.join(READABLE_SCHEMAS)} (another actlab wrote it)"
        )
    for key in ("config", "data", "environment", "costs", "analysis"):
        require(path, payload, key, dict, optional=True)
    for name, group in require(path, payload, "groups", dict).items():
        if not isinstance(group, dict) or not isinstance(group.get("status", ""), str):
            raise RunDirError(f"{path}: group {one_line(name, 60)!r} is not a valid group")
    for i, cand in enumerate(require(path, payload, "candidates", list)):
        if not isinstance(cand, dict):
            raise RunDirError(f"{path}: candidate {i} holds {describe(cand)}, not an object")
        for key, kind in _CANDIDATE_FIELDS:
            value = cand.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise RunDirError(f"{path}: candidate {i} has no valid {key!r}")
        for key in ("test_metric", "test_loss"):
            value = cand.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise RunDirError(f"{path}: candidate {i}'s {key!r} holds {describe(value)}")
        for key, values in cand["history"].items():
            if not isinstance(values, list):
                raise RunDirError(
                    f"{path}: candidate {i}'s history {one_line(key, 60)!r} is not a list"
                )


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
        return self.path / "checkpoints" / f"{file_stem(group)}{CHECKPOINT_SUFFIX}"

    def lock(self) -> RunLock:
        """The directory's writer lock, a context manager (:mod:`actlab.store.lock`)."""
        return RunLock(self.path)

    def remove_leftovers(self) -> None:
        """Delete temporary files of writers killed mid-write (hold the lock)."""
        remove_leftovers(self.path)
        remove_leftovers(self.path / "checkpoints")

    def exists(self) -> bool:
        """Whether the directory holds a run (its ``config.json``, whatever shape it has)."""
        return self.config_path.exists() or self.config_path.is_symlink()

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
        return read_json_object(self.config_path)

    def read_environment(self) -> dict[str, Any]:
        return read_json_object(self.path / "environment.json")

    def read_results(self) -> dict[str, Any] | None:
        """The results so far, or None before the first group finished. A file of another
        shape or schema is a :class:`RunDirError` (and so is never overwritten)."""
        path = self.results_path
        if not (path.exists() or path.is_symlink()):
            return None
        payload = read_json_object(path)
        check_results(path, payload)
        return payload

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.results_path, {"schema": RESULTS_SCHEMA, **results})

    def save_checkpoint(self, group: str, state: Any) -> None:
        """Store ``state`` (nested dict / list / tuple / str / int / float / bool / None and
        tensors) as ``group``'s checkpoint, durably (:mod:`actlab.store.checkpoint`)."""
        write_checkpoint(self.checkpoint_path(group), state)

    def load_checkpoint(self, group: str) -> Any | None:
        """``group``'s checkpoint state, or None when it has none. Anything that is not a
        checkpoint this actlab wrote (a pickle from an older version, a corrupt file)
        raises :class:`CheckpointError` naming the file; nothing in it is executed."""
        legacy = self.path / "checkpoints" / f"{file_stem(group)}.pt"
        if legacy.exists() or legacy.is_symlink():
            raise CheckpointError(
                f"{legacy}: a pickle checkpoint of an older actlab, which is never loaded "
                "because unpickling can run code; delete it to restart that group from its "
                "first epoch"
            )
        path = self.checkpoint_path(group)
        if not (path.exists() or path.is_symlink()):
            return None
        return read_checkpoint(path)

    def restore_checkpoint(self, group: str, restore: Callable[[Any], None]) -> bool:
        """Hand ``group``'s checkpoint to ``restore`` (e.g. a trainer's ``load_state_dict``);
        False when there is none. A checkpoint that ``restore`` rejects (another group's
        state, a hand-edited file) raises :class:`CheckpointError` naming the file."""
        state = self.load_checkpoint(group)
        if state is None:
            return False
        try:
            restore(state)
        except Exception as exc:
            raise CheckpointError(
                f"{self.checkpoint_path(group)}: does not fit group {group!r} of this run "
                f"({one_line(exc)}); delete it to restart that group from its first epoch"
            ) from None
        return True

    def drop_checkpoint(self, group: str) -> None:
        path = self.checkpoint_path(group)
        path.unlink(missing_ok=True)
        if path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()
