"""`actlab.compare` / `actlab compare` end to end: results schema, run directory, resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import actlab
from actlab.cli import main
from actlab.comparison import CompareConfig
from actlab.comparison.config import hidden_widths
from actlab.comparison.runner import run_comparison
from actlab.engine import CandidateResult
from actlab.store.run_dir import RESULTS_SCHEMA, RunDir, json_safe

SMALL = dict(
    data="moons(n=240, noise=0.2)",
    activations=["relu", "tanh"],
    seeds=3,
    epochs=3,
    hidden=(16, 16),
    batch_size=32,
)


def test_results_stay_typed_and_read_back_as_the_same_dataclasses(tmp_path):
    result = actlab.compare(**SMALL, out=tmp_path / "run")
    loaded = actlab.load_run(tmp_path / "run")
    assert all(type(c) is CandidateResult for c in [*result.candidates, *loaded.candidates])
    assert [c.group for c in loaded.candidates] == ["mlp-16x16"] * 6
    assert [json_safe(c.to_dict()) for c in loaded.candidates] == [
        json_safe(c.to_dict()) for c in result.candidates
    ]
    assert loaded.summary() == result.summary()


def test_a_candidate_record_round_trips_through_strict_json_with_its_nans():
    record = CandidateResult(
        activation="relu",
        seed=3,
        status="diverged",
        init="he",
        group="g",
        diverged_epoch=2,
        diverged_step=7,
        history={"val_metric": [0.5, math.nan], "grad_norm": [[1.0, 2.0], [math.nan, math.inf]]},
        learned={"alpha": [0.2, math.nan]},
    )
    text = json.dumps(json_safe(record.to_dict()), allow_nan=False)
    back = CandidateResult.from_dict(json.loads(text))
    assert math.isnan(back.test_metric) and math.isnan(back.history["val_metric"][1])
    assert back.learned["alpha"][0] == 0.2 and math.isnan(back.learned["alpha"][1])
    assert all(math.isnan(v) for v in back.history["grad_norm"][1])  # JSON has no inf
    assert json_safe(back.to_dict()) == json_safe(record.to_dict())
    with pytest.raises(ValueError, match="unknown field"):
        CandidateResult.from_dict({**record.to_dict(), "tied_with_best": True})
    with pytest.raises(ValueError, match="lacks"):
        CandidateResult.from_dict({"activation": "relu", "seed": 0})


def test_python_api_returns_the_documented_schema():
    result = actlab.compare(**SMALL)
    payload = json.loads(result.to_json())
    assert set(payload) >= {"config", "candidates", "data", "environment", "costs", "analysis"}
    assert len(payload["candidates"]) == 6
    cand = payload["candidates"][0]
    for key in ("activation", "seed", "status", "test_metric", "history", "init", "group"):
        assert key in cand
    assert cand["status"] == "ok" and 0.0 <= cand["test_metric"] <= 1.0
    for key in (
        "train_loss",
        "val_loss",
        "val_metric",
        "epoch_time",
        "grad_norm",
        "dead_fraction",
        "saturated_fraction",
        "act_mean",
        "act_std",
    ):
        assert len(cand["history"][key]) == 3, key
    assert len(cand["history"]["grad_norm"][0]) == 2  # one value per hidden layer
    rows = result.summary()
    assert {r["activation"] for r in rows} == {"relu", "tanh"}
    assert all("test_accuracy_ci_low" in r for r in rows)
    assert result.recommendation().activation in {"relu", "tanh"}


def test_in_memory_arrays_and_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=200)
    result = actlab.compare((X, y), activations="relu,identity", seeds=2, epochs=3, hidden=(8,))
    assert result.metric == "r2"
    assert all(math.isfinite(c.test_metric) for c in result.candidates)


def _cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_compare_writes_run_directory_and_report(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = _cli(
        capsys,
        "compare",
        "--data",
        "iris",
        "--activations",
        "relu,prelu",
        "--seeds",
        "3",
        "--epochs",
        "2",
        "--hidden",
        "8",
        "--out",
        str(out),
    )
    assert code == 0
    assert stdout.startswith("Answer: Use ") and "behind leader" in stdout and "verdict" in stdout
    results = json.loads((out / "results.json").read_text())
    assert results["schema"].startswith("actlab.results/")
    assert results["config"]["activations"] == ["relu", "prelu"]
    learned = [c["learned"] for c in results["candidates"]]
    assert learned[:3] == [{}] * 3 and all(len(a["alpha"]) == 1 for a in learned[3:])
    mean = sum(a["alpha"][0] for a in learned[3:]) / 3
    assert mean != 0.25 and f"prelu alpha={mean:.3g}" in stdout  # learned, and shown
    assert "learned parameters (end of training, mean over seeds and layers)" in stdout
    assert "widths (" not in stdout  # a learned slope does not make a different shape
    page = (out / "report.html").read_text()
    assert "Learnable parameters at the end of training" in page and f"{mean:.3g}" in page
    assert (out / "report.html").stat().st_size > 10_000
    assert (out / "environment.json").is_file() and not (out / "checkpoints").exists()
    code, stdout, _ = _cli(capsys, "report", str(out))
    assert code == 0 and "Answer: Use " in stdout


def test_cli_compare_json_prints_results(tmp_path, capsys):
    code, stdout, stderr = _cli(
        capsys,
        "compare",
        "--data",
        "xor(n=100)",
        "--activations",
        "relu",
        "--seeds",
        "2",
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--json",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 0
    assert json.loads(stdout)["candidates"][0]["activation"] == "relu"
    # no terminal: progress is plain lines on stderr, not a bar drawn once at the end
    assert "mlp-4: epoch 1/1 ETA 0 s best val accuracy" in stderr


def test_hidden_widths_shorthand():
    assert hidden_widths((128, 128)) == (128, 128)
    assert hidden_widths((128, 128), depth=3) == (128, 128, 128)
    assert hidden_widths((128, 128), width=16) == (16, 16)
    assert hidden_widths((64, 32), depth=4, width=8) == (8, 8, 8, 8)


@pytest.mark.parametrize(
    ("shorthand", "hidden", "groups"),
    [
        (["--depth", "3", "--width", "5"], [5, 5, 5], ["mlp-5x5x5"]),
        (["--width", "6", "--depths", "1,2"], [6, 6], ["mlp-depth1-width6", "mlp-depth2-width6"]),
    ],
)
def test_cli_and_api_read_depth_and_width_the_same_way(tmp_path, capsys, shorthand, hidden, groups):
    code, stdout, _ = _cli(
        capsys,
        "compare",
        *("--data", "xor(n=100)", "--activations", "relu", "--seeds", "1", "--epochs", "1"),
        *shorthand,
        *("--json", "--out", str(tmp_path / "cli")),
    )
    assert code == 0
    cli = json.loads(stdout)
    options = dict(zip(shorthand[::2], shorthand[1::2], strict=True))
    api = actlab.compare(
        "xor(n=100)",
        ["relu"],
        1,
        epochs=1,
        depth=int(options["--depth"]) if "--depth" in options else None,
        width=int(options["--width"]),
        depths=[int(d) for d in options.get("--depths", "").split(",") if d],
    )
    for payload in (cli, json.loads(api.to_json())):
        assert payload["config"]["hidden"] == hidden
        assert sorted(payload["groups"]) == groups


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--data", "nosuch"], "unknown dataset"),
        (["--data", "missing.csv"], "missing.csv"),
        (["--activations", "relu,nosuch"], "unknown activation 'nosuch'"),
        (["--activations", "softmax"], "whole axis"),
        (["--data", "iris", "--model", "cnn"], "image-shaped"),
        (["--hidden", "8,x"], "--hidden"),
    ],
)
def test_cli_compare_bad_input_exits_2(tmp_path, capsys, args, fragment):
    code, _, err = _cli(
        capsys, "compare", "--epochs", "1", "--seeds", "1", "--out", str(tmp_path / "r"), *args
    )
    assert code == 2
    assert fragment in err and err.count("\n") == 1


class _InterruptAfter:
    """A progress sink that simulates Ctrl-C after ``n`` epochs."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.epochs: list[tuple[str, int]] = []

    def group_started(self, group, total_epochs, done_epochs):
        pass

    def epoch_done(self, group, epoch, summary):
        self.epochs.append((group, epoch))
        if len(self.epochs) == self.n:
            raise KeyboardInterrupt


def _strip_times(candidates):
    out = []
    for c in candidates:
        c = json_safe(c.to_dict())
        c["history"].pop("epoch_time")
        out.append(c)
    return out


def test_interrupted_run_resumes_without_redoing_work(tmp_path):
    config = CompareConfig(
        data="moons(n=200)",
        activations=("relu", "tanh"),
        seeds=(0, 1, 2),
        epochs=3,
        hidden=(8,),
        depths=(1, 2),
        batch_size=32,
    )
    full = run_comparison(config)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_comparison(config, run, progress=_InterruptAfter(5))  # group 1 done, group 2 at 2/3
    partial = json.loads((run / "results.json").read_text())
    assert list(partial["groups"]) == ["mlp-depth1-width8"]
    assert (run / "checkpoints" / "mlp-depth2-width8.safetensors").is_file()
    progress = _InterruptAfter(-1)
    resumed = actlab.resume(run, progress=progress)
    assert progress.epochs == [("mlp-depth2-width8", 3)]  # only the one missing epoch
    assert _strip_times(resumed.candidates) == _strip_times(full.candidates)
    assert set(resumed.groups) == {"mlp-depth1-width8", "mlp-depth2-width8"}


def test_existing_run_directory_is_not_overwritten(tmp_path, capsys):
    args = [
        "compare",
        "--data",
        "xor(n=80)",
        "--activations",
        "relu",
        "--seeds",
        "1",
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--out",
        str(tmp_path / "r"),
    ]
    assert _cli(capsys, *args)[0] == 0
    code, _, err = _cli(capsys, *args)
    assert code == 2 and "--resume" in err


def test_cnn_on_digits(tmp_path):
    result = actlab.compare(
        "digits", activations=["relu"], seeds=1, epochs=1, model="cnn", channels=(4,)
    )
    assert result.group_names() == ["cnn-4"]
    assert result.candidates[0].test_metric > 0.3


def test_cli_diagnose_demo_and_bench(tmp_path, capsys):
    code, out, _ = _cli(capsys, "diagnose", "--demo", "no-activation", "--out", str(tmp_path))
    assert code == 0 and "linear_collapse" in out
    assert (tmp_path / "no-activation.html").is_file()
    code, _, err = _cli(capsys, "diagnose", "--demo", "nosuch")
    assert code == 2 and "deep-sigmoid" in err
    code, out, _ = _cli(
        capsys, "bench", "relu", "softsign", "--numel", "4096", "--repeats", "1", "--json"
    )
    assert code == 0
    records = json.loads(out)
    assert {r["spec"] for r in records} >= {"relu", "softsign"}


def test_activation_costs_are_measured_relative_to_relu():
    import torch

    from actlab.comparison.cost import activation_costs

    threads = torch.get_num_threads()
    costs = activation_costs(["relu", "elu(alpha=0.5)"], numel=4096, budget=0.0, min_rounds=3)
    assert costs["relu"]["relative_to_relu"] == 1.0
    assert costs["elu(alpha=0.5)"]["seconds"] > 0
    assert torch.get_num_threads() == threads  # timed on one thread, then restored


@pytest.mark.parametrize("spec", ["elu(alpha=0.5)", "swiglu"])
def test_the_cost_timers_backward_is_the_activations_backward(spec):
    """The timed pass seeds the backward with ``_Seed`` (no sympy import): the gradient
    that reaches the input is exactly ``out.backward(grad)``'s, for a gated entry too."""
    import torch

    from actlab.backends.torch import functional
    from actlab.comparison.cost import _Seed

    fn, gen = functional(spec), torch.Generator().manual_seed(0)
    x, grad = torch.randn(64, generator=gen) * 3, torch.randn(64, generator=gen)
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out = fn(a)
    out.backward(grad[: out.numel()].view_as(out))
    _Seed.apply(fn(b), grad[: out.numel()].view_as(out)).backward()
    assert a.grad is not None and torch.equal(a.grad, b.grad)


def _count_results_writes(monkeypatch) -> list[list[str]]:
    """The groups of every results.json write, in order."""
    writes: list[list[str]] = []
    real = RunDir.write_results

    def counted(self, results):
        writes.append(list(results["groups"]))
        real(self, results)

    monkeypatch.setattr(RunDir, "write_results", counted)
    return writes


@pytest.mark.parametrize("seeds", ["fixed", "auto"])
def test_results_json_is_written_once_per_trained_stack_and_holds_the_whole_result(
    tmp_path, monkeypatch, seeds
):
    """Written when each group finishes (before its checkpoint goes: what a resume needs),
    not again at the end when nothing changed since; the last write is the whole result,
    analysis included. A finished run resumed trains nothing and writes it once."""
    writes = _count_results_writes(monkeypatch)
    options = dict(data="xor(n=160)", activations=["relu", "identity"], epochs=2, hidden=(8,))
    if seeds == "auto":
        result = actlab.compare(**options, seeds="auto", max_seeds=10, out=tmp_path / "r")
        assert len(writes) == len(result.config["seeds"]) // 5  # one per look's stack
    else:
        result = actlab.compare(**options, seeds=3, depths=(1, 2), out=tmp_path / "r")
        assert writes == [["mlp-depth1-width8"], ["mlp-depth1-width8", "mlp-depth2-width8"]]
    on_disk = json.loads((tmp_path / "r" / "results.json").read_text())
    assert on_disk == {"schema": RESULTS_SCHEMA, **json_safe(result.to_dict())}
    writes.clear()
    actlab.resume(tmp_path / "r")
    assert len(writes) == 1


def test_no_checkpoint_after_the_last_epoch_but_kept_when_the_results_fail(tmp_path, monkeypatch):
    """The last epoch's checkpoint is not written (results.json replaces it at once); when
    writing results.json fails, it is, and the resume trains nothing again."""
    from actlab.store.checkpointer import Checkpointer

    written: list[int] = []
    real_flush = Checkpointer.flush

    def flush(self):
        if self.pending is not None:
            written.append(self.pending["epochs_done"])
        real_flush(self)

    monkeypatch.setattr(Checkpointer, "flush", flush)
    monkeypatch.setattr(Checkpointer, "__init__", _free_writes(Checkpointer.__init__))
    options = dict(data="xor(n=80)", activations=["relu"], seeds=1, epochs=3, hidden=(4,))
    actlab.compare(**options, out=tmp_path / "ok")
    assert written == [1, 2]  # every epoch due (writes cost nothing), but not the last

    written.clear()
    real_write = RunDir.write_results

    def fail(self, results):
        raise OSError("disk full")

    monkeypatch.setattr(RunDir, "write_results", fail)
    with pytest.raises(OSError, match="disk full"):
        actlab.compare(**options, out=tmp_path / "failed")
    assert written == [1, 2, 3]  # the last epoch written by the flush on failure
    monkeypatch.setattr(RunDir, "write_results", real_write)
    progress = _InterruptAfter(-1)
    actlab.resume(tmp_path / "failed", progress=progress)
    assert progress.epochs == []  # nothing trained again


def _free_writes(init):
    """A Checkpointer whose policy sees every write as free (so every epoch is due)."""

    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.ratio = 0.0

    return wrapped
