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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from actlab.comparison.runner import run_comparison
from actlab.store import RunDir
from actlab.sweep.grid import Group


@dataclass(frozen=True)
class GroupOutcome:
    """What happened to one group: ``trained`` from scratch, ``resumed`` from a checkpoint
    or an unfinished directory, or ``skipped`` because it had already finished."""

    key: str
    status: str


def group_finished(path: Path) -> bool:
    """True when the run directory at ``path`` holds a results.json with every group done."""
    results = RunDir(path).read_results() if (path / "results.json").is_file() else None
    groups = (results or {}).get("groups", {})
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


def _single_thread() -> None:
    """Worker initializer: one torch thread per process, so N workers use N cores."""
    import torch

    torch.set_num_threads(1)


OnDone = Callable[[GroupOutcome], None]


class LocalExecutor:
    """Groups in parallel worker processes on this machine.

    ``workers`` defaults to the number of usable cores (capped at the number of groups);
    with one worker the groups run in this process, one after another. Workers are
    started with ``spawn`` (a clean interpreter each, no forked torch thread pools) and use
    one torch thread each. ``on_done`` is called in this process as each group finishes,
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
            initializer=_single_thread,
        )
        try:
            futures = [pool.submit(run_group, group, path) for group, path in tasks]
            for future in cf.as_completed(futures):
                on_done(future.result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
