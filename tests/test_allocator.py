"""The trainer's CPU allocator setting (actlab.engine.allocator): a step's large blocks,
freed and allocated again, stay in the process instead of being faulted in anew."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[1] / "src" / "actlab" / "engine" / "allocator.py"
STEPS = """
import importlib.util, resource, sys
spec = importlib.util.spec_from_file_location("allocator", sys.argv[2])
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)  # the module alone: no torch to import
print(allocator.keep_freed_memory() if sys.argv[1] == "keep" else None)

def step():  # a stacked step's pattern: several 13 MB blocks, written, all freed
    blocks = [bytearray(13 << 20) for _ in range(4)]
    del blocks

step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str, **env: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", STEPS, mode, str(MODULE)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    setting, count = done.stdout.split()
    return setting, int(count)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_freed_blocks_stay_in_the_process_and_the_environment_wins() -> None:
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        os.environ.pop(name, None)
    setting, kept = faults("keep")
    _, default = faults("default")
    assert setting == "True"
    assert default > 5 * 4 * 3000 // 2  # most of the blocks' pages faulted in every step
    assert kept < default / 20
    assert faults("keep", MALLOC_TRIM_THRESHOLD_="1000000")[0] == "False"
