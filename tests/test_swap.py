"""swap_activations: replaces activation modules, reports them, leaves weights alone."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import actlab
import actlab.torch as at


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.act1 = nn.GELU()
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3), nn.LeakyReLU(0.1))
        self.head = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.act1(self.conv1(x))).flatten(1))


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_swap_mlp_matches_a_hand_built_model() -> None:
    model = _mlp()
    before = _weights(model)
    x = torch.randn(6, 5)
    report = at.swap_activations(model, "leaky_relu(alpha=0.3)")
    assert [r.name for r in report.replaced] == ["1", "3"]
    assert report.replaced[0].old == "ReLU()" and "leaky_relu(alpha=0.3)" in report.replaced[0].new
    assert report.model is model and len(report) == 2
    lin = [m for m in model if isinstance(m, nn.Linear)]
    h = F.leaky_relu(lin[0](x), 0.3)
    expected = lin[2](F.leaky_relu(lin[1](h), 0.3))
    torch.testing.assert_close(model(x), expected)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_swap_cnn_nested_modules() -> None:
    torch.manual_seed(1)
    model = SmallCNN()
    reference = copy.deepcopy(model)
    x = torch.randn(2, 1, 8, 8)
    report = at.swap_activations(model, "softsign")
    assert [r.name for r in report.replaced] == ["act1", "block.1"]
    expected = reference.head(
        F.softsign(reference.block[0](F.softsign(reference.conv1(x)))).flatten(1)
    )
    torch.testing.assert_close(model(x), expected)
    ref_weights = reference.state_dict()
    assert all(torch.equal(v, ref_weights[k]) for k, v in model.state_dict().items())


def test_not_inplace_leaves_the_original_unchanged() -> None:
    model = _mlp()
    x = torch.randn(3, 5)
    y = model(x)
    report = at.swap_activations(
        model, "gelu" if "gelu" in actlab.names() else "softsign", inplace=False
    )
    assert report.model is not model
    assert isinstance(model[1], nn.ReLU) and isinstance(model[3], nn.Tanh)
    torch.testing.assert_close(model(x), y)
    assert not isinstance(report.model[1], nn.ReLU)


def test_factory_and_shared_instances_get_fresh_modules() -> None:
    act = nn.ReLU()
    model = nn.Sequential(nn.Linear(2, 2), act, nn.Linear(2, 2), act)
    report = at.swap_activations(model, "prelu")
    assert [r.name for r in report.replaced] == ["1", "3"]
    assert model[1] is not model[3]
    assert len(list(model.parameters())) == 4 + 2  # two linear layers, two slopes
    report = at.swap_activations(model, nn.SiLU)
    assert isinstance(model[1], nn.SiLU) and len(report) == 2


def test_actlab_modules_are_swappable_too() -> None:
    model = nn.Sequential(nn.Linear(2, 2), at.get("softsign"))
    at.swap_activations(model, "relu")
    assert model[1].spec == "relu"


class FunctionalOnly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc(x))


def test_functional_activations_are_reported() -> None:
    with pytest.raises(ValueError, match=r"no activation modules found.*functionally"):
        at.swap_activations(FunctionalOnly(), "relu6")


def test_bad_inputs() -> None:
    model = _mlp()
    with pytest.raises(actlab.SpecError):
        at.swap_activations(model, "nope")
    assert isinstance(model[1], nn.ReLU)  # validated before touching the model
    with pytest.raises(TypeError, match="spec_or_factory"):
        at.swap_activations(model, 3)
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        at.swap_activations("model", "relu")
    with pytest.raises(ValueError, match="itself an activation"):
        at.swap_activations(nn.ReLU(), "relu")
