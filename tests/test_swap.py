"""swap_activations and activation_sites: recognised by behaviour, classified by role,
replaced where they run (modules, repeated calls, attributes, functional calls)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import actlab
import actlab.torch as at
import zoo


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _logits(out: object) -> torch.Tensor:
    if hasattr(out, "logits"):
        return out.logits  # type: ignore[attr-defined]
    if hasattr(out, "last_hidden_state"):
        return torch.cat([out.last_hidden_state.flatten(), out.pooler_output.flatten()])  # type: ignore[attr-defined]
    assert isinstance(out, torch.Tensor)
    return out


def test_swap_mlp_matches_a_hand_built_model() -> None:
    model = _mlp()
    before = _weights(model)
    x = torch.randn(6, 5)
    report = at.swap_activations(model, "leaky_relu(alpha=0.3)", example=x)
    assert [r.name for r in report.replaced] == ["1", "3"]
    assert report.replaced[0].old == "relu" and "leaky_relu(alpha=0.3)" in report.replaced[0].new
    assert report.model is model and len(report) == 2 and report.left == []
    lin = [m for m in model if isinstance(m, nn.Linear)]
    h = F.leaky_relu(lin[0](x), 0.3)
    expected = lin[2](F.leaky_relu(lin[1](h), 0.3))
    torch.testing.assert_close(model(x), expected)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_not_inplace_leaves_the_original_unchanged() -> None:
    model = _mlp()
    x = torch.randn(3, 5)
    y = model(x)
    report = at.swap_activations(model, "softsign", inplace=False)
    assert report.model is not model
    assert isinstance(model[1], nn.ReLU) and isinstance(model[3], nn.Tanh)
    torch.testing.assert_close(model(x), y)
    assert not isinstance(report.model[1], nn.ReLU)


def test_a_shared_module_gets_one_fresh_module_per_call() -> None:
    act = nn.ReLU()
    model = nn.Sequential(nn.Linear(2, 2), act, nn.Linear(2, 2), act)
    report = at.swap_activations(model, "prelu", roles=("hidden", "output"))
    assert [(r.name, r.role) for r in report.replaced] == [("1#0", "hidden"), ("1#1", "output")]
    assert len(list(model.parameters())) == 4 + 2  # two linear layers, two slopes
    slopes = [p for n, p in model.named_parameters() if n.endswith(".alpha")]
    assert len(slopes) == 2 and slopes[0] is not slopes[1]
    report = at.swap_activations(model, nn.SiLU, include="1")  # a class is called bare
    assert len(report) == 2 and report.replaced[0].old == "prelu"
    x = torch.randn(4, 2)
    lin = [m for m in model.modules() if isinstance(m, nn.Linear)]
    torch.testing.assert_close(model(x), F.silu(lin[1](F.silu(lin[0](x)))))


class FunctionalOnly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.fc2 = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc(x))
        h = self.fc2(h)
        return torch.tanh(h.relu_()) + torch.relu(h)


def test_functional_calls_are_found_and_swapped_where_they_run() -> None:
    torch.manual_seed(0)
    model = FunctionalOnly()
    x = torch.randn(5, 3)
    sites = at.activation_sites(model, x)
    assert [(s.name, s.spec, s.kind) for s in sites] == [
        ("relu()#0", "relu", "function"),
        ("relu()#1", "relu", "function"),
        ("tanh()", "tanh", "function"),
        ("relu()#2", "relu", "function"),
    ]
    assert all(s.where.startswith("test_swap.py:") for s in sites)
    report = at.swap_activations(model, "elu", example=x)
    assert [r.name for r in report.replaced] == ["relu()#0", "relu()#1", "tanh()", "relu()#2"]
    h = model.fc2(F.elu(model.fc(x)))
    expected = 2 * F.elu(F.elu(h))  # relu_ wrote elu(h) into h, which both calls then read
    torch.testing.assert_close(model(x), expected)
    torch.testing.assert_close(model(x), expected)  # call counters restart every pass
    # gradients flow through the replacements, in-place one included
    model(x).sum().backward()
    assert model.fc.weight.grad is not None and model.fc.weight.grad.abs().sum() > 0


def test_roles_include_exclude_and_the_reasons_for_what_was_left() -> None:
    model = zoo.build("functional")
    args, _ = zoo.batch("functional", 4)
    report = at.swap_activations(model, "relu", example=args, inplace=False)
    left = {x.name: x.reason for x in report.left}
    assert left["out"] == "role output"
    assert left["snake"].startswith("unknown elementwise")
    assert left["attn.softmax()"].startswith("not elementwise")
    report = at.swap_activations(
        model,
        "relu",
        roles=("hidden", "output"),
        include=["snake", "attn.softmax()"],
        exclude=lambda site: site.name.startswith("attn."),
        example=args,
        inplace=False,
    )
    names = {r.name for r in report.replaced}
    assert "out" in names and "snake" in names
    assert "attn.relu()" not in names and "attn.softmax()" not in names
    left = {x.name: x.reason for x in report.left}
    assert left["attn.relu()"] == "excluded"
    # a glob on module names
    report = at.swap_activations(
        model, "relu", roles=(), include="attn.*", example=args, inplace=False
    )
    assert [r.name for r in report.replaced] == ["attn.relu()"]


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_sites_are_recognised_with_their_roles_and_feeders(name: str) -> None:
    entry = zoo.ZOO[name]
    model = zoo.build(name)
    args, _ = zoo.batch(name, 4)
    sites = {s.name: s for s in at.activation_sites(model, *args)}
    assert set(sites) == set(entry.sites)
    for site_name, fact in entry.sites.items():
        site = sites[site_name]
        assert (site.spec, site.role) == (fact.spec, fact.role), site_name
        if fact.feeder is not None:
            assert site.feeder == fact.feeder, site_name


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_swap_replaces_hidden_sites_only_and_eval_matches_grad_mode(name: str) -> None:
    entry = zoo.ZOO[name]
    model = zoo.build(name)
    args, _ = zoo.batch(name, 4)
    report = at.swap_activations(model, "softsign", example=args)
    hidden = {
        n
        for n, fact in entry.sites.items()
        if fact.role == zoo.HIDDEN and fact.spec not in (zoo.UNKNOWN, zoo.NOT_ELEMENTWISE)
    }
    assert {r.name for r in report.replaced} == hidden
    assert {x.name for x in report.left} == set(entry.sites) - hidden
    model.eval()
    with torch.no_grad():
        fast = _logits(model(*args))
    torch.testing.assert_close(fast, _logits(model(*args)).detach())
    after = {s.name: s for s in at.activation_sites(model, *args)}
    assert sum(s.spec == "softsign" for s in after.values()) == len(hidden)


def test_transformer_fast_path_uses_the_swapped_activation() -> None:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x = torch.randn(3, 5, 8)
    with torch.no_grad():
        before = encoder(x)
    report = at.swap_activations(encoder, "tanh", example=x)
    assert [r.name for r in report.replaced] == ["layers.0.activation", "layers.1.activation"]
    with torch.no_grad():
        fast = encoder(x)
    slow = encoder(x).detach()
    torch.testing.assert_close(fast, slow)
    assert not torch.allclose(fast, before)
    # the same computation written out
    h = x
    for lay in encoder.layers:
        h = lay.norm1(h + lay.self_attn(h, h, h, need_weights=False)[0])
        h = lay.norm2(h + lay.linear2(torch.tanh(lay.linear1(h))))
    torch.testing.assert_close(slow, h.detach(), rtol=1e-5, atol=1e-5)


def test_replacement_callable_gets_the_site() -> None:
    model = zoo.build("mobilenet_v3")
    args, _ = zoo.batch("mobilenet_v3", 2)
    seen = []

    def make(site: at.ActivationSite) -> nn.Module:
        seen.append((site.name, site.spec, site.role))
        return at.get("gelu")

    at.swap_activations(model, make, roles=("gate",), example=args)
    assert seen == [
        ("features.1.block.2.scale_activation", "hard_sigmoid", "gate"),
        ("features.2.block.2.scale_activation", "hard_sigmoid", "gate"),
    ]
    with pytest.raises(TypeError, match=r"must return an nn\.Module"):
        at.swap_activations(zoo.build("resnet"), lambda site: "relu", example=args)


def test_swapped_models_deep_copy_and_vmap() -> None:
    from torch.func import functional_call, stack_module_state, vmap

    torch.manual_seed(0)
    nets = [FunctionalOnly() for _ in range(3)]
    x = torch.randn(3, 4, 3)
    for net in nets:
        at.swap_activations(net, "prelu", example=x[0])
    twin = copy.deepcopy(nets[0])
    torch.testing.assert_close(twin(x[0]), nets[0](x[0]))
    params, buffers = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")
    out = vmap(lambda p, b, xb: functional_call(base, (p, b), (xb,)))(params, buffers, x)
    torch.testing.assert_close(out, torch.stack([n(x[i]) for i, n in enumerate(nets)]))


def test_bad_inputs() -> None:
    model = _mlp()
    with pytest.raises(actlab.SpecError):
        at.swap_activations(model, "nope")
    assert isinstance(model[1], nn.ReLU)  # validated before touching the model
    with pytest.raises(TypeError, match="replacement"):
        at.swap_activations(model, 3)
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        at.swap_activations("model", "relu")
    with pytest.raises(ValueError, match="roles"):
        at.swap_activations(model, "relu", roles=("hiden",))
    with pytest.raises(ValueError, match="no activation of Sequential to swap"):
        at.swap_activations(nn.Sequential(nn.Linear(2, 2)), "relu")
    with pytest.raises(ValueError, match="pass example"):
        at.swap_activations(
            nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(5, 2)), "relu"
        )
    with pytest.raises(TypeError, match="include"):
        at.swap_activations(model, "relu", include=[3])
