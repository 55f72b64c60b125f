"""Run sweep groups: each group is one :func:`run_comparison` in its own run directory.

A group's directory ``DIR/groups/<dataset>__<shape>/`` is an ordinary compare run
directory, so the compare machinery gives the guarantees: a group whose ``results.json``
marks its shape done is finished and never retrained; a group with a ``config.json`` but
no finished result was interrupted and continues from its last checkpoint
(``run_comparison(..., resume=True)``, bit-for-bit the same continuation).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from actlab.comparison.runner import run_comparison
from actlab.store import RunDir
from actlab.store.interrupt import EXIT_TERMINATED, Terminated, terminate_like_interrupt
from actlab.sweep.grid import Group


@dataclass(frozen=True)
class GroupOutcome:
    """What happened to one group: ``trained`` from scratch, ``resumed`` from a checkpoint
    or an unfinished directory, or ``skipped`` because it had already finished."""

    key: str
    status: str


def group_finished(path: Path) -> bool:
    """True when the run directory at ``path`` holds a results.json with every group done."""
    groups = (RunDir(path).read_results() or {}).get("groups", {})
    return bool(groups) and all(g.get("status") == "done" for g in groups.values())


def run_group(group: Group, path: Path) -> GroupOutcome:
    """Train one group into ``path`` (skip it when finished, resume it when started)."""
    if group_finished(path):
        return GroupOutcome(group.key, "skipped")
    if RunDir(path).exists():
        run_comparison(group.config, path, resume=True, device=group.config.device, report=False)
        return GroupOutcome(group.key, "resumed")
    run_comparison(group.config, path, report=False)  # the sweep writes its own report
    return GroupOutcome(group.key, "trained")


ORPHAN_POLL_S = 1.0
"""How often a worker checks that the process that started it is still alive."""
ORPHAN_GRACE_S = 60.0
"""How long an orphaned worker may take to save its group before it exits regardless."""


def _exit_when_orphaned(parent: int) -> None:
    """Watch (in a daemon thread) for the parent's death: when the worker is re-parented,
    SIGTERM itself (the group's finished epochs are saved, its lock released) and, should
    that not end it within ORPHAN_GRACE_S, exit. A ``kill -9`` of ``actlab sweep`` left
    its spawn workers and their resource tracker running for good."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_GRACE_S)
        os._exit(EXIT_TERMINATED)

    threading.Thread(target=watch, name="actlab-orphan-watch", daemon=True).start()


def _worker_init(parent: int) -> None:
    """Worker initializer: one torch thread per process (N workers use N cores), Ctrl-C
    left to the parent while idle, and an exit when the parent dies."""
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_when_orphaned(parent)


def _run_in_worker(group: Group, path: Path) -> GroupOutcome:
    """:func:`run_group` in a worker process. While it trains, Ctrl-C and SIGTERM stop it
    the way they stop ``actlab compare`` (the group saves its finished epochs); after
    SIGTERM (the parent stopping it, or gone) the worker then exits instead of waiting
    for another task. Idle, SIGTERM ends a worker at once."""
    restore_terminate = terminate_like_interrupt()
    previous_interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run_group(group, path)
    except Terminated:
        os._exit(EXIT_TERMINATED)
    finally:
        signal.signal(signal.SIGINT, previous_interrupt)
        restore_terminate()


OnDone = Callable[[GroupOutcome], None]


class LocalExecutor:
    """Groups in parallel worker processes on this machine.

    ``workers`` defaults to the number of usable cores (capped at the number of groups);
    with one worker the groups run in this process, one after another. Workers are
    started with ``spawn`` (a clean interpreter each, no forked torch thread pools) and use
    one torch thread each; a worker whose parent dies saves its group and exits
    (:func:`_exit_when_orphaned`), and stopping the parent stops the workers the same way. ``on_done`` is called in this process as each group finishes,
    in completion order; if it raises, groups not yet started are cancelled and the
    exception propagates (finished groups stay finished on disk).
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise ValueError(f"workers={workers!r} must be a positive integer")
        self.workers = workers

    def _size(self, n_tasks: int) -> int:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        return max(1, min(self.workers or cores or os.cpu_count() or 1, n_tasks))

    def run(self, tasks: Sequence[tuple[Group, Path]], on_done: OnDone) -> None:
        """Run every ``(group, directory)`` task, calling ``on_done`` as each finishes."""
        if not tasks:
            return
        size = self._size(len(tasks))
        if size == 1:
            for group, path in tasks:
                on_done(run_group(group, path))
            return
        pool = cf.ProcessPoolExecutor(
            max_workers=size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        try:
            futures = [pool.submit(_run_in_worker, group, path) for group, path in tasks]
            for future in cf.as_completed(futures):
                on_done(future.result())
        except BaseException:
            # Stopping (Ctrl-C reaches the workers too; SIGTERM or an error does not):
            # ask every worker to save its group's finished epochs and stop, then wait.
            for process in list(getattr(pool, "_processes", {}).values()):
                if process.is_alive():
                    process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
