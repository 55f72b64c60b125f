"""The memory estimate of the built-in models: exact parameter counts (the engine itself is
the oracle), a refusal with the estimate before anything is allocated or written, and the
estimate against a measured peak."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from actlab.cli import main
from actlab.engine.memory import (
    MemoryEstimate,
    ModelTooLargeError,
    check_fits,
    estimate_training,
)

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    ("model", "layers", "image_shape"),
    [("mlp", (7, 5, 3), None), ("cnn", (4, 6), (2, 5, 3))],
)
def test_the_parameter_term_counts_the_engines_parameters(model, layers, image_shape):
    from actlab.engine.candidates import make_candidates
    from actlab.engine.stacked import StackedCNN, StackedMLP

    candidates = make_candidates(["relu", "tanh"], [0, 1, 2])
    n_features = 11 if image_shape is None else image_shape[0] * image_shape[1] * image_shape[2]
    if model == "mlp":
        net = StackedMLP(candidates, n_features, layers, 4)
    else:
        net = StackedCNN(candidates, image_shape, layers, 4)
    params = sum(p.numel() for p in net.params)
    common = dict(
        model=model,
        layers=layers,
        n_candidates=6,
        n_features=n_features,
        n_outputs=4,
        n_samples=100,
        batch_size=8,
        image_shape=image_shape,
    )
    # plain SGD: weights, gradients and two snapshots of the weights = 4 copies
    assert estimate_training(**common, optimizer="sgd").parameters == 4 * 4 * params
    # Adam with early stopping: 2 + 2 + 1 + 2 * (1 + 2 + 1) = 13 copies
    adam = estimate_training(**common, optimizer="adam", early_stopping=3)
    assert adam.parameters == 13 * 4 * params


def test_absurd_sizes_are_exact_integers_and_refused_with_the_estimate():
    estimate = estimate_training(
        model="mlp",
        layers=(99999999999999999999,),
        n_candidates=40,
        n_features=64,
        n_outputs=10,
        n_samples=1797,
        batch_size=64,
        optimizer="adam",
    )
    assert estimate.parameters > 10**22
    with pytest.raises(ModelTooLargeError) as err:
        check_fits(estimate, "group g", available=8 << 30)
    message = str(err.value)
    assert "\n" not in message and "far more than the 8 GiB available" in message


def test_check_fits_passes_what_fits_and_names_the_ratio():
    estimate = MemoryEstimate(parameters=3 << 30, activations=1 << 30, data=0)
    check_fits(estimate, "group g", available=5 << 30)
    with pytest.raises(ModelTooLargeError, match=r"needs about 4 GiB .* 2\.0x the 2 GiB"):
        check_fits(estimate, "group g", available=2 << 30)


@pytest.mark.parametrize("hidden", ["100000,100000", "99999999999999999999"])
def test_cli_refuses_a_model_that_cannot_fit_before_writing_anything(tmp_path, capsys, hidden):
    out = tmp_path / "run"
    code = main(
        [
            "compare",
            *("--data", "xor(n=40)", "--activations", "relu", "--seeds", "1"),
            *("--epochs", "1", "--hidden", hidden, "--out", str(out)),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "needs about" in err and "available" in err
    assert not out.exists()


@pytest.mark.slow
def test_the_estimate_is_close_to_a_measured_peak():
    """A fresh process trains a ~300 MB model into a run directory; its peak RSS over the
    imports is the truth the estimate must cover without overshooting much."""
    done = subprocess.run(
        [
            sys.executable,
            "memory.py",
            "--child",
            json.dumps({"hidden": [384, 384], "epochs": 1, "activations": ["relu", "tanh"]}),
        ],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["measured"] <= figures["estimate"] <= 2 * figures["measured"], figures
