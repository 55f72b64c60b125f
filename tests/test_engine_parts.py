"""Engine parts: candidates, paired initialization, metrics, probes (against the catalog's
NumPy derivatives), the masked optimizer and input validation."""

from __future__ import annotations

import copy
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score

import actlab
from actlab.engine import (
    StackedCNN,
    StackedMLP,
    StackedTrainer,
    TrainConfig,
    UserModel,
    batch_order,
    make_candidates,
    probes,
)
from actlab.engine.candidates import Candidate, activation_slices
from actlab.engine.ffn import StackedFFN
from actlab.engine.init import init_std, standard_normals
from actlab.engine.metrics import candidate_loss, evaluate
from actlab.engine.optim import StackedOptimizer
from actlab.engine.probes import PROBES, _count_below, probe
from actlab.engine.stacked import _Head
from actlab.engine.vmap_conv import StackedConv2d, _Conv
from actlab.engine.vmap_linear import StackedLinear, _Linear


def _gain(init: str) -> float:
    assert init.startswith("gain=")
    return float(init.removeprefix("gain="))


def test_candidates_are_activation_major_with_resolved_init():
    cands = make_candidates(["relu", "selu", "tanh", "identity"], [3, 1])
    assert [(c.activation.spec, c.seed) for c in cands] == [
        ("relu", 3), ("relu", 1), ("selu", 3), ("selu", 1),
        ("tanh", 3), ("tanh", 1), ("identity", 3), ("identity", 1),
    ]  # fmt: skip
    # auto: the derived variance-preserving gain, He for relu, LeCun for selu and identity
    gains = [_gain(c.init) for c in cands]
    assert gains[0] == gains[1] == pytest.approx(math.sqrt(2), rel=1e-12)
    assert gains[2] == pytest.approx(1.0, rel=1e-9)
    assert gains[4] == pytest.approx(1.5925374197228312, rel=1e-9)
    assert gains[6] == pytest.approx(1.0, rel=1e-12)
    assert {c.init for c in make_candidates(["relu", "tanh"], [0], init="lecun")} == {"lecun"}
    slices = activation_slices(cands)
    assert [(s.activation.spec, s.start, s.stop) for s in slices] == [
        ("relu", 0, 2), ("selu", 2, 4), ("tanh", 4, 6), ("identity", 6, 8)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activations": ["relu", "relu"], "seeds": [0]}, "duplicates: relu"),
        ({"activations": ["relu"], "seeds": [0, 0]}, "seeds=.*duplicates"),
        ({"activations": [], "seeds": [0]}, "activations is empty"),
        ({"activations": ["relu"], "seeds": []}, "seeds is empty"),
        ({"activations": ["relu"], "seeds": [0], "init": "orthogonal"}, "init='orthogonal'"),
        ({"activations": ["no_such_thing"], "seeds": [0]}, "no_such_thing"),
    ],
)
def test_bad_candidate_requests_name_the_bad_value(kwargs, message):
    with pytest.raises((ValueError, LookupError), match=message):
        make_candidates(**kwargs)


def test_non_contiguous_candidates_are_refused():
    relu, tanh = actlab.get("relu"), actlab.get("tanh")
    cands = [Candidate(relu, 0, "he"), Candidate(tanh, 0, "glorot"), Candidate(relu, 1, "he")]
    with pytest.raises(ValueError, match="not contiguous"):
        activation_slices(cands)


def test_init_is_paired_by_seed_and_scaled_by_scheme():
    cands = make_candidates(["relu", "leaky_relu(alpha=0.5)", "selu", "tanh"], [0, 1])
    net = StackedMLP(cands, n_inputs=50, hidden=(40,), n_outputs=3, dtype=torch.float64)
    w = net.params[0]
    assert not torch.equal(w[0], w[1])  # another seed
    # same seed: the same Z, scaled by each activation's derived gain
    leaky = math.sqrt(2 / (1 + 0.5**2))  # He et al. 2015's gain for leaky ReLU
    torch.testing.assert_close(w[2] / w[0], torch.full_like(w[0], leaky / math.sqrt(2)))
    torch.testing.assert_close(w[0] / w[4], torch.full_like(w[0], math.sqrt(2)))  # He / LeCun
    glorot = make_candidates(["tanh"], [0], init="glorot")
    net_glorot = StackedMLP(glorot, n_inputs=50, hidden=(40,), n_outputs=3, dtype=torch.float64)
    scale = math.sqrt(2 / (50 + 40)) / math.sqrt(1 / 50)
    torch.testing.assert_close(net_glorot.params[0][0] / w[4], torch.full_like(w[0], scale))
    assert all(torch.count_nonzero(b) == 0 for b in net.params[1::2])
    z = standard_normals(0, net.layers)[0]
    torch.testing.assert_close(w[0], z * math.sqrt(2 / 50))
    big = torch.cat([t.flatten() for t in standard_normals(7, net.layers)])
    assert abs(float(big.mean())) < 0.05 and abs(float(big.std()) - 1) < 0.05


def test_init_std_formulas_and_errors():
    assert init_std("he", 8, 3) == math.sqrt(2 / 8)
    assert init_std("lecun", 8, 3) == math.sqrt(1 / 8)
    assert init_std("glorot", 8, 3) == math.sqrt(2 / 11)
    assert init_std("gain=1.5", 8, 3) == 1.5 / math.sqrt(8)
    with pytest.raises(ValueError, match="gain=-1"):
        init_std("gain=-1", 8, 3)
    with pytest.raises(ValueError, match="'xavier'"):
        init_std("xavier", 8, 3)


def test_batch_order_is_a_permutation_fixed_by_seed_and_epoch():
    a = batch_order(3, 1, 50)
    assert sorted(a.tolist()) == list(range(50))
    assert torch.equal(a, batch_order(3, 1, 50))
    assert not torch.equal(a, batch_order(3, 2, 50))
    assert not torch.equal(a, batch_order(4, 1, 50))


def test_loss_and_metrics_per_candidate_match_independent_computations():
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(3, 40, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (40,), generator=gen)
    loss = candidate_loss(out, y, "classification")
    for m in range(3):
        torch.testing.assert_close(loss[m], torch.nn.functional.cross_entropy(out[m], y))
    x = torch.arange(40.0, dtype=torch.float64).reshape(40, 1)
    table = out  # a "network" that looks its output up by sample index
    loss2, acc = evaluate(lambda xb: table[:, xb[0, :, 0].long()], 3, x, y, "classification", 7)
    torch.testing.assert_close(loss2, loss)
    expected = [(out[m].argmax(1) == y).double().mean() for m in range(3)]
    torch.testing.assert_close(acc, torch.stack(expected))
    targets = torch.randn(40, 4, generator=gen, dtype=torch.float64)
    mse, r2 = evaluate(lambda xb: table[:, xb[0, :, 0].long()], 3, x, targets, "regression", 9)
    for m in range(3):
        torch.testing.assert_close(mse[m], torch.nn.functional.mse_loss(out[m], targets))
        assert r2[m].item() == pytest.approx(r2_score(targets.numpy(), out[m].numpy()), 1e-12)


def _probe_oracle(act, z, grad_w):
    """Per-layer probes of one candidate from its pre-activations ``z [P, H]`` with the
    catalog's NumPy derivative."""
    d = np.asarray(act.derivative(z))
    a = np.asarray(act(z))
    dead = (d == 0).all(axis=0)
    sat = ((np.abs(d) < 0.01 * act.max_derivative).mean(axis=0) >= 0.99) & ~dead
    return [np.linalg.norm(grad_w), dead.mean(), sat.mean(), a.mean(), a.std()]


def test_probes_match_a_per_candidate_numpy_oracle():
    # one init scale for all, so the shifts below push units of each into dead or
    # saturated territory
    cands = make_candidates(["relu", "sigmoid", "tanh", "elu"], [0, 1], init="glorot")
    net = StackedMLP(cands, n_inputs=6, hidden=(12, 10), n_outputs=3, dtype=torch.float64)
    with torch.no_grad():  # push some units into dead / saturated territory
        net.params[0].mul_(6.0)
        net.params[1].add_(torch.linspace(-20, 20, 12, dtype=torch.float64))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(200, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (200,), generator=gen)
    got = probe(net, x, y, "classification")
    assert got.shape == (len(PROBES), 2, len(cands))
    for m, c in enumerate(cands):
        params = [p[m].detach().clone().requires_grad_(True) for p in net.params]
        h, zs = x, []
        fn = actlab.backends.torch.functional(c.activation)
        for i in range(2):
            zs.append(h @ params[2 * i] + params[2 * i + 1])
            h = fn(zs[-1])
        loss = torch.nn.functional.cross_entropy(h @ params[4] + params[5], y)
        grads = torch.autograd.grad(loss, [params[0], params[2]])
        for layer in range(2):
            want = _probe_oracle(c.activation, zs[layer].detach().numpy(), grads[layer].numpy())
            np.testing.assert_allclose(got[:, layer, m].numpy(), want, rtol=1e-9, atol=1e-12)
    assert got[1, 0, :2].max() > 0  # relu: dead units exist
    assert got[2, 0, 2:4].max() > 0  # sigmoid: saturated units exist


@pytest.mark.parametrize(
    ("model", "activations"),
    [
        ("mlp", ["relu", "tanh", "prelu", "snake", "identity", "softplus", "xielu"]),
        ("mlp", ["swiglu", "geglu"]),
        ("mlp", ["identity"]),
        ("cnn", ["relu", "sigmoid", "prelu", "elu", "identity"]),
        ("ffn", ["swiglu", "reglu"]),
        ("ffn tokens", ["relu", "gelu", "snake"]),
    ],
)
def test_derivatives_read_off_the_forward_graph_equal_a_second_pass(model, activations):
    """The engine's stacks give f'(z) from the captured forward's own graph: what
    differentiating each activation again gives (plain, learnable, gated, a stack of one
    identity), bit for bit where the probe layout is the forward's (MLP, CNN), to an ulp
    where it is strided (the FFN's); the graph is still there for the probes' backward."""
    cands = make_candidates(activations, [0, 1])
    m = len(cands)
    gen = torch.Generator().manual_seed(4)
    if model == "mlp":
        net = StackedMLP(cands, n_inputs=5, hidden=(6, 7), n_outputs=3)
        x = 3 * torch.randn(m, 30, 5, generator=gen)
    elif model == "cnn":
        net = StackedCNN(cands, (1, 4, 4), channels=(3, 5), n_outputs=3)
        x = 3 * torch.randn(m, 30, 16, generator=gen)
    else:
        tokens = model == "ffn tokens"
        net = StackedFFN(
            cands, n_inputs=6, n_outputs=3, widths=(8, 6), d_model=4, heads=2,
            vocabulary=5 if tokens else None,
        )  # fmt: skip
        x = torch.randint(0, 5, (m, 10, 6), generator=gen) if tokens else torch.randn(m, 10, 6)
    assert net.captures_graph
    out, captured = net.forward(x, capture=True)
    from_graph = net.derivatives(captured)
    out.sum().backward()
    for site, ((z, _), d) in enumerate(zip(captured, from_graph, strict=True)):
        again = net.derivative(z, site)
        if model in ("mlp", "cnn"):
            assert torch.equal(d, again)
        torch.testing.assert_close(d, again, rtol=2**-21, atol=2**-21)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_probes_do_not_depend_on_the_chunking(model):
    cands = make_candidates(["relu", "sigmoid", "softplus"], [0, 1])
    if model == "mlp":
        net = StackedMLP(cands, n_inputs=16, hidden=(12, 10), n_outputs=3, dtype=torch.float64)
    else:
        net = StackedCNN(cands, (1, 4, 4), channels=(3, 5), n_outputs=3, dtype=torch.float64)
    with torch.no_grad():
        net.params[1].add_(torch.linspace(-8, 8, net.params[1].shape[-1], dtype=torch.float64))
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(50, 16, generator=gen, dtype=torch.float64) + 1.5  # mean far from 0
    y = torch.randint(0, 3, (50,), generator=gen)
    whole = probe(net, x, y, "classification")
    for chunk in (7, 25, 49):
        torch.testing.assert_close(
            probe(net, x, y, "classification", chunk), whole, rtol=1e-12, atol=1e-14
        )
    assert whole[1].max() > 0 and whole[2].max() > 0  # dead and saturated units counted


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize("limit", [probes.EXACT_FLOAT32, 1])
def test_flat_tail_counts_are_exact_whole_numbers(dtype, limit, monkeypatch):
    """Counted as a boolean comparison would count them: ties, NaN and inf are not below;
    6000 of a unit's 12000 values, past float16's whole numbers (2048); with ``limit`` 1
    (fewer values per unit than the unit has) through the boolean comparison itself."""
    monkeypatch.setattr(probes, "EXACT_FLOAT32", limit)
    gen = torch.Generator().manual_seed(3)
    magnitude = torch.rand(3, 3000, 2, 4, generator=gen).to(dtype)
    magnitude[0, :7, 1, 0] = torch.tensor([0.5, math.nan, math.inf, 0.0, 0.25, 0.75, 0.5])
    threshold = torch.tensor([0.5, 0.1, 0.9], dtype=dtype).view(-1, 1, 1, 1)
    got = _count_below(magnitude, threshold)
    want = (magnitude < threshold).sum(dim=(1, 3))
    assert got.dtype == torch.int64 and torch.equal(got, want)
    assert want.max() > 2048


def test_probes_of_a_non_finite_candidate_are_nan():
    cands = make_candidates(["relu"], [0, 1])
    net = StackedMLP(cands, n_inputs=3, hidden=(4,), n_outputs=2)
    with torch.no_grad():
        net.params[0][1, 0, 0] = math.inf
    got = probe(net, torch.ones(5, 3), torch.zeros(5, dtype=torch.long), "classification")
    assert torch.isnan(got[:, :, 1]).all() and torch.isfinite(got[:, :, 0]).all()


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_optimizer_masks_frozen_slices_exactly_and_matches_torch(kind):
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(3, 4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    ref = [p[m].detach().clone().requires_grad_(True) for m in range(3)]
    opt = StackedOptimizer([p], kind, lr=0.1, momentum=0.9, weight_decay=0.01)
    cls = torch.optim.Adam if kind == "adam" else torch.optim.SGD
    extra = {} if kind == "adam" else {"momentum": 0.9}
    refs = [cls([r], lr=0.1, weight_decay=0.01, **extra) for r in ref]
    active = torch.ones(3, dtype=torch.bool)
    for step in range(6):
        g = torch.randn(3, 4, 5, generator=gen, dtype=torch.float64)
        if step == 3:
            active[1] = False
            frozen = p[1].detach().clone()
        if step >= 3:
            g[1] = math.nan
        opt.step([g], active)
        for m in (0, 2):
            ref[m].grad = g[m].clone()
            refs[m].step()
    assert torch.equal(p[1].detach(), frozen)
    for m in (0, 2):
        torch.testing.assert_close(p[m].detach(), ref[m].detach(), atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden": (8, 0)}, r"hidden=\(8, 0\)"),
        ({"model": "rnn"}, "model='rnn'"),
        ({"optimizer": "lbfgs"}, "optimizer='lbfgs'"),
        ({"lr": 0.0}, "lr=0.0"),
        ({"momentum": 1.0}, "momentum=1.0"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"epochs": 0}, "epochs=0"),
        ({"early_stopping": 0}, "early_stopping=0"),
        ({"init": "xavier"}, "init='xavier'"),
        ({"dtype": torch.float16}, "dtype=torch.float16"),
    ],
)
def test_bad_config_names_the_bad_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_config_round_trips_through_a_dict():
    cfg = TrainConfig(hidden=(4, 3), dtype=torch.float64, early_stopping=3)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["dtype"] == "float64"


def _splits(**changes):
    rng = np.random.default_rng(0)
    base = {
        "X_train": rng.normal(size=(20, 4)).astype(np.float32),
        "y_train": np.arange(20) % 3,
        "X_val": rng.normal(size=(6, 4)).astype(np.float32),
        "y_val": np.arange(6) % 3,
        "X_test": rng.normal(size=(6, 4)).astype(np.float32),
        "y_test": np.arange(6) % 3,
        "task": "classification",
        "n_outputs": 3,
    }
    base.update(changes)
    return SimpleNamespace(**base)


@pytest.mark.parametrize(
    ("changes", "config", "message"),
    [
        ({"y_val": np.arange(5)}, {}, "y_val has 5 rows but X_val has 6"),
        ({"task": "ranking"}, {}, "task='ranking'"),
        ({"n_outputs": 2}, {}, "class labels span 0..2 but n_outputs=2"),
        ({"X_test": np.zeros((6, 5), np.float32)}, {}, r"X_test has samples of shape \[5\]"),
        ({"X_val": np.full((6, 4), np.nan, np.float32)}, {}, "X_val contains NaN"),
        ({}, {"model": "cnn"}, "model='cnn' needs image_shape"),
    ],
)
def test_bad_data_gets_a_clear_error(changes, config, message):
    with pytest.raises(ValueError, match=message):
        StackedTrainer(
            _splits(**changes), activations=["relu"], seeds=[0], config=TrainConfig(**config)
        )


def test_missing_split_fields_are_named():
    with pytest.raises(TypeError, match="X_test"):
        StackedTrainer(SimpleNamespace(X_train=1), activations=["relu"], seeds=[0])


def test_constructor_needs_exactly_one_way_to_name_candidates():
    with pytest.raises(ValueError, match="either candidates or activations"):
        StackedTrainer(_splits())
    with pytest.raises(ValueError, match="not both"):
        StackedTrainer(_splits(), make_candidates(["relu"], [0]), activations=["relu"])


def test_negative_seeds_are_refused():
    cands = [Candidate(actlab.get("relu"), -1, "he")]
    with pytest.raises(ValueError, match="seeds must be >= 0, got -1"):
        StackedTrainer(_splits(), cands)


def test_stacked_optimizer_accepts_non_contiguous_gradients():
    """torch's fused Adam misreads a transposed gradient; the stacked optimizer must not."""
    from actlab.engine.optim import StackedOptimizer

    torch.manual_seed(0)
    g = torch.randn(2, 4, 3).transpose(1, 2)
    stacked = torch.zeros(2, 3, 4, requires_grad=True)
    StackedOptimizer([stacked], "adam", lr=1e-3).step([g], None)
    plain = torch.zeros(2, 3, 4, requires_grad=True)
    plain.grad = g.clone()
    torch.optim.Adam([plain], lr=1e-3).step()
    torch.testing.assert_close(stacked.detach(), plain.detach(), rtol=1e-6, atol=1e-9)


def _torch_oracle(kind: str, params: list[torch.Tensor], **kw) -> torch.optim.Optimizer:
    if kind == "adam":
        return torch.optim.Adam(params, lr=0.01, fused=True, **kw)
    return torch.optim.SGD(params, lr=0.01, fused=True, **kw)


def _padded_like_the_engine(t: torch.Tensor) -> torch.Tensor:
    """``t`` flat, zero-padded to a multiple of 64 elements (as the optimizer holds it)."""
    out = torch.zeros(t.numel() + (-t.numel()) % 64, dtype=t.dtype)
    out[: t.numel()] = t.reshape(-1)
    return out


@pytest.mark.parametrize(("kind", "momentum"), [("adam", 0.9), ("sgd", 0.9), ("sgd", 0.0)])
def test_the_stacked_optimizer_is_torch_optims_fused_step_bit_for_bit(kind, momentum):
    """The kernels called directly equal ``torch.optim``'s fused Adam / SGD (stepping the
    same zero-padded buffers): parameters and state, over steps, as float32 and float64."""
    gen = torch.Generator().manual_seed(2)
    for dtype in (torch.float32, torch.float64):
        shapes = [(3, 5, 7), (3, 8, 8), (3, 1, 7)]
        start = [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]
        ours = [t.clone().requires_grad_(True) for t in start]
        theirs = [_padded_like_the_engine(t).requires_grad_(True) for t in start]
        opt = StackedOptimizer(ours, kind, lr=0.01, momentum=momentum)
        extra = {} if kind == "adam" else {"momentum": momentum}
        oracle = _torch_oracle(kind, theirs, **extra)
        for _ in range(7):
            grads = [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]
            opt.step(grads, None)
            for t, g in zip(theirs, grads, strict=True):
                t.grad = _padded_like_the_engine(g)
            oracle.step()
        for a, b in zip(ours, theirs, strict=True):
            assert torch.equal(a.detach(), b.detach()[: a.numel()].view(a.shape))
        mine, reference = opt.state_dict()["state"], oracle.state_dict()["state"]
        assert mine.keys() == reference.keys()
        for i, entry in reference.items():
            assert mine[i].keys() == {k for k, v in entry.items() if v is not None}
            for name, value in mine[i].items():
                expected = entry[name] if name == "step" else entry[name][: ours[i].numel()]
                assert value.dtype == expected.dtype
                assert torch.equal(value.reshape(-1), expected.reshape(-1))


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_the_stacked_optimizer_resumes_from_a_torch_optim_state(kind):
    """A checkpoint written when the engine stepped through ``torch.optim`` (its
    ``state_dict``, moments unpadded) continues exactly as ``torch.optim`` would have;
    the optimizer's own ``state_dict`` is a snapshot that later steps do not change."""
    gen = torch.Generator().manual_seed(3)
    shapes = [(4, 3, 5), (4, 16, 4)]
    start = [torch.randn(s, generator=gen) for s in shapes]
    grads = [[torch.randn(s, generator=gen) for s in shapes] for _ in range(6)]
    theirs = [_padded_like_the_engine(t).requires_grad_(True) for t in start]
    oracle = _torch_oracle(kind, theirs, **({} if kind == "adam" else {"momentum": 0.9}))

    def oracle_step(gs: list[torch.Tensor]) -> None:
        for t, g in zip(theirs, gs, strict=True):
            t.grad = _padded_like_the_engine(g)
        oracle.step()

    for gs in grads[:3]:
        oracle_step(gs)
    saved = oracle.state_dict()
    checkpoint = {
        "param_groups": saved["param_groups"],
        "state": {
            i: {
                k: v if k == "step" else v[: start[i].numel()].view(shapes[i]).clone()
                for k, v in entry.items()
            }
            for i, entry in saved["state"].items()
        },
    }
    ours = [
        t.detach()[: s.numel()].view(s.shape).clone().requires_grad_(True)
        for t, s in zip(theirs, start, strict=True)
    ]
    opt = StackedOptimizer(ours, kind, lr=0.01, momentum=0.9)
    opt.load_state_dict(checkpoint)
    snapshot = opt.state_dict()
    before = copy.deepcopy(snapshot)
    for gs in grads[3:]:
        opt.step(gs, None)
        oracle_step(gs)
    for a, t in zip(ours, theirs, strict=True):
        assert torch.equal(a.detach(), t.detach()[: a.numel()].view(a.shape))
    assert snapshot["state"].keys() == before["state"].keys() == {0, 1}
    for i, entry in before["state"].items():
        for name, value in entry.items():
            assert torch.equal(snapshot["state"][i][name], value)
            assert not torch.equal(opt.state_dict()["state"][i][name], value)


@pytest.mark.parametrize("bias", [True, False])
def test_the_stacked_linear_rule_is_a_linear_layer_and_its_derivative(bias):
    """Under vmap (candidates x samples x positions) and outside it: the values of
    F.linear, and derivatives that finite differences confirm (gradcheck)."""
    gen = torch.Generator().manual_seed(0)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=True)

    x, w = draw(2, 3, 2, 4), draw(2, 3, 4)
    b = draw(2, 3) if bias else None
    stacked = torch.func.vmap(
        lambda x, w, b: _Linear.apply(x, w, b), in_dims=(0, 0, 0 if bias else None)
    )
    reference = torch.func.vmap(torch.nn.functional.linear, in_dims=(0, 0, 0 if bias else None))
    torch.testing.assert_close(stacked(x, w, b), reference(x, w, b))
    assert torch.autograd.gradcheck(stacked, (x, w, b))
    assert torch.autograd.gradcheck(_Linear.apply, (x[0], w[0], None if b is None else b[0]))
    shared = torch.func.vmap(lambda x, w: _Linear.apply(x, w, None), in_dims=(0, None))
    assert torch.autograd.gradcheck(shared, (x, w[0]))  # one weight for every candidate


def test_the_engines_output_layer_is_each_candidates_affine_map_and_its_derivative():
    """y[m] = b[m] + h[m] W[m]; the derivatives by finite differences (gradcheck), also
    with h from a non-contiguous layout (the CNN's flattened features) and when only some
    inputs need a gradient (the probes' backward skips W and b)."""
    gen = torch.Generator().manual_seed(0)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=True)

    h, w, b = draw(3, 5, 4), draw(3, 4, 2), draw(3, 1, 2)
    y = _Head.apply(h, w, b)
    for m in range(3):
        torch.testing.assert_close(y[m], b[m] + h[m] @ w[m], atol=1e-15, rtol=0)
    assert torch.autograd.gradcheck(_Head.apply, (h, w, b))
    batch_major = draw(5, 3, 4)
    assert torch.autograd.gradcheck(lambda t: _Head.apply(t.transpose(0, 1), w, b), batch_major)
    (dh,) = torch.autograd.grad(_Head.apply(h, w.detach(), b.detach()).square().sum(), h)
    (ref,) = torch.autograd.grad(torch.baddbmm(b, h, w).square().sum(), h)
    torch.testing.assert_close(dh, ref, atol=1e-13, rtol=0)


CONV_CASES = {
    # name: (spatial dims, groups, stride, padding, dilation, bias)
    "conv2d": (2, 1, 1, 1, 1, True),
    "strided, dilated, no bias": (2, 1, 2, 2, 2, False),
    "grouped": (2, 2, 1, 1, 1, True),
    "padding same": (2, 1, 1, "same", 1, True),
    "conv1d": (1, 1, 1, 1, 1, True),
    "conv3d": (3, 1, 1, 0, 1, False),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_the_stacked_conv_rule_is_each_candidates_convolution_and_its_derivative(case):
    """Under vmap (2 candidates, 2 samples), with per-candidate or shared weights and
    inputs, and on one unbatched sample: the values and gradients of vmap's own F.conv
    (gradcheck confirms them by finite differences for the plain 2-d case); outside vmap,
    the plain convolution."""
    spatial, groups, stride, padding, dilation, bias = CONV_CASES[case]
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[spatial]
    gen = torch.Generator().manual_seed(0)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=True)

    x, w = draw(2, 2, 2, *(5,) * spatial), draw(2, 4, 2 // groups, *(3,) * spatial)
    b = draw(2, 4) if bias else None
    conf = (stride, padding, dilation, groups)

    def ours(x, w, b):
        return _Conv.apply(x, w, b, *conf)

    def theirs(x, w, b):
        return conv(x, w, b, *conf)

    def check(in_dims, args):
        got = torch.func.vmap(ours, in_dims=in_dims)
        want = torch.func.vmap(theirs, in_dims=in_dims)
        torch.testing.assert_close(got(*args), want(*args))
        used = [a for a in args if a is not None]
        out = got(*args)
        cotangent = torch.randn(out.shape, generator=gen, dtype=out.dtype)
        torch.testing.assert_close(
            torch.autograd.grad(out, used, cotangent),
            torch.autograd.grad(want(*args), used, cotangent),
        )
        if case == "conv2d":
            assert torch.autograd.gradcheck(got, args), in_dims

    b_dim = 0 if bias else None
    check((0, 0, b_dim), (x, w, b))
    check((None, 0, b_dim), (x[0], w, b))  # one input for every candidate
    check((0, None, None), (x, w[0], None if b is None else b[0]))  # shared weights
    check((1, 0, b_dim), (x.movedim(0, 1), w, b))  # the candidate axis second
    check((0, 0, b_dim), (x[:, 0], w, b))  # one unbatched sample per candidate
    plain = (x[0], w[0], None if b is None else b[0])
    torch.testing.assert_close(ours(*plain), theirs(*plain))
    if case == "conv2d":
        assert torch.autograd.gradcheck(ours, plain)


def test_a_vmapped_user_stack_uses_the_stacked_layers_and_the_fallback_does_not():
    """Each plain nn.Linear / nn.Conv2d of a vmapped stack runs as StackedLinear /
    StackedConv2d (a convolution with another padding mode keeps vmap's own rule); a
    stack that runs its candidates one at a time keeps the plain layers."""
    splits = SimpleNamespace(
        X_train=np.random.default_rng(0).normal(size=(8, 1, 4, 4)), y_train=np.arange(8) % 2,
        X_val=np.zeros((2, 1, 4, 4)), y_val=np.array([0, 1]), X_test=np.zeros((2, 1, 4, 4)),
        y_test=np.array([0, 1]), task="classification", n_outputs=2, image_shape=None,
    )  # fmt: skip

    def net():
        return torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Tanh(),
            torch.nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), torch.nn.Tanh(),
            torch.nn.Flatten(), torch.nn.Linear(32, 2),
        )  # fmt: skip

    kinds = {}
    for vectorize in (True, False):
        trainer = StackedTrainer(
            splits, activations=["relu"], seeds=[0, 1], model=UserModel(net, vectorize=vectorize)
        )
        layers = [type(m) for m in trainer.net.template.modules()][1:]
        kinds[vectorize] = layers[0::2] + layers[5:]  # the selectors left out
    nn = torch.nn
    assert kinds[True] == [StackedConv2d, nn.Conv2d, nn.Flatten, StackedLinear]
    assert kinds[False] == [nn.Conv2d, nn.Conv2d, nn.Flatten, nn.Linear]


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_a_candidates_update_does_not_depend_on_the_stack_around_it(kind):
    """Bit for bit, wherever it sits: torch's fused kernels round the last numel % width
    elements differently (the run with seeds added later must equal a run that had them)."""
    gen = torch.Generator().manual_seed(1)
    full = torch.randn(30, 1, 3, generator=gen)  # 3 values a candidate: tails of any width
    grads = [torch.randn(30, 1, 3, generator=gen) for _ in range(8)]
    active = torch.ones(30, dtype=torch.bool)
    active[5] = False

    def trained(rows: slice) -> tuple[torch.Tensor, dict]:
        p = full[rows].clone().requires_grad_(True)
        opt = StackedOptimizer([p], kind, lr=0.05, momentum=0.9, weight_decay=0.01)
        for g in grads:
            opt.step([g[rows]], active[rows])
        return p.detach(), opt.state_dict()

    whole, state = trained(slice(0, 30))
    for rows in (slice(0, 13), slice(13, 30), slice(5, 6)):
        part, _ = trained(rows)
        assert torch.equal(part, whole[rows]), rows
    moments = [v for e in state["state"].values() for v in e.values() if torch.is_tensor(v)]
    assert any(v.shape == (30, 1, 3) for v in moments)  # stored unpadded


def test_a_candidate_record_is_asdict_and_shares_no_container():
    from dataclasses import asdict

    from actlab.engine.results import CandidateResult

    record = CandidateResult(
        activation="prelu",
        seed=3,
        status="ok",
        history={"val_loss": [0.5, math.nan], "grad_norm": [[1.0, 2.0], [3.0, 4.0]]},
        widths=[128, 128],
        learned={"alpha": [0.2, 0.3]},
        test_bpc=None,
    )
    plain = record.to_dict()
    assert plain.keys() == asdict(record).keys()
    assert repr(plain) == repr(asdict(record))  # equal, NaN included
    plain["history"]["grad_norm"][0].append(9.0)
    plain["history"]["val_loss"].append(1.0)
    plain["widths"].append(1)
    plain["learned"]["alpha"].append(1.0)
    assert record.history == {
        "val_loss": [0.5, record.history["val_loss"][1]],
        "grad_norm": [[1.0, 2.0], [3.0, 4.0]],
    }
    assert record.widths == [128, 128] and record.learned == {"alpha": [0.2, 0.3]}
