"""The catalog commands stay light: ``actlab list`` and ``actlab show`` (and every
command's ``--help``) run without torch, scipy, matplotlib, scikit-learn or pandas; a
compare with a fixed number of seeds never imports scipy (the analysis has its own special
functions), ``torch._dynamo``, sympy or scikit-learn, and its analysis and report run with
scipy blocked.

Each command runs in a fresh interpreter whose import system refuses those packages and
records every attempt to import them; the test fails on any attempt, even one the code
would have survived (an optional ``try: import torch``). A control run (``actlab plot``,
which needs matplotlib) shows that the blocker does block.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "scipy", "matplotlib", "sklearn", "pandas", "keras", "tensorflow", "jax")

BLOCKER = """
import importlib.abc, json, sys

HEAVY = set(sys.argv[1].split(","))
attempts = []

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            attempts.append(name)
            raise ImportError(f"import of {name} blocked by the test")
        return None

sys.meta_path.insert(0, Blocker())
from actlab.cli import main

try:
    code = main(sys.argv[3:])
finally:
    with open(sys.argv[2], "w") as f:
        json.dump(sorted(set(attempts)), f)
sys.exit(code)
"""


def _run_blocked(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    record = tmp_path / "attempts.json"
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER, ",".join(HEAVY), str(record), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, json.loads(record.read_text())


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["list", "--json"],
        ["show", "selu"],
        ["show", "LeakyReLU(negative_slope=0.2)", "--json"],
        ["show", "gelu"],
        ["show", "swiglu"],
        ["show", "xielu"],
    ],
)
def test_catalog_commands_import_no_heavy_package(tmp_path: Path, args: list[str]) -> None:
    done, attempts = _run_blocked(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert attempts == []
    assert done.stdout.strip()


@pytest.mark.parametrize(
    "command", ["", "compare", "report", "sweep", "diagnose", "bench", "plot", "list", "show"]
)
def test_help_imports_no_heavy_package(tmp_path: Path, command: str) -> None:
    done, attempts = _run_blocked(tmp_path, *([command] if command else []), "--help")
    assert done.returncode == 0, done.stderr
    assert attempts == []
    assert "Usage: actlab" in done.stdout


def test_a_usage_error_of_show_imports_no_heavy_package(tmp_path: Path) -> None:
    done, attempts = _run_blocked(tmp_path, "show", "lekyrelu")
    assert done.returncode == 2
    assert done.stderr.startswith("actlab: error: unknown activation")
    assert attempts == []


def test_the_blocker_blocks(tmp_path: Path) -> None:
    done, attempts = _run_blocked(tmp_path, "plot", "relu", "-o", str(tmp_path / "relu.png"))
    assert done.returncode != 0
    assert "matplotlib" in attempts
    assert not (tmp_path / "relu.png").exists()


CATALOG_WITHOUT_TORCH = """
import importlib.abc, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in set(sys.argv[1].split(",")):
            raise ImportError(f"import of {name} blocked by the test")
        return None

sys.meta_path.insert(0, Blocker())
import numpy as np
import actlab

x = np.linspace(-3, 3, 8).reshape(2, 4)
for name in actlab.names():
    act = actlab.get(name)
    y = act(x)
    if act.is_gated:
        act.gated(x, x), act.gated_partials(x, x)
    if act.is_vector:
        act.jvp(x, np.ones_like(x))
    else:
        act.derivative(x)
    assert np.isfinite(y).all(), name
print(len(actlab.names()))
"""


def test_every_catalog_entry_evaluates_without_torch() -> None:
    """``import actlab`` and every entry's forward, derivative or JVP run with the heavy
    packages blocked: the catalog is numpy only."""
    done = subprocess.run(
        [sys.executable, "-c", CATALOG_WITHOUT_TORCH, ",".join(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 41


RECORDER = """
import importlib.abc, sys

WATCHED = set(sys.argv[1].split(","))

class Recorder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in WATCHED or name.split(".")[0] in WATCHED:
            print(f"IMPORT {name}", file=sys.stderr, flush=True)
        return None

sys.meta_path.insert(0, Recorder())
from actlab.cli import main

code = main(sys.argv[2:])
for name in sorted(sys.modules):
    if name in WATCHED or name.split(".")[0] in WATCHED:
        print(f"LOADED {name}", file=sys.stderr)
sys.exit(code)
"""
"""Runs ``actlab ARGS`` and writes ``IMPORT name`` to stderr, in order among the command's
own stderr lines (its progress), whenever a watched package is first looked up, and at
the end ``LOADED name`` for each watched module that was imported (a lookup alone, e.g.
``importlib.util.find_spec``, imports nothing)."""

NEVER_ON_THE_COMPARE_PATH = ("torch._dynamo", "sympy", "sklearn", "scipy")
"""What a compare on digits must not import: ``torch._dynamo`` (~2 s; ``torch.optim``'s
``Optimizer`` imports it, so the engine steps the fused kernels itself), sympy (~0.3 s;
torch's ``grad_outputs`` check imports it), scikit-learn (~0.6 s; the digits are read
from its data file) and scipy (~0.2 s for ``scipy.special`` alone; the analysis' normal,
t and noncentral-t functions are :mod:`actlab.analysis.special`, its one root
:func:`actlab.analysis.roots.brentq`)."""


def _recorded(
    *args: str, watched: tuple[str, ...]
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", RECORDER, ",".join(watched), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done, done.stderr.splitlines()


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A small compare (relu, tanh, swiglu; 3 seeds, 2 epochs) with the import recorder:
    its run directory and the recorder's lines."""
    run = tmp_path_factory.mktemp("compare") / "run"
    done, lines = _recorded(
        "compare",
        "--out",
        str(run),
        "--epochs",
        "2",
        "--seeds",
        "3",
        "--activations",
        "relu,tanh,swiglu",
        watched=(*NEVER_ON_THE_COMPARE_PATH, "torch"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return run, lines


def test_a_compare_imports_neither_scipy_nor_dynamo_sympy_sklearn(
    compared: tuple[Path, list[str]],
) -> None:
    """The whole default path (data, cost measurement, training with probes, checkpoints,
    analysis, report) on a small run imports none of them; torch shows that the recorder
    records."""
    run, lines = compared
    loaded = [line.removeprefix("LOADED ") for line in lines if line.startswith("LOADED ")]
    assert "torch" in loaded
    assert not [m for m in loaded if m.startswith(NEVER_ON_THE_COMPARE_PATH)]
    assert not [line for line in lines if line.startswith("IMPORT scipy")]
    assert (run / "report.html").exists()


ANALYSIS_WITHOUT_SCIPY = """
import importlib.abc, json, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "scipy":
            raise ImportError(f"import of {name} blocked by the test")
        return None

sys.meta_path.insert(0, Blocker())
from actlab.comparison import load
from actlab.report.html import write_report

from actlab.analysis.sequential import Design, local_levels

result = load(sys.argv[1])
analysis = result.analysis()
write_report(result, sys.argv[2])
local_levels([1e-4, 0.02], Design.auto().times, 2)  # --seeds auto: the level table
try:
    import scipy.special
except ImportError:
    blocked = True
else:
    blocked = False
print(json.dumps({"blocked": blocked, "groups": len(analysis["groups"])}))
"""


def test_the_analysis_and_report_of_a_run_need_no_scipy(
    compared: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """Loading the finished run, its analysis (verdicts, intervals, power notes), its
    report and the local levels of a ``--seeds auto`` design, in an interpreter that
    refuses scipy; the same interpreter's own ``import scipy.special`` fails, so the
    blocker blocks."""
    run, _ = compared
    done = subprocess.run(
        [sys.executable, "-c", ANALYSIS_WITHOUT_SCIPY, str(run), str(tmp_path / "r.html")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"blocked": True, "groups": 1}
    assert (tmp_path / "r.html").stat().st_size > 0
