"""Checkpoints are data: any nested state round-trips exactly, and nothing but a checkpoint
this actlab wrote is loaded; a hostile pickle is refused without running."""

from __future__ import annotations

import json
import math
import os
import pickle
import struct

import pytest
import torch

from actlab.cli import main
from actlab.store import CheckpointError, RunDir
from actlab.store.checkpoint import STATE_ENTRY, read_checkpoint, write_checkpoint


class _Payload:
    """Unpickling this creates the file ``marker``: what a hostile checkpoint would do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _assert_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_any_nested_state_round_trips_exactly(tmp_path):
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    state = {
        "version": 1,
        "huge": 2**80,
        "floats": [0.1, -0.0, 1e308, 5e-324, math.inf, -math.inf, math.nan, 3.0],
        "text": "ünïcode \n $tensor",
        "flags": (True, False, None),
        "nested": [{"a": ({"b": [()]},)}],
        "int_keys": {0: {"step": torch.tensor(3.0)}, 1: "x", -5: None},
        "odd_keys": {"$tensor": "t0", "$x": 1, (1, "a"): 2, None: 3, 2.5: 4, True: 5},
        "tensors": [
            base,
            base.t(),  # not contiguous
            base[1],  # a view sharing base's memory
            torch.zeros(0, 3),
            torch.tensor([True, False]),
            torch.tensor(7, dtype=torch.int64),
            torch.ones(2, dtype=torch.bfloat16),
            torch.ones(2, requires_grad=True),
            torch.nn.Parameter(torch.ones(2)),
        ],
    }
    path = tmp_path / "c.safetensors"
    write_checkpoint(path, state)
    back = read_checkpoint(path)
    expected = dict(state)
    expected["tensors"] = [t.detach().clone() for t in state["tensors"]]
    expected["tensors"][-1] = torch.ones(2)  # a Parameter comes back as a plain tensor
    _assert_same(back, expected)
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_a_value_that_is_not_data_names_its_place(tmp_path):
    import numpy as np

    with pytest.raises(TypeError, match=r"state\['a'\]\[1\]: a numpy.int64"):
        write_checkpoint(tmp_path / "c.safetensors", {"a": [1, np.int64(2)]})
    with pytest.raises(TypeError, match=r"builtins\.set"):
        write_checkpoint(tmp_path / "c.safetensors", {"a": {1, 2}})
    places = {
        r"state\['a'\]\[0\]\['b'\]\[1\]: a builtins\.set": {"a": ({"b": [0.5, {2}]},)},
        r"state\[1\]\[2\]: a builtins\.object": {1: {2: object()}},
        r"state key frozenset\(\): a builtins\.frozenset": {frozenset(): 1},
        r"state\['t'\]\[0\]: a torch\.sparse_coo tensor": {"t": [torch.zeros(2).to_sparse()]},
    }
    for message, state in places.items():
        with pytest.raises(TypeError, match=f"^checkpoint {message}"):
            write_checkpoint(tmp_path / "c.safetensors", state)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_float_subclasses_are_stored_as_floats(tmp_path):
    import numpy as np

    path = tmp_path / "c.safetensors"
    write_checkpoint(path, {"x": [np.float64(0.5), np.float64("nan"), np.float64("-inf")]})
    x = read_checkpoint(path)["x"]
    assert [type(v) for v in x] == [float] * 3
    assert x[0] == 0.5 and math.isnan(x[1]) and x[2] == -math.inf


def test_writes_are_fsynced_before_the_replace_and_the_directory_after(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def replace(a, b):
        events.append("replace")
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    RunDir(tmp_path).save_checkpoint("g", {"w": torch.ones(2)})
    assert events == ["fsync-file", "replace", "fsync-dir"]
    events.clear()
    RunDir(tmp_path).write_results({"groups": {}, "candidates": []})
    assert events == ["fsync-file", "replace", "fsync-dir"]


def _hostile_files(tmp_path, marker):
    """A torch.save checkpoint and a bare pickle, each carrying a payload that creates
    ``marker`` when unpickled."""
    torch_file = tmp_path / "hostile_torch.pt"
    torch.save({"params": [torch.ones(2)], "x": _Payload(str(marker))}, torch_file)
    bare = tmp_path / "hostile_bare.pkl"
    bare.write_bytes(pickle.dumps(_Payload(str(marker))))
    return [torch_file, bare]


def test_the_hostile_payload_is_real(tmp_path):
    """The payload of the next tests does run when unpickled (so refusing it means
    something)."""
    marker = tmp_path / "pwned"
    torch_file, bare = _hostile_files(tmp_path, marker)
    pickle.loads(bare.read_bytes())
    assert marker.exists()
    marker.unlink()
    torch.load(torch_file, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("name", ["g.pt", "g.safetensors"])
@pytest.mark.parametrize("kind", [0, 1])
def test_a_hostile_checkpoint_is_refused_and_never_run(tmp_path, name, kind):
    marker = tmp_path / "pwned"
    source = _hostile_files(tmp_path, marker)[kind]
    run = RunDir(tmp_path / "run")
    target = run.path / "checkpoints" / name
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    with pytest.raises(CheckpointError) as err:
        run.load_checkpoint("g")
    message = str(err.value)
    assert "\n" not in message and str(target) in message and "pickle" in message
    assert not marker.exists()


def _small_run(tmp_path):
    out = tmp_path / "run"
    args = [
        "compare",
        *("--data", "xor(n=60)", "--activations", "relu,tanh", "--seeds", "1"),
        *("--epochs", "2", "--hidden", "4", "--out", str(out)),
    ]
    return out, args


def test_resume_refuses_a_hostile_checkpoint_with_one_line_and_exit_2(tmp_path, capsys):
    """The issue's reproduction: `actlab compare --resume RUN` with a pickle payload."""
    out, args = _small_run(tmp_path)
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    (out / "results.json").unlink()  # the group is unfinished again: resume would load
    marker = tmp_path / "pwned"
    for kind, name in ((0, "mlp-4.pt"), (1, "mlp-4.safetensors")):
        (out / "checkpoints").mkdir(exist_ok=True)
        for old in (out / "checkpoints").iterdir():
            old.unlink()
        hostile = out / "checkpoints" / name
        hostile.write_bytes(_hostile_files(tmp_path, marker)[kind].read_bytes())
        capsys.readouterr()
        assert main(["compare", "--resume", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and str(hostile) in err and "Traceback" not in err
        assert not marker.exists()
    assert results["groups"]["mlp-4"]["status"] == "done"


def _valid_bytes(tmp_path):
    path = tmp_path / "valid.safetensors"
    write_checkpoint(path, {"w": torch.ones(3), "n": 1})
    return path.read_bytes()


def _with_state_json(tmp_path, text: bytes):
    """A well-formed safetensors file whose state.json entry holds ``text``."""
    from safetensors.torch import save

    return save({STATE_ENTRY: torch.frombuffer(bytearray(text), dtype=torch.uint8)})


CORRUPTIONS = {
    "empty": lambda b, t: b"",
    "truncated header": lambda b, t: b[:6],
    "truncated body": lambda b, t: b[: len(b) - 5],
    "header length beyond the file": lambda b, t: struct.pack("<Q", 10**9) + b[8:],
    "garbage": lambda b, t: bytes(range(256)) * 4,
    "header not json": lambda b, t: struct.pack("<Q", 4) + b"{{{{",
    "no state entry": lambda b, t: __import__("safetensors.torch").torch.save({"w": torch.ones(2)}),
    "state not utf-8": lambda b, t: _with_state_json(t, b"\xff\xfe"),
    "state not json": lambda b, t: _with_state_json(t, b"{"),
    "NaN literal": lambda b, t: _with_state_json(
        t, b'{"schema":"actlab.checkpoint/1","state":NaN}'
    ),
    "unknown tag": lambda b, t: _with_state_json(
        t, b'{"schema":"actlab.checkpoint/1","state":{"$eval":"1"}}'
    ),
    "missing tensor": lambda b, t: _with_state_json(
        t, b'{"schema":"actlab.checkpoint/1","state":{"$tensor":"t9"}}'
    ),
    "unhashable key": lambda b, t: _with_state_json(
        t, b'{"schema":"actlab.checkpoint/1","state":{"$dict":[[[1],2]]}}'
    ),
    "deep nesting": lambda b, t: _with_state_json(
        t, b'{"schema":"actlab.checkpoint/1","state":' + b"[" * 100000 + b"]" * 100000 + b"}"
    ),
    "newer schema": lambda b, t: _with_state_json(t, b'{"schema":"actlab.checkpoint/9","state":1}'),
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_a_corrupt_checkpoint_is_one_line_naming_the_file(tmp_path, kind):
    path = tmp_path / "c.safetensors"
    path.write_bytes(CORRUPTIONS[kind](_valid_bytes(tmp_path), tmp_path))
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(str(path))


def test_every_truncation_and_byte_flip_is_refused_or_loads_as_data(tmp_path):
    """Cut the file at every length, flip every byte: each read gives a CheckpointError or
    the state (a flip inside tensor data is undetectable), never another exception."""
    good = _valid_bytes(tmp_path)
    path = tmp_path / "c.safetensors"
    for n in range(len(good)):
        path.write_bytes(good[:n])
        with pytest.raises(CheckpointError):
            read_checkpoint(path)
    for i in range(len(good)):
        flipped = bytearray(good)
        flipped[i] ^= 0xFF
        path.write_bytes(bytes(flipped))
        try:
            state = read_checkpoint(path)
        except CheckpointError:
            continue
        assert isinstance(state, dict)


def test_a_directory_or_unreadable_checkpoint_is_one_line(tmp_path):
    run = RunDir(tmp_path)
    run.checkpoint_path("g").mkdir(parents=True)
    with pytest.raises(CheckpointError, match="is a directory"):
        run.load_checkpoint("g")
    run.checkpoint_path("g").rmdir()
    run.save_checkpoint("g", {"a": 1})
    if os.geteuid() != 0:
        run.checkpoint_path("g").chmod(0)
        with pytest.raises(CheckpointError, match="cannot read"):
            run.load_checkpoint("g")


def test_a_checkpoint_the_trainer_rejects_names_the_file(tmp_path):
    run = RunDir(tmp_path)
    run.save_checkpoint("g", {"version": 99})

    def restore(state):
        raise ValueError(f"trainer state version {state['version']} is not 1\nsecond line")

    with pytest.raises(CheckpointError) as err:
        run.restore_checkpoint("g", restore)
    message = str(err.value)
    assert "\n" not in message and str(run.checkpoint_path("g")) in message
    assert "version 99" in message
    assert run.restore_checkpoint("other", restore) is False


def test_a_long_group_name_becomes_a_short_unique_file_name(tmp_path):
    run = RunDir(tmp_path)
    long_a, long_b = "mlp-" + "x".join(["1"] * 130), "mlp-" + "x".join(["1"] * 131)
    for group in (long_a, long_b, "../escape", "mlp-128x128"):
        run.save_checkpoint(group, {"g": group})
        assert run.checkpoint_path(group).parent == tmp_path / "checkpoints"
        assert len(run.checkpoint_path(group).name) <= 120
    for group in (long_a, long_b, "../escape", "mlp-128x128"):
        assert run.load_checkpoint(group) == {"g": group}
    assert run.checkpoint_path("mlp-128x128").name == "mlp-128x128.safetensors"
