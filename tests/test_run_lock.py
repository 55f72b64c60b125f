"""The run-directory lock: one writer at a time, who holds it in one line, stale locks of
dead processes taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

import actlab.store.lock as lock_module
from actlab.cli import main
from actlab.store import RunLock, RunLockedError
from unprivileged import run_unprivileged

HOLDER = textwrap.dedent(
    """
    import sys, time
    from actlab.store import RunLock
    lock = RunLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    time.sleep(120)
    """
)
READ_ONLY = textwrap.dedent(
    """
    import sys
    from actlab.store import RunDirError, RunLock
    for path in sys.argv[1:]:
        try:
            RunLock(path).acquire()
        except RunDirError as exc:
            print(f"RunDirError: {exc}")
    """
)


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of ``tmp_path / 'run'``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "run")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_writer_is_told_who_holds_the_lock(tmp_path, holder):
    with pytest.raises(RunLockedError) as err:
        RunLock(tmp_path / "run").acquire()
    message = str(err.value)
    assert "\n" not in message
    assert f"pid {holder.pid} on {socket.gethostname()}" in message and "since" in message


def test_a_lock_left_by_a_killed_process_is_stale_and_taken_over(tmp_path, holder):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    lock_file = tmp_path / "run" / "actlab.lock"
    assert json.loads(lock_file.read_text())["pid"] == holder.pid  # left behind
    with RunLock(tmp_path / "run") as lock:
        assert lock.holder()["pid"] == os.getpid()
    assert not lock_file.exists()


def test_the_same_process_cannot_take_it_twice_and_release_cleans_up(tmp_path):
    run = tmp_path / "new" / "run"
    with RunLock(run):
        assert (run / "actlab.lock").is_file()
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            RunLock(run).acquire()
    assert not run.exists()  # created for the lock, empty again: removed
    existing = tmp_path / "existing"
    existing.mkdir()
    with RunLock(existing):
        pass
    assert existing.is_dir() and list(existing.iterdir()) == []


def test_without_flock_the_pid_and_host_decide(tmp_path, monkeypatch):
    monkeypatch.setattr(lock_module, "fcntl", None)
    run = tmp_path / "run"
    run.mkdir()
    lock_file = run / "actlab.lock"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    lock_file.write_text(json.dumps({"pid": dead.pid, "host": host, "since": "then"}))
    with RunLock(run):  # a dead pid on this host: stale
        assert json.loads(lock_file.read_text())["pid"] == os.getpid()
    lock_file.write_text(json.dumps({"pid": os.getppid(), "host": host, "since": "then"}))
    with pytest.raises(RunLockedError, match="wait for it"):
        RunLock(run).acquire()
    lock_file.write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": "then"}))
    with pytest.raises(RunLockedError, match="if that process is gone, delete"):
        RunLock(run).acquire()


def test_a_read_only_directory_is_one_line(tmp_path):
    tmp_path.chmod(0o555)
    try:
        done = run_unprivileged(
            [sys.executable, "-c", READ_ONLY, str(tmp_path / "run"), str(tmp_path)]
        )
    finally:
        tmp_path.chmod(0o755)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.strip().splitlines()
    assert first.startswith(f"RunDirError: {tmp_path / 'run'}: cannot create it")
    assert second.startswith(f"RunDirError: {tmp_path / 'actlab.lock'}: cannot create the lock")


def test_compare_into_a_held_directory_exits_2_with_one_line(tmp_path, holder, capsys):
    code = main(
        [
            "compare",
            *("--data", "xor(n=40)", "--activations", "relu", "--seeds", "1"),
            *("--epochs", "1", "--hidden", "2", "--out", str(tmp_path / "run")),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and f"pid {holder.pid}" in err
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["actlab.lock"]
