"""Run one script under each Keras 3 backend, one subprocess per backend, in parallel.

Keras picks its backend once per process, so a test comparing backends starts a fresh
interpreter per backend; each runs a script that checks many things at once and writes
its results as JSON. A backend whose package is not installed is skipped visibly, with
the package to install (a failure when the environment variable CI is set: CI installs
every backend).

The TensorFlow run has KERAS_BACKEND unset and an empty KERAS_HOME, so it also shows that
actlab leaves Keras' own choice alone: Keras' default backend is TensorFlow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ("tensorflow", "jax", "torch")
PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


@dataclass(frozen=True)
class BackendRun:
    """What one backend's script wrote (``result``), or why it did not run (``missing``)."""

    backend: str
    result: dict[str, Any] | None = None
    missing: str = ""

    def get(self) -> dict[str, Any]:
        """The result, or skip (fail under CI) the calling test with the reason."""
        if self.result is None:
            reason = f"Keras' {self.backend} backend: {self.missing}"
            if os.environ.get("CI"):
                pytest.fail(f"{reason}; CI must install it")
            pytest.skip(f"{reason} (set CI=1 to make this a failure)")
        return self.result


def installed(backend: str) -> bool:
    return importlib.util.find_spec(PACKAGES[backend]) is not None


def _env(backend: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["OMP_NUM_THREADS"] = "1"
    home.mkdir(parents=True, exist_ok=True)
    env["KERAS_HOME"] = str(home)  # no keras.json: Keras' built-in default
    if backend != "tensorflow":
        env["KERAS_BACKEND"] = backend
    return env


def run_per_backend(
    script: Path, workdir: Path, args: tuple[str, ...] = (), timeout: float = 600
) -> dict[str, BackendRun]:
    """Run ``python script OUT.json *args`` under every installed backend, concurrently."""
    procs: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    runs: dict[str, BackendRun] = {}
    for backend in BACKENDS:
        if not installed(backend):
            runs[backend] = BackendRun(backend, missing=f"pip install {PACKAGES[backend]}")
            continue
        out = workdir / f"{backend}.json"
        procs[backend] = (
            subprocess.Popen(
                [sys.executable, str(script), str(out), *args],
                env=_env(backend, workdir / f"home-{backend}"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
            out,
        )
    for backend, (proc, out) in procs.items():
        _, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"{backend} run failed:\n{stderr[-4000:]}"
        runs[backend] = BackendRun(backend, result=json.loads(out.read_text()))
    return runs
