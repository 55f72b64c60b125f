"""A parameter float32 cannot hold: refused when the spec is parsed for training (with the
reason), and the cost measurement marks what torch cannot run instead of crashing."""

from __future__ import annotations

import math

import pytest

from actlab.cli import main
from actlab.comparison import CompareConfig
from actlab.comparison.config import FLOAT32_MAX
from actlab.comparison.cost import activation_costs


def test_float32_max_is_numpys():
    import numpy as np

    assert float(np.finfo(np.float32).max) == FLOAT32_MAX


@pytest.mark.parametrize("spec", ["elu(alpha=1e308)", "celu(alpha=3.5e38)"])
def test_a_parameter_beyond_float32_is_refused_with_the_reason(spec):
    with pytest.raises(ValueError, match="overflows float32") as err:
        CompareConfig(activations=("relu", spec))
    assert "\n" not in str(err.value)


def test_a_parameter_within_float32_is_accepted():
    assert CompareConfig(activations=("relu", "elu(alpha=3e38)")).activations[1].startswith("elu")


def test_the_cost_of_a_spec_torch_cannot_run_is_marked_not_fatal():
    costs = activation_costs(
        ["relu", "elu(alpha=1e308)", "tanh"], numel=256, budget=0.0, min_rounds=2
    )
    assert costs["elu(alpha=1e308)"]["seconds"] is None
    assert "overflow" in costs["elu(alpha=1e308)"]["error"]
    assert costs["relu"]["relative_to_relu"] == 1.0
    assert math.isfinite(costs["tanh"]["relative_to_relu"])


def test_cli_refuses_the_overflowing_spec_before_writing(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "compare",
            *("--data", "xor(n=40)", "--activations", "relu,elu(alpha=1e308)"),
            *("--seeds", "1", "--epochs", "1", "--hidden", "2", "--out", str(out)),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "overflows float32" in err
    assert not out.exists()
