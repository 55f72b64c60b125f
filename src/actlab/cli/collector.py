"""Python's cyclic garbage collector around a command that is its process's own (the
``actlab`` console script, ``python -m actlab.cli``; not :func:`actlab.cli.main` called
with arguments inside another program).

A full collection (generation 2) scans every object the collector tracks. A compare's
imports (torch above all) leave ~170,000 of them, all alive until the process ends, and
scanning them takes ~60 ms here: the collector did so three times during torch's import,
again in the middle of training (a checkpoint's encoding), and the interpreter's shutdown
collects module by module (~0.3 s of a 7 s compare, after its last output). So:

* :func:`paused_for_imports`: a command's heavy imports run after one collection of what
  is there (cheap before torch) with the collector paused, and what they created is then
  frozen (``gc.freeze``: moved to the permanent generation, never scanned again; freed as
  usual when its reference count drops). Any garbage cycle made during the imports stays
  until the process ends.
* :func:`before_exit`: when the command is done, everything left is frozen, so the
  shutdown's collections scan nothing. The shutdown still runs ``atexit`` handlers and
  flushes the standard streams; objects in reference cycles are not finalized, and every
  file the command writes is closed (and synced) before it returns.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import click

OWN_PROCESS = "own_process"
"""The key of the click context's ``obj`` that says whether the command is its process's
own (set by :func:`actlab.cli.main`)."""


def own_process() -> bool:
    """Whether the running click command is its process's own (False when run otherwise,
    e.g. by click's test runner)."""
    return bool((click.get_current_context().obj or {}).get(OWN_PROCESS))


@contextmanager
def paused_for_imports(own_process: bool) -> Iterator[None]:
    """Around a command's heavy imports: see the module docstring (nothing unless
    ``own_process``)."""
    if not own_process:
        yield
        return
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def before_exit(own_process: bool) -> None:
    """Freeze every tracked object when ``own_process`` (the process ends next)."""
    if own_process:
        gc.freeze()
