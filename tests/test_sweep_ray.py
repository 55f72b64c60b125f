"""The Ray executor on a real local Ray cluster (loopback only), stopped at the end."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from actlab.sweep import sweep
from test_sweep import _StopAfter  # a progress sink that interrupts the driver

ray = pytest.importorskip("ray")

# One cluster at a time: the kill test must only ever see this module's workers
# (`make test` runs pytest-xdist with --dist loadfile, so this file runs in one worker).

SMALL = {
    "datasets": ["iris", "moons(n=120, noise=0.2)"],
    "activations": ["relu", "tanh", "elu(alpha=0.5)"],
    "seeds": 2,
    "epochs": 2,
    "model": {"kind": "mlp", "depths": [1, 2], "width": 8},
    "optimizer": {"name": "adam", "lr": 1e-2, "batch_size": 32},
}
LONG = {
    "datasets": ["digits"],
    "activations": ["relu", "tanh"],
    "seeds": 2,
    "epochs": 40,
    "model": {"kind": "mlp", "depths": [2], "width": 32},
    "optimizer": {"name": "adam", "lr": 1e-3, "batch_size": 64},
}


@pytest.fixture(scope="module")
def cluster():
    """A private two-CPU Ray cluster on 127.0.0.1, shut down even if a test fails."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        yield
    finally:
        ray.shutdown()


def _task_processes_running(grace_s: float = 1.0) -> list[int]:
    """Pids of Ray task processes still running (not zombies), after up to ``grace_s``: a
    force-cancelled task's worker is killed, and its pid lingers as a zombie until the
    raylet reaps it, which pgrep alone counts as alive (a failure on main). The grace is
    short: an orphan still training (the bug this guards) runs for seconds."""
    deadline = time.monotonic() + grace_s
    while True:
        found = subprocess.run(["pgrep", "-f", "ray::_task"], capture_output=True, text=True)
        running = [pid for pid in map(int, found.stdout.split()) if _running(pid)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _metrics(result) -> dict:
    return {
        (key, c.activation, c.seed): c.test_metric
        for key, res in result.results.items()
        for c in res.candidates
    }


def test_ray_results_equal_the_local_executor(cluster, tmp_path: Path) -> None:
    local = sweep(SMALL, tmp_path / "local", workers=1)
    remote = sweep(SMALL, tmp_path / "ray", ray="auto")
    assert set(remote.outcomes.values()) == {"trained"}
    assert _metrics(remote) == pytest.approx(_metrics(local), abs=1e-6)
    assert (tmp_path / "ray" / "report.html").is_file()


def test_a_killed_worker_is_retried_and_the_group_resumes(cluster, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    killed: list[str] = []

    def kill_first_worker_after_a_checkpoint() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            if any(out.glob("groups/*/checkpoints/*.safetensors")):
                proc = subprocess.run(["pkill", "-9", "-f", "ray::_task"], check=False)
                if proc.returncode == 0:
                    killed.append("killed")
            time.sleep(0.005)

    killer = threading.Thread(target=kill_first_worker_after_a_checkpoint, daemon=True)
    killer.start()
    result = sweep(LONG, out, ray="auto")
    killer.join(timeout=1)
    assert killed, "the test never caught a worker mid-task"
    assert list(result.outcomes.values()) == ["resumed"]  # retried from its checkpoint
    reference = sweep(LONG, tmp_path / "local", workers=1)
    assert _metrics(result) == pytest.approx(_metrics(reference), abs=1e-6)


def test_rerun_after_the_driver_dies_skips_finished_groups(cluster, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    with pytest.raises(KeyboardInterrupt):
        sweep(SMALL, out, ray="auto", progress=_StopAfter(1))
    # The stopped driver waited for its cancelled tasks: none is left writing.
    assert _task_processes_running() == []
    rerun = sweep(SMALL, out, ray="auto")
    assert "skipped" in rerun.outcomes.values()
    assert len(rerun.results) == 4 and all(r.candidates for r in rerun.results.values())
