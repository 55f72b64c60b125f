"""Sweeps beyond one machine: each group is one Ray task.

``RayExecutor(address)`` connects to a Ray cluster (``"auto"``: the one this machine
belongs to; ``"local"``: start a private one here; else ``"ray://host:port"`` or
``"host:port"``). Each group runs :func:`~actlab.sweep.executors.run_group` as a task
asking for one CPU, with ``max_retries=3``: when a worker process or node dies, Ray
reruns the task and the group resumes from its last checkpoint. Results stream
into the sweep directory as tasks finish, so a driver that dies loses nothing finished;
rerunning the same ``actlab sweep`` skips finished groups. The sweep directory must be on
a filesystem every node can write (NFS or similar) when the cluster has several nodes.

Needs ``pip install actlab[ray]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actlab.sweep.executors import GroupOutcome, OnDone, run_group
from actlab.sweep.grid import Group

MAX_RETRIES = 3
CANCEL_WAIT_S = 30.0  # how long a stopping driver waits for its cancelled tasks to end


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError("--ray needs Ray: pip install actlab[ray]") from exc
    return ray


def _task(group: Group, path: str) -> GroupOutcome:
    import torch

    torch.set_num_threads(1)
    return run_group(group, Path(path))


class RayExecutor:
    """Groups as Ray tasks (one CPU each, retried on worker failure)."""

    def __init__(self, address: str = "auto") -> None:
        if not address:
            raise ValueError("the Ray address must be 'auto', 'local' or host:port")
        self.address = address

    def run(self, tasks: Sequence[tuple[Group, Path]], on_done: OnDone) -> None:
        """Submit every ``(group, directory)`` task; call ``on_done`` as each finishes."""
        if not tasks:
            return
        ray = _ray()
        started_here = not ray.is_initialized()
        if started_here:
            address = None if self.address == "local" else self.address
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        try:
            remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_task)
            pending = [remote.remote(group, str(path.resolve())) for group, path in tasks]
            try:
                while pending:
                    ready, pending = ray.wait(pending, num_returns=1)
                    on_done(ray.get(ready[0]))
            except BaseException:
                # The driver is going away: stop its tasks so that no orphan keeps writing
                # into the sweep directory; a rerun resumes them from their checkpoints.
                # Cancelling is asynchronous, so wait (bounded) until the tasks are gone:
                # a rerun started right after must not train a group an orphan still holds.
                for ref in pending:
                    ray.cancel(ref, force=True)
                if pending:
                    ray.wait(pending, num_returns=len(pending), timeout=CANCEL_WAIT_S)
                raise
        finally:
            if started_here:
                ray.shutdown()
