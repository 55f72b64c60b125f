"""Freed memory kept in the process while a stack trains on the CPU (glibc's malloc).

A stacked training step allocates and frees the same large blocks every step: the
activations and gradients of every candidate at once (the small CNN's 25 candidates at
batch 64: 13 MB per convolution output). glibc serves a block above its mmap threshold
with a fresh ``mmap`` and hands a freed heap top above its trim threshold back to the
kernel. Both thresholds adapt (the mmap threshold rises to the largest block freed, up to
32 MB, the trim threshold follows at twice that), but not far enough for a stack, so each
step faulted the same memory in again: about 7,000 page faults and 15 ms of kernel time
per step of the small CNN's stack, a fifth of the step (BENCHMARKS.md, "User models").

:func:`keep_freed_memory` sets the mmap threshold to glibc's largest (32 MB) and the trim
threshold to 256 MB, once, for the process (``mallopt``; the ``MALLOC_MMAP_THRESHOLD_``
and ``MALLOC_TRIM_THRESHOLD_`` environment variables, when set, win). Blocks over 32 MB
are still mapped per call. :func:`release_freed_memory` gives what is free back to the
kernel (``malloc_trim``) when a run ends. Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import os
import platform
from functools import cache
from typing import Any

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
"""glibc's largest mmap threshold on 64-bit systems (``HEAP_MAX_SIZE / 2``)."""
TRIM_THRESHOLD = 256 << 20
ENVIRONMENT = {
    M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_",
    M_TRIM_THRESHOLD: "MALLOC_TRIM_THRESHOLD_",
}


@cache
def _glibc() -> Any:
    """The C library when it is glibc, else ``None``."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("mallopt", "malloc_trim")):
        return None
    return libc


@cache
def keep_freed_memory() -> bool:
    """Set the thresholds (see the module docstring) unless the environment sets them;
    ``True`` when they are in force."""
    libc = _glibc()
    if libc is None:
        return False
    wanted = {M_MMAP_THRESHOLD: MMAP_THRESHOLD, M_TRIM_THRESHOLD: TRIM_THRESHOLD}
    if any(os.environ.get(name) for name in ENVIRONMENT.values()):
        return False
    return all(libc.mallopt(option, value) == 1 for option, value in wanted.items())


def release_freed_memory() -> None:
    """Hand the heap's free memory back to the kernel (glibc's ``malloc_trim(0)``)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
