"""The run directory: atomic strict-JSON writes, refusing to overwrite, checkpoints."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actlab.store import RunDir, write_json_atomic
from actlab.store.checkpointer import Checkpointer
from actlab.store.run_dir import json_text


def test_write_json_atomic_is_strict_json_and_leaves_no_temp(tmp_path):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"a": math.nan, "b": [1.0, math.inf], "c": {"d": 2}})
    assert json.loads(target.read_text()) == {"a": None, "b": [1.0, None], "c": {"d": 2}}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_json_text_is_the_json_of_the_value(value):
    assert json.loads(json_text(value)) == value


def test_json_text_puts_members_and_list_items_on_their_own_lines():
    payload = {"schema": "s", "candidates": [{"a": 1, "h": [1, 2]}, {"a": 2}], "empty": []}
    assert json_text(payload).splitlines() == [
        "{",
        ' "schema": "s",',
        ' "candidates": [',
        '  {"a": 1, "h": [1, 2]},',
        '  {"a": 2}',
        " ],",
        ' "empty": []',
        "}",
    ]
    with pytest.raises(ValueError):
        json_text({"x": [math.nan]})


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"ok": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"bad": object()})
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_run_dir_refuses_to_overwrite_and_round_trips(tmp_path):
    run = RunDir(tmp_path / "run")
    run.create({"seeds": 2}, {"torch": "x"})
    assert run.read_config() == {"seeds": 2}
    with pytest.raises(FileExistsError, match="--resume"):
        run.create({"seeds": 3}, {})
    assert run.read_results() is None
    run.write_results({"groups": {}, "candidates": []})
    assert run.read_results()["schema"].startswith("actlab.results/")


def test_a_run_killed_while_being_created_is_not_a_run_and_is_created_again(tmp_path, monkeypatch):
    import actlab.store.run_dir as run_dir

    written: list[str] = []
    real_write = run_dir.write_json_atomic

    def killed_after_first_file(path, payload):
        if written:
            raise KeyboardInterrupt
        written.append(path.name)
        real_write(path, payload)

    run = RunDir(tmp_path / "run")
    monkeypatch.setattr(run_dir, "write_json_atomic", killed_after_first_file)
    with pytest.raises(KeyboardInterrupt):
        run.create({"seeds": 2}, {"torch": "x"})
    monkeypatch.setattr(run_dir, "write_json_atomic", real_write)
    assert not run.exists()  # half a run is no run: a resume would find no environment
    run.create({"seeds": 2}, {"torch": "y"})
    assert run.read_config() == {"seeds": 2}
    assert run.read_environment() == {"torch": "y"}


def test_checkpoints_save_load_drop(tmp_path):
    import torch

    run = RunDir(tmp_path)
    assert run.load_checkpoint("g") is None
    run.save_checkpoint("g", {"w": torch.ones(2), "epoch": 3})
    state = run.load_checkpoint("g")
    assert state["epoch"] == 3 and torch.equal(state["w"], torch.ones(2))
    run.drop_checkpoint("g")
    assert run.load_checkpoint("g") is None


def test_reading_a_non_run_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an actlab run directory"):
        RunDir(tmp_path).read_config()


class _Clock:
    """A fake monotonic clock: each write advances it by ``write_cost``."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _SlowRun:
    def __init__(self, clock: _Clock, write_cost: float) -> None:
        self.clock, self.write_cost, self.saved = clock, write_cost, []

    def save_checkpoint(self, group: str, state: dict) -> None:
        self.clock.now += self.write_cost
        self.saved.append((group, state["epoch"]))


def test_checkpoints_cost_at_most_the_overhead_and_flush_keeps_the_last_epoch():
    clock = _Clock()
    run = _SlowRun(clock, write_cost=1.0)
    ckpt = Checkpointer(run, "g", overhead=0.2, clock=clock)  # wait 4x a write's cost
    for epoch in range(1, 21):
        clock.now += 0.5  # an epoch of training
        ckpt.epoch_done({"epoch": epoch})
    written = [e for _, e in run.saved]
    assert written[0] == 1  # nothing to amortize yet: the first epoch is written
    gaps = [b - a for a, b in itertools.pairwise(written)]
    assert set(gaps) == {8}  # 8 epochs of 0.5 s = 4 x the 1 s write
    write_time = len(written) * 1.0
    assert write_time <= 0.2 * clock.now + 1.0  # the overhead bound (+ the first write)
    assert ckpt.pending == {"epoch": 20} and written[-1] != 20
    ckpt.flush()  # interrupted now: the newest finished epoch is written
    assert run.saved[-1] == ("g", 20) and ckpt.pending is None
    ckpt.flush()
    assert run.saved[-1] == ("g", 20) and len(run.saved) == len(written) + 1


def test_the_default_checkpoints_cost_at_most_one_percent():
    """Writes of 10 ms after epochs of 0.1 s: every 10th epoch (1 s >= 99 x 10 ms)."""
    clock = _Clock()
    run = _SlowRun(clock, write_cost=0.01)
    ckpt = Checkpointer(run, "g", clock=clock)
    for epoch in range(1, 301):
        clock.now += 0.1
        ckpt.epoch_done({"epoch": epoch})
    written = [e for _, e in run.saved]
    assert {b - a for a, b in itertools.pairwise(written)} == {10}
    assert len(written) * 0.01 <= 0.01 * clock.now + 0.01


def test_checkpointer_rejects_a_bad_overhead():
    with pytest.raises(ValueError, match="overhead"):
        Checkpointer(_SlowRun(_Clock(), 0.0), "g", overhead=0.0)


def test_the_last_epoch_is_kept_not_written_and_flush_writes_it():
    """The group's results.json follows the last epoch at once: writing its checkpoint too
    would be thrown away; kept pending, it is written only if what follows fails."""
    clock = _Clock()
    run = _SlowRun(clock, write_cost=0.0)
    ckpt = Checkpointer(run, "g", clock=clock)
    ckpt.epoch_done({"epoch": 1})
    assert run.saved == [("g", 1)]  # due (a free write): written
    clock.now += 100.0
    ckpt.epoch_done({"epoch": 2}, last=True)
    assert run.saved == [("g", 1)] and ckpt.pending == {"epoch": 2}
    ckpt.flush()
    assert run.saved == [("g", 1), ("g", 2)]
