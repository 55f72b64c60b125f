"""The run directory: atomic strict-JSON writes, refusing to overwrite, checkpoints."""

from __future__ import annotations

import json
import math

import pytest

from actlab.store import RunDir, write_json_atomic


def test_write_json_atomic_is_strict_json_and_leaves_no_temp(tmp_path):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"a": math.nan, "b": [1.0, math.inf], "c": {"d": 2}})
    assert json.loads(target.read_text()) == {"a": None, "b": [1.0, None], "c": {"d": 2}}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


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
    run.write_results({"candidates": []})
    assert run.read_results()["schema"].startswith("actlab.results/")


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
