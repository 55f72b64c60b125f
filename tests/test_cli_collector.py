"""The garbage collector around a command that is its process's own
(:mod:`actlab.cli.collector`): the heavy imports are not scanned by full collections, then
or later, and the interpreter's shutdown finds nothing to scan; a command run inside
another program (``main(argv)``) leaves the collector alone."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from actlab.cli import main
from actlab.cli.collector import paused_for_imports


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Give the test process its collector back as it was."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_paused_for_imports_collects_first_pauses_then_freezes_what_was_made(
    unfrozen: None,
) -> None:
    before = _Cycle()
    dead = weakref.ref(before)
    del before
    frozen = gc.get_freeze_count()
    with paused_for_imports(True):
        assert dead() is None  # the garbage there was is collected before the freeze
        assert not gc.isenabled()
        made = [[i] for i in range(5000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(made)
    tracked = {id(o) for o in gc.get_objects()}
    assert not any(id(m) in tracked for m in made)  # frozen: no collection scans them


def test_paused_for_imports_keeps_a_disabled_collector_disabled(unfrozen: None) -> None:
    gc.disable()
    with paused_for_imports(True):
        pass
    assert not gc.isenabled()


def test_not_the_own_process_leaves_the_collector_alone() -> None:
    frozen = gc.get_freeze_count()
    with paused_for_imports(False):
        assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
    assert main(["list"]) == 0  # main called with arguments: inside another program
    assert gc.get_freeze_count() == frozen


def test_the_own_process_freezes_before_exit(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["actlab", "list"])
    assert main() == 0
    assert gc.get_freeze_count() > 0
    assert len(gc.get_objects()) < gc.get_freeze_count() / 100


RECORDER = """
import gc, json, sys

scanned = []

def record(phase, info):
    if phase == "start" and info["generation"] == 2:
        scanned.append(len(gc.get_objects()))

gc.callbacks.append(record)
sys.argv = ["actlab", *sys.argv[2:]]
from actlab.cli import main

code = main()
with open(RECORD, "w") as f:
    json.dump({"scanned": scanned, "frozen": gc.get_freeze_count(),
               "left": len(gc.get_objects()), "code": code}, f)
"""


def test_a_compare_as_its_own_process_never_scans_its_imports(tmp_path: Path) -> None:
    """Every full collection of a whole (small) compare, the analysis and the report
    included, scans a small part of what the imports made; at the end nearly everything
    is frozen, so the shutdown scans nothing."""
    record = tmp_path / "gc.json"
    script = f"RECORD = {str(record)!r}\n" + RECORDER
    done = subprocess.run(
        [sys.executable, "-c", script, "--", "compare", "--out", str(tmp_path / "run"),
         "--epochs", "2", "--seeds", "3", "--activations", "relu,tanh"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(record.read_text())
    assert seen["code"] == 0
    assert seen["frozen"] > 100_000  # torch's modules, at least
    assert max(seen["scanned"], default=0) < seen["frozen"] / 4
    assert seen["left"] < seen["frozen"] / 100
