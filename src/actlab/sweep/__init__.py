"""``actlab sweep``: compare activations over a grid of datasets x model shapes x seeds.

A sweep directory::

    DIR/
      grid.json                      the validated grid (a rerun must ask for the same one)
      sweep.json                     per-group status, rewritten as each group finishes
      groups/<dataset>__<shape>/     one compare run directory per group (resumable; its
                                     report.html on demand: actlab report DIR)
      analysis.json                  across-grid analysis (when every group is done)
      report.html                    self-contained report
      actlab.lock                    while a sweep runs in it (actlab.store.lock)

Rerunning the same command skips finished groups and resumes interrupted ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from actlab.comparison import CompareResult, load
from actlab.store import RunDirError, RunLock
from actlab.store.atomic import remove_leftovers, replace_atomically
from actlab.store.errors import one_line
from actlab.store.json_file import read_json_object
from actlab.store.lock import LOCK_NAME
from actlab.store.run_dir import write_json_atomic
from actlab.sweep.analysis import SweepAnalysis, analyze
from actlab.sweep.executors import GroupOutcome, LocalExecutor, group_finished
from actlab.sweep.grid import Grid, GridError, Group, load_grid
from actlab.sweep.report import render_report

if TYPE_CHECKING:
    from actlab.sweep.ray_executor import RayExecutor


class SweepProgress(Protocol):
    """What a sweep reports (the CLI's progress bar over groups)."""

    def started(self, total: int, finished: int) -> None: ...

    def group_done(self, outcome: GroupOutcome) -> None: ...


@dataclass
class SweepResult:
    """A finished sweep: the grid, each group's compare result, the analysis, the report."""

    grid: Grid
    path: Path
    groups: list[Group]
    results: dict[str, CompareResult]
    analysis: SweepAnalysis
    outcomes: dict[str, str]
    """Group key -> ``trained`` | ``resumed`` | ``skipped`` in this call."""

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"


def _stored_grid(path: Path) -> Grid:
    """The grid a sweep directory was started with; damage is a one-line RunDirError."""
    payload = read_json_object(path)
    try:
        return Grid.from_dict(payload)
    except (TypeError, ValueError) as exc:
        raise RunDirError(f"{path}: not a valid sweep grid ({one_line(exc)})") from None


def _check_same_grid(out: Path, grid: Grid) -> None:
    stored = out / "grid.json"
    if stored.exists() or stored.is_symlink():
        if _stored_grid(stored) != grid:
            raise GridError(
                f"{out} holds a sweep of a different grid; rerun that grid or choose another --out"
            )
    elif any(p.name != LOCK_NAME for p in out.iterdir()):
        raise GridError(f"{out} exists and is not a sweep directory; choose another --out")
    else:
        write_json_atomic(stored, grid.to_dict())


def sweep(
    grid: str | Path | Mapping[str, Any] | Grid,
    out: str | Path,
    *,
    workers: int | None = None,
    ray: str | None = None,
    device: str | None = None,
    progress: SweepProgress | None = None,
) -> SweepResult:
    """Train every group of ``grid`` (a TOML path, a mapping or a :class:`Grid`) into the
    sweep directory ``out``, then analyse and write ``analysis.json`` and ``report.html``.

    ``workers``: parallel worker processes (default: the usable cores); ``ray``: run each
    group as a Ray task on that cluster instead ("auto", "local" or an address; see
    :mod:`actlab.sweep.ray_executor`); ``device``: where each group trains (``"auto"``,
    ``"cpu"``, ``"cuda:N"``, ...; default auto). Groups already
    finished in ``out`` are skipped; interrupted ones resume from their checkpoints.
    """
    grid = grid if isinstance(grid, Grid) else load_grid(grid)
    executor: LocalExecutor | RayExecutor
    if ray is not None:
        from actlab.sweep.ray_executor import RayExecutor

        executor = RayExecutor(ray)
    else:
        executor = LocalExecutor(workers)
    with RunLock(out):  # one process per sweep directory (its workers lock their groups)
        return _sweep(grid, Path(out), executor, device, progress)


def _sweep(
    grid: Grid,
    out: Path,
    executor: LocalExecutor | RayExecutor,
    device: str | None,
    progress: SweepProgress | None,
) -> SweepResult:
    remove_leftovers(out)  # of a sweep killed mid-write
    _check_same_grid(out, grid)
    groups = grid.groups()
    paths = {g.key: out / "groups" / g.key for g in groups}
    statuses = {g.key: "done" if group_finished(paths[g.key]) else "pending" for g in groups}
    outcomes = {k: "skipped" for k, s in statuses.items() if s == "done"}
    write_json_atomic(out / "sweep.json", {"groups": statuses})
    if device is not None:
        from actlab.engine import resolve_device

        resolve_device(device)  # a device this machine lacks fails before any group runs
        groups = [
            dataclasses.replace(g, config=dataclasses.replace(g.config, device=device))
            for g in groups
        ]
    pending = [(g, paths[g.key]) for g in groups if statuses[g.key] == "pending"]
    if progress is not None:
        progress.started(len(groups), len(groups) - len(pending))

    def on_done(outcome: GroupOutcome) -> None:
        statuses[outcome.key] = "done"
        outcomes[outcome.key] = outcome.status
        write_json_atomic(out / "sweep.json", {"groups": statuses})
        if progress is not None:
            progress.group_done(outcome)

    executor.run(pending, on_done)
    results = {g.key: load(paths[g.key]) for g in groups}
    analysis = analyze(groups, results)
    write_json_atomic(out / "analysis.json", analysis.to_dict())
    page = render_report(grid, analysis, statuses)
    replace_atomically(out / "report.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return SweepResult(grid, out, groups, results, analysis, outcomes)


__all__ = [
    "Grid",
    "GridError",
    "Group",
    "GroupOutcome",
    "LocalExecutor",
    "SweepAnalysis",
    "SweepProgress",
    "SweepResult",
    "load_grid",
    "sweep",
]
