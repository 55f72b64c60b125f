"""actlab.monitor on the zoo of real architectures: what it watches, no false alarms on
healthy training, every dtype, bounded sampling, and the torch-side signals."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
from actlab.diagnose import monitor
from actlab.diagnose import signals as site_signals
from actlab.diagnose.sampling import ELEMENT_BUDGET, subsample
from actlab.engine.probes import layer_signals


def _watched(name: str) -> dict[str, zoo.Site]:
    return {n: f for n, f in zoo.ZOO[name].sites.items() if f.spec != zoo.NOT_ELEMENTWISE}


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_healthy_zoo_training_has_no_findings_and_every_site_is_watched(name: str) -> None:
    model = zoo.build(name)
    with monitor(model, every=4) as mon:
        losses = zoo.train(name, model, 20)
    assert all(math.isfinite(v) for v in losses)
    assert mon.findings == [], [f.message for f in mon.findings]
    layers = {la.name: la for la in mon.recording.layers}
    expected = _watched(name)
    assert set(layers) == set(expected)
    for site, fact in expected.items():
        assert layers[site].role == fact.role, site
        if fact.feeder is not None:
            assert layers[site].feeder == fact.feeder, site
        if fact.spec != zoo.UNKNOWN:
            assert layers[site].activation == fact.spec, site
    steps = mon.recording.sampled_steps()
    assert steps == [0, 4, 8, 12, 16]
    for step in steps:  # one record per call site and sampled step
        assert set(mon.recording.at(step)) == set(expected)


@pytest.mark.parametrize("mode", ["float16", "bfloat16", "autocast"])
@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_no_crash_and_float32_signals_in_every_dtype(name: str, mode: str) -> None:
    model = zoo.build(name)
    if mode != "autocast":
        model = model.to(getattr(torch, mode))
    with monitor(model, every=2) as mon:
        zoo.train(
            name,
            model,
            3,
            n=8,
            sgd=True,
            autocast=torch.bfloat16 if mode == "autocast" else None,
        )
    assert mon.recording.non_finite is None
    assert set(mon.recording.at(2)) == set(_watched(name))
    for r in mon.records:
        assert math.isfinite(r.mean) and math.isfinite(r.std)
        assert 0.0 <= r.dead_fraction <= 1.0


def test_a_module_called_twice_is_recorded_per_call_with_its_own_feeder() -> None:
    model = zoo.build("resnet")
    args, y = zoo.batch("resnet", 8)
    with monitor(model, every=1) as mon:
        F.cross_entropy(model(*args), y).backward()
    at = mon.recording.at(0)
    first, second = at["layer1.0.relu#0"], at["layer1.0.relu#1"]
    assert first.mean != second.mean
    layers = {la.name: la for la in mon.recording.layers}
    assert layers["layer1.0.relu#0"].feeder == "layer1.0.conv1"
    assert layers["layer1.0.relu#1"].feeder is None  # after the residual sum
    # zero-initialised last batch norm: the block's own layers are damped
    assert layers["layer1.0.relu#0"].damped_by == "layer1.0.bn2.weight"
    assert first.grad_norm == pytest.approx(float(model.layer1[0].conv1.weight.grad.norm()))


def test_the_squeeze_excite_feeder_comes_from_the_data_flow() -> None:
    model = zoo.build("mobilenet_v3")
    args, y = zoo.batch("mobilenet_v3", 8)
    with monitor(model, every=1) as mon:
        F.cross_entropy(model(*args), y).backward()
    se = model.features[1].block[2]
    record = mon.recording.at(0)["features.1.block.2.activation"]
    assert record.grad_norm == pytest.approx(float(se.fc1.weight.grad.norm()))
    gate = mon.recording.at(0)["features.1.block.2.scale_activation"]
    assert gate.grad_norm == pytest.approx(float(se.fc2.weight.grad.norm()))


def test_functional_sites_are_watched_and_match_a_direct_computation() -> None:
    torch.manual_seed(0)
    model = zoo.build("functional")
    args, y = zoo.batch("functional", 4)
    with monitor(model, every=1) as mon:
        F.binary_cross_entropy(model(*args), y).backward()
    with torch.no_grad():
        z = model.conv1(args[0])
    record = mon.recording.at(0)["relu()"]
    a = torch.relu(z)
    assert record.mean == pytest.approx(float(a.mean()), rel=1e-5)
    assert record.dead_fraction == float((z <= 0).all(dim=(0, 2, 3)).float().mean())
    assert record.mean_se == 0.0  # 4 x 8 x 8 x 8 elements: all of them are used


def test_sampled_steps_copy_nothing_to_numpy() -> None:
    model = zoo.build("efficientnet")
    calls = []

    def guard(step: int) -> None:
        if step == 0:  # after the traced first step
            original = torch.Tensor.numpy

            def numpy(self: torch.Tensor, *a: object, **k: object) -> object:
                calls.append(tuple(self.shape))
                return original(self, *a, **k)

            torch.Tensor.numpy = numpy  # type: ignore[method-assign]
            guard.original = original  # type: ignore[attr-defined]

    try:
        with monitor(model, every=1) as mon:
            zoo.train("efficientnet", model, 3, n=4, on_step=guard)
    finally:
        torch.Tensor.numpy = guard.original  # type: ignore[attr-defined,method-assign]
    assert calls == [] and mon.recording.sampled_steps() == [0, 1, 2]


# ---- the subsample -------------------------------------------------------------------------
def test_large_activations_are_subsampled_within_the_budget() -> None:
    conv = nn.Sequential(nn.Conv2d(3, 200, 3, padding=1), nn.SiLU(), nn.Conv2d(200, 2, 1))
    x = torch.randn(16, 3, 32, 32)
    with monitor(conv, every=1) as mon:
        conv(x).sum().backward()
    (r,) = mon.records
    assert r.units * r.samples <= ELEMENT_BUDGET
    assert (r.total_units, r.units) == (200, 128)
    with torch.no_grad():
        a = F.silu(conv[0](x))
    # the full layer's mean is within a few standard errors of the subsample's
    assert abs(r.mean - float(a.mean())) <= 4 * r.mean_se and r.mean_se > 0


def test_subsample_standard_error_covers_the_full_mean() -> None:
    """Simulation with a known truth: over many layers, the full-batch mean lies within 2
    standard errors of the subsample's mean about 95% of the time."""
    gen = torch.Generator().manual_seed(0)
    shape = (32, 64, 16, 16)
    sub = subsample(shape, 1, torch.device("cpu"))
    inside = 0
    trials = 200
    for _ in range(trials):
        scale = torch.rand(1, 64, 1, 1, generator=gen) * 2
        x = torch.randn(shape, generator=gen) * scale + torch.randn(1, 64, 1, 1, generator=gen)
        z = sub.gather(x)
        n, total = sub.elements, sub.total
        se = float(z.std(unbiased=False)) / math.sqrt(n) * math.sqrt(1 - n / total)
        inside += abs(float(z.mean()) - float(x.mean())) <= 2 * se
    assert 0.9 <= inside / trials <= 0.99


def test_the_gather_reads_the_subsample_it_describes_from_any_memory_layout() -> None:
    # every element kept: the gather is the input with its units first, samples row-major
    x = torch.randn(4, 3, 2, 5)
    sub = subsample(tuple(x.shape), 1, x.device)
    assert (sub.units, sub.samples) == (3, 40)
    assert torch.equal(sub.gather(x), x.movedim(1, 0).reshape(3, -1))
    # subsampled: each element's value is its flat position, so the gather shows which
    # elements it took: distinct units per row, the same sample positions in every row
    shape = (16, 200, 6, 6)
    code = torch.arange(math.prod(shape), dtype=torch.float64).view(shape)
    sub = subsample(shape, 1, code.device)
    taken = torch.stack(torch.unravel_index(sub.gather(code).long(), shape))  # [4, u, k]
    assert (sub.units, sub.total_units) == (128, 200) and sub.elements <= ELEMENT_BUDGET
    assert (taken[1] == taken[1][:, :1]).all() and taken[1][:, 0].unique().numel() == 128
    rest = taken[[0, 2, 3]]
    assert (rest == rest[:, :1]).all()  # the same samples for every unit
    assert rest[:, 0].T.unique(dim=0).shape[0] == sub.samples
    # strided views (channels-last, a slice of a wider tensor, a transpose) and low
    # precision read the same elements as a contiguous float32 copy; a later in-place
    # change of the input does not reach the gathered copy
    wide = torch.randn(16, 400, 6, 6)
    views = [
        wide[:, :200].contiguous().to(memory_format=torch.channels_last),
        wide[:, 200:],
        wide[:, :200].transpose(0, 2).contiguous().transpose(0, 2),
    ]
    for view in views:
        assert torch.equal(sub.gather(view), sub.gather(view.contiguous()))
    half = wide[:, :200].to(torch.bfloat16)
    got = sub.gather(half)
    assert got.dtype == torch.float32 and torch.equal(got, sub.gather(half.float()))
    half.add_(1.0)
    assert not torch.equal(got, sub.gather(half))


@pytest.mark.parametrize("device_kernel", [True, False])
def test_all_sites_signals_at_once_equal_the_engines_per_layer_signals(
    device_kernel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Oracle: :func:`layer_signals` per site, on sites of different shapes with planted
    dead units (zero derivative on every sample), saturated units (flat on 99 of 100
    samples) and almost-saturated ones (flat on 98), and a one-element site; both the
    segment-reduce kernel and the ``index_add_`` path of other devices."""
    if not device_kernel:
        monkeypatch.setattr(site_signals, "SEGMENT_REDUCE", frozenset())
    gen = torch.Generator().manual_seed(0)
    shapes = [(8, 100), (32, 16), (8, 100), (5, 3), (1, 1), (128, 64)]
    max_derivatives = [1.0, 0.25, 1.1, float("inf"), 1.0, 1.0]
    ds, as_ = [], []
    for j, (u, k) in enumerate(shapes):
        d = torch.randn(u, k, generator=gen).abs() + 0.05
        d[: u // 4] = 0.0  # dead
        if k == 100:
            d[u // 4, :99] = 1e-4  # saturated
            d[u // 4 + 1, :98] = 1e-4  # not saturated
        ds.append(d)
        as_.append(torch.randn(u, k, generator=gen) * (j + 1) + j)
    places = site_signals.layout(shapes, max_derivatives, torch.device("cpu"))
    got = site_signals.signals(
        torch.cat([d.flatten() for d in ds]), torch.cat([a.flatten() for a in as_]), places
    )
    expected = torch.stack(
        [
            layer_signals(d[None, None], a[None, None], [m])[:, 0]
            for d, a, m in zip(ds, as_, max_derivatives, strict=True)
        ],
        1,
    )
    assert got.shape == (4, len(shapes))
    torch.testing.assert_close(got, expected.float(), rtol=1e-5, atol=1e-6)
    assert got[1, 0] == 1 / 8 and got[1, 2] == 1 / 8  # the planted saturated unit, not the 98
    with pytest.raises(ValueError, match="at least one unit"):
        site_signals.layout([(3, 0)], [1.0], torch.device("cpu"))


def test_torch_signals_against_hand_computed_values() -> None:
    # 100 samples x 4 units: unit 0 always zero derivative (dead), unit 1 flat on 99 of 100
    # samples (saturated), unit 2 flat on 98 (not saturated), unit 3 healthy.
    d = torch.ones(100, 4)
    d[:, 0] = 0.0
    d[:99, 1] = 0.009
    d[:98, 2] = 0.009
    a = torch.arange(400.0).reshape(100, 4)
    dead, saturated, mean, std = layer_signals(d[None, :, :, None], a[None, :, :, None], [1.0])[
        :, 0
    ].tolist()
    assert (dead, saturated) == (0.25, 0.25)
    assert mean == pytest.approx(float(a.mean())) and std == pytest.approx(float(a.std(False)))


# ---- held-out phenomena on zoo-shaped models -----------------------------------------------
class MissingActivation(nn.Module):
    """A ResNet stem whose conv feeds the next conv with no activation (batch norm only)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.conv2(self.bn1(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


def test_linear_collapse_is_found_but_bottlenecks_and_norm_act_modules_are_not() -> None:
    model = MissingActivation()
    with monitor(model, every=1) as mon:
        model(zoo.image_like(4, (3, 8, 8), torch.Generator().manual_seed(0))).sum().backward()
    (finding,) = [f for f in mon.findings if f.kind == "linear_collapse"]
    assert finding.layers == ("conv1", "conv2")
    assert finding.numbers == {"in": 3.0, "middle": 16.0, "out": 16.0}
    for name in ("mobilenet_v2", "efficientnet", "convnext"):
        built = zoo.build(name)
        with monitor(built, every=1) as mon:
            zoo.train(name, built, 1, n=4)
        assert mon.recording.structure.linear_pairs == ()
