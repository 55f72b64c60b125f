"""Fault injection: runs killed at random points (between epochs, and inside every phase of
a file write), every file of a run directory damaged, concurrent writers, read-only
locations, SIGTERM and Ctrl-C, and a sweep whose parent is killed. Each fault ends in the
uninterrupted result after a resume, or in one line naming the file with exit status 2,
and nothing already written is overwritten.

Kills run in forked children (``os._exit``: no cleanup, like ``kill -9``) so that dozens
of them cost no interpreter start-ups; the signal tests use real processes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import actlab.comparison.runner as runner
from actlab.cli import main
from actlab.comparison import CompareConfig
from actlab.comparison.cost import activation_costs
from actlab.comparison.runner import run_comparison
from actlab.store import RunDir, RunLock, RunLockedError
from actlab.store.run_dir import json_safe
from unprivileged import run_unprivileged

CONFIG = CompareConfig(
    data="xor(n=120)",
    activations=("relu", "tanh"),
    seeds=(0, 1),
    epochs=4,
    hidden=(4,),
    depths=(1, 2),
    batch_size=16,
)
GROUPS = ("mlp-depth1-width4", "mlp-depth2-width4")
KILLED = 137


@pytest.fixture(autouse=True)
def cheap_costs(monkeypatch):
    """The cost measurement is not under test here; a small one keeps the suite fast."""
    monkeypatch.setattr(
        runner,
        "activation_costs",
        lambda specs: activation_costs(specs, numel=256, min_rounds=1, max_rounds=1),
    )


def _strip(candidates):
    """Records as results.json stores them (a run's typed results or the file's own),
    without the epoch times."""
    out = []
    for c in candidates:
        c = json.loads(json.dumps(json_safe(c if isinstance(c, dict) else c.to_dict())))
        c["history"].pop("epoch_time")
        out.append(c)
    return sorted(out, key=lambda c: (c["group"], c["activation"], c["seed"]))


@pytest.fixture(scope="module")
def reference():
    """The uninterrupted result every faulty run must end in."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            runner,
            "activation_costs",
            lambda s: activation_costs(s, numel=256, min_rounds=1, max_rounds=1),
        )
        return _strip(run_comparison(CONFIG).candidates)


def _in_child(work) -> int:
    """Run ``work()`` in a forked child; its exit status (KILLED when it killed itself)."""
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        code = 0
        try:
            torch.set_num_threads(1)
            work()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class _KillAt:
    """Kill the process (``os._exit``, no cleanup) at the ``n``-th event of ``phase``:

    * ``epoch``: after an epoch is reported;
    * ``mid-write``: a temporary file half written (truncated at its fsync);
    * ``before-replace``: the temporary file complete, not yet moved into place;
    * ``after-replace``: moved into place, the directory not yet flushed.
    """

    def __init__(self, phase: str, n: int) -> None:
        self.phase, self.n, self.seen = phase, n, 0

    def _tick(self, phase: str) -> bool:
        if phase == self.phase:
            self.seen += 1
        return phase == self.phase and self.seen == self.n

    def group_started(self, group, total_epochs, done_epochs):
        pass

    def epoch_done(self, group, epoch, summary):
        if self._tick("epoch"):
            os._exit(KILLED)

    def install(self) -> None:
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd):
            is_dir = os.path.isdir(f"/proc/self/fd/{fd}")
            if not is_dir and self._tick("mid-write"):
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                os._exit(KILLED)
            if is_dir and self._tick("after-replace"):
                os._exit(KILLED)
            real_fsync(fd)

        def replace(src, dst):
            if self._tick("before-replace"):
                os._exit(KILLED)
            real_replace(src, dst)

        os.fsync, os.replace = fsync, replace  # in the forked child only


def _finish(run: Path):
    """Resume (or start again, when the kill came before config.json existed)."""
    return run_comparison(CONFIG, run, resume=RunDir(run).exists())


KILL_POINTS = [("epoch", n) for n in random.Random(11).sample(range(1, 9), 3)] + [
    (phase, n)
    for phase in ("mid-write", "before-replace", "after-replace")
    for n in random.Random(f"kill-{phase}").sample(range(1, 6), 2)
]


@pytest.mark.parametrize(("phase", "n"), KILL_POINTS)
def test_a_run_killed_at_any_point_resumes_to_the_uninterrupted_result(
    tmp_path, reference, phase, n
):
    run = tmp_path / "run"
    killer = _KillAt(phase, n)

    def work():
        killer.install()
        run_comparison(CONFIG, run, progress=killer)

    assert _in_child(work) == KILLED
    # Kill the resumed run again at the same point: faults may repeat.
    assert _in_child(lambda: (killer.install(), _finish(run))) in (KILLED, 0)
    result = _finish(run)
    assert _strip(result.candidates) == reference
    leftovers = [p.name for p in run.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == [] and not (run / "checkpoints").exists()


# --- every file of a run directory damaged --------------------------------------------


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory):
    """A run stopped after its first group and one epoch of the second: config.json,
    environment.json, results.json, a checkpoint."""
    run = tmp_path_factory.mktemp("unfinished") / "run"
    killer = _KillAt("epoch", 5)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            runner,
            "activation_costs",
            lambda s: activation_costs(s, numel=256, min_rounds=1, max_rounds=1),
        )
        assert _in_child(lambda: run_comparison(CONFIG, run, progress=killer)) == KILLED
    assert (run / "checkpoints" / f"{GROUPS[1]}.safetensors").is_file()
    return run


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes() if path.is_file() else b""
    if how == "directory":
        path.unlink()
        path.mkdir()
        return
    path.write_bytes(
        {
            "empty": b"",
            "truncated": data[: len(data) // 2],
            "garbage": bytes(random.Random(0).randrange(256) for _ in range(300)),
            "not utf-8": b"\xff\xfe{}",
            "array": b"[]",
            "other schema": b'{"schema": "actlab.results/99", "groups": {}, "candidates": []}',
            "wrong types": b'{"schema": "actlab.results/1", "groups": [], "candidates": {}}',
            "bad config": b'{"epochs": "many", "activations": ["relu"]}',
        }[how]
    )


DAMAGES = (
    [
        ("config.json", how)
        for how in (
            "empty",
            "truncated",
            "garbage",
            "not utf-8",
            "array",
            "directory",
            "bad config",
        )
    ]
    + [("environment.json", how) for how in ("empty", "garbage", "array", "directory")]
    + [
        ("results.json", how)
        for how in (
            "empty",
            "truncated",
            "garbage",
            "array",
            "other schema",
            "wrong types",
            "directory",
        )
    ]
    + [
        (f"checkpoints/{GROUPS[1]}.safetensors", how)
        for how in ("empty", "truncated", "garbage", "directory")
    ]
)


def _snapshot(run: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(run)): p.read_bytes() if p.is_file() else None
        for p in sorted(run.rglob("*"))
        if p.name != "actlab.lock"
    }


@pytest.mark.parametrize(("name", "how"), DAMAGES)
def test_a_damaged_file_is_one_line_naming_it_and_nothing_is_overwritten(
    tmp_path, capsys, unfinished, name, how
):
    run = tmp_path / "run"
    shutil.copytree(unfinished, run)
    _damage(run / name, how)
    before = _snapshot(run)
    commands = [["compare", "--resume", str(run)]]
    if name in ("config.json", "results.json"):
        commands.append(["report", str(run)])
    for command in commands:
        capsys.readouterr()
        assert main(command) == 2, command
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and str(run / name) in err, err
        assert "Traceback" not in err
    assert _snapshot(run) == before


def test_a_damaged_lock_file_does_not_block_and_a_report_html_directory_is_one_line(
    tmp_path, capsys, reference, unfinished
):
    run = tmp_path / "run"
    shutil.copytree(unfinished, run)
    (run / "actlab.lock").write_bytes(b"\x00garbage")  # the flock decides, not the content
    (run / "report.html").mkdir()
    assert main(["compare", "--resume", str(run)]) == 2
    err = capsys.readouterr().err.strip()  # progress lines, then the error
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"actlab: error: {run / 'report.html'}: cannot write")
    results = json.loads((run / "results.json").read_text())  # the training was kept
    assert _strip(results["candidates"]) == reference


# --- concurrent writers, read-only locations -----------------------------------------


def test_a_second_writer_is_refused_while_the_first_finishes(tmp_path, capsys, reference):
    run = tmp_path / "run"
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()

    class Pause:
        def group_started(self, group, total_epochs, done_epochs):
            pass

        def epoch_done(self, group, epoch, summary):
            if epoch == 2 and group == GROUPS[0]:
                os.write(ready_w, b"1")  # training, lock held: let the other one try
                os.read(go_r, 1)

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            torch.set_num_threads(1)
            run_comparison(CONFIG, run, progress=Pause())
            code = 0
        finally:
            os._exit(code)
    os.read(ready_r, 1)
    assert main(["compare", "--resume", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"is in use by pid {pid}" in err and err.count("\n") == 0
    with pytest.raises(RunLockedError):
        run_comparison(CONFIG, run)
    os.write(go_w, b"1")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _strip(json.loads((run / "results.json").read_text())["candidates"]) == reference


def test_a_second_sweep_into_the_same_directory_is_refused(tmp_path):
    from actlab.sweep import sweep

    grid = {"datasets": ["xor(n=60)"], "activations": ["relu"], "seeds": 1, "epochs": 1}
    with RunLock(tmp_path / "sweep"), pytest.raises(RunLockedError, match="is in use by"):
        sweep(grid, tmp_path / "sweep", workers=1)


READ_ONLY = textwrap.dedent(
    """
    import sys
    from actlab.cli import main
    for args in (sys.argv[1:4], sys.argv[4:7], sys.argv[7:]):
        print(main(args), flush=True)
    """
)


def test_read_only_locations_are_one_line_errors(tmp_path, unfinished):
    parent = tmp_path / "ro"
    parent.mkdir()
    run = tmp_path / "run"
    shutil.copytree(unfinished, run)
    grid = tmp_path / "grid.toml"
    grid.write_text('datasets = ["xor(n=60)"]\nactivations = ["relu"]\nseeds = 1\nepochs = 1\n')
    for path in (parent, run, *run.rglob("*")):
        path.chmod(0o555 if path.is_dir() else 0o444)
    before = _snapshot(run)
    try:
        done = run_unprivileged(
            [
                sys.executable,
                "-c",
                READ_ONLY,
                *("compare", "--out", str(parent / "new")),
                *("compare", "--resume", str(run)),
                *("sweep", str(grid), "--out", str(parent / "sweep")),
            ]
        )
    finally:
        for path in (parent, run, *run.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert done.stdout.split() == ["2", "2", "2"], done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 3 and "Traceback" not in done.stderr
    assert str(parent / "new") in lines[0] and "Permission denied" in lines[0]
    assert f"{run / 'actlab.lock'}: cannot create the lock file" in lines[1]
    assert str(parent / "sweep") in lines[2]
    assert _snapshot(run) == before and list(parent.iterdir()) == []


# --- signals ------------------------------------------------------------------------


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _as_from_a_terminal() -> None:
    """In the child: Ctrl-C and SIGTERM as a terminal's shell leaves them (default action,
    not blocked). A test worker may pass on an ignored or blocked SIGINT, which an exec'd
    program inherits (and Python then rightly leaves ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _actlab(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "actlab.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        preexec_fn=_as_from_a_terminal,
    )


@pytest.fixture
def interactive_signals():
    """This process's Ctrl-C and SIGTERM as an interactive Python has them, whatever an
    earlier test in the same worker left behind; restored afterwards."""
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    yield
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    signal.signal(signal.SIGINT, handler)


@pytest.mark.slow
def test_sigterm_saves_every_finished_epoch_like_ctrl_c(tmp_path):
    run = tmp_path / "run"
    config = CompareConfig(
        data="xor(n=200)", activations=("relu", "tanh"), seeds=(0, 1), epochs=30, hidden=(16,)
    )
    proc = _actlab(
        "compare",
        *("--data", "xor(n=200)", "--activations", "relu,tanh", "--seeds", "2"),
        *("--epochs", "30", "--hidden", "16", "--out", str(run)),
    )
    seen = ""
    while "epoch 12/30" not in seen:  # progress lines every 3 epochs on a pipe
        line = proc.stderr.readline()
        assert line, proc.stderr.read()
        seen += line
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "finished work is saved" in err and "Traceback" not in err
    state = RunDir(run).load_checkpoint("mlp-16")
    assert state["epochs_done"] >= 12  # flushed now, not at the last amortized write
    resumed = run_comparison(config, run, resume=True)
    assert _strip(resumed.candidates) == _strip(run_comparison(config).candidates)


@pytest.mark.slow
def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    proc = _actlab("compare", "--data", "xor(n=60)", "--epochs", "1", "--out", str(tmp_path / "r"))
    maps = Path(f"/proc/{proc.pid}/maps")
    while "libtorch" not in maps.read_text():  # in main, importing torch for the command
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(
        ("actlab: interrupted", "interrupted")
    )


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_swallowed_on_its_way_is_still_reported(
    monkeypatch, capsys, interactive_signals, signum, status
):
    """Python raises a signal's KeyboardInterrupt at the next bytecode, which may be in a
    finalizer or a library's catch-all that swallows it (the start-up test above once
    ended with status 0 that way): the command then finishes, and says it was stopped."""

    def swallowing_run(argv):
        try:
            os.kill(os.getpid(), signum)
            time.sleep(1)  # the handler runs here and raises into the catch-all below
        except BaseException:  # what a careless library does
            pass
        return 0

    monkeypatch.setattr("actlab.cli._run", swallowing_run)
    assert main(["list"]) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(("actlab: interrupted", "actlab: terminated"))
    monkeypatch.setattr("actlab.cli._run", lambda argv: 0)
    assert main(["list"]) == 0  # the record starts afresh with each command
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_sweep_workers_exit_when_their_parent_is_killed(tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        'datasets = ["xor(n=600)", "moons(n=600)"]\nactivations = ["relu", "tanh"]\n'
        "seeds = 2\nepochs = 400\n[model]\ndepths = [2]\nwidth = 32\n"
    )
    out = tmp_path / "sweep"
    proc = _actlab("sweep", str(grid), "--out", str(out), "--workers", "2")
    deadline = time.monotonic() + 240
    while len(list(out.glob("groups/*/checkpoints/*.safetensors"))) < 2:  # both training
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    workers = _descendants(proc.pid)
    assert len(workers) >= 3  # two workers and the resource tracker
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in workers):
        assert time.monotonic() < deadline, [p for p in workers if _alive(p)]
        time.sleep(0.2)
    for group in out.glob("groups/*"):  # each saved its epochs and released its lock
        assert not (group / "actlab.lock").exists()
        assert RunDir(group).load_checkpoint(next(iter(_groups(group))))["epochs_done"] >= 1


def _groups(run: Path) -> list[str]:
    return list(CompareConfig.of_run(RunDir(run)).groups())
