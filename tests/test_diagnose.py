"""actlab.diagnose with PyTorch: hooks, signals and findings on real (small) training."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

import actlab.torch
from actlab.diagnose import Finding, monitor
from actlab.diagnose.demos import digits, he_normal_, lecun_normal_, mlp, train
from actlab.diagnose.findings import ADVICE
from actlab.health import VANISHING_RATIO


def kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def one(findings: list[Finding], kind: str) -> Finding:
    found = [f for f in findings if f.kind == kind]
    assert len(found) == 1, kinds(findings)
    return found[0]


def monitored_training(model: nn.Module, steps: int, lr: float = 0.1, every: int = 10, opt="sgd"):
    optimizer = (
        torch.optim.SGD(model.parameters(), lr=lr)
        if opt == "sgd"
        else torch.optim.Adam(model.parameters(), lr=lr)
    )
    with monitor(model, every=every) as mon:
        train(model, optimizer, steps)
    return mon


# ---- hooks and signals ------------------------------------------------------------------
def test_an_empty_batch_records_nothing_and_never_breaks_training() -> None:
    model = mlp(1, 4, nn.ReLU)
    with monitor(model, every=1) as mon:
        model(torch.zeros(0, 64)).sum().backward()
        model(torch.zeros(3, 64)).sum().backward()
    assert [r.step for r in mon.recording.records] == [1]
    assert math.isfinite(mon.recording.records[0].mean)


# ---- hooks and steps ------------------------------------------------------------------------
def _hooks(model: nn.Module) -> int:
    count = 0
    for m in model.modules():
        count += len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
    for p in model.parameters():
        count += len(p._backward_hooks or {})
    return count


def test_hooks_are_removed_on_exit_and_on_exception() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Linear(8, 2))
    with monitor(model) as mon:
        assert _hooks(model) > 0
        model(torch.randn(3, 4)).sum().backward()
    assert _hooks(model) == 0
    assert mon.recording.steps == 1
    with pytest.raises(RuntimeError, match="boom"), monitor(model):
        model(torch.randn(3, 4)).sum().backward()
        raise RuntimeError("boom")
    assert _hooks(model) == 0


def test_steps_count_training_forwards_only() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    with monitor(model, every=3) as mon:
        for _ in range(7):
            model.train()
            model(torch.randn(5, 4)).sum().backward()
            model.eval()
            model(torch.randn(5, 4))
    assert mon.recording.steps == 7
    assert mon.recording.sampled_steps() == [0, 3, 6]


def _forward_hooks(model: nn.Module) -> tuple[int, int, int]:
    """The model's forward pre-hooks, all forward hooks and pre-hooks of the model and its
    submodules, and the gradient hooks on the first weight."""
    every_module = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return len(model._forward_pre_hooks), every_module, len(model[0].weight._backward_hooks or {})


def test_an_unsampled_step_runs_only_the_step_hook_and_the_screen() -> None:
    """The cost every step pays: one forward hook on the model, one gradient hook on the
    first weight. The pre-hook that starts a sampled pass is there only for that pass, and
    a sampled step's gradient-norm hook only until the next step."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    seen = []
    with monitor(model, every=3) as mon:
        seen.append(_forward_hooks(model))
        for _ in range(5):
            model(torch.randn(5, 4)).sum().backward()
            seen.append(_forward_hooks(model))
    assert seen == [
        (1, 2, 1),  # before step 0: armed to trace it
        (0, 1, 2),  # after step 0: its gradient-norm hook on model[0] (the ReLU's feeder)
        (0, 1, 1),  # after step 1: the steady state
        (1, 2, 1),  # after step 2: armed to sample step 3
        (0, 1, 2),
        (0, 1, 1),
    ]
    assert mon.recording.sampled_steps() == [0, 3]


def test_a_monitor_entered_again_keeps_counting_its_steps() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    mon = monitor(model, every=2)
    with mon:
        model(torch.randn(3, 4)).sum().backward()
    with mon:
        for _ in range(3):
            model(torch.randn(3, 4)).sum().backward()
    assert mon.recording.steps == 4 and mon.recording.sampled_steps() == [0, 2]


def test_an_eval_pass_before_the_first_training_step_is_not_traced() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    with monitor(model, every=2) as mon:
        model.eval()
        model(torch.randn(5, 4))
        model.train()
        model(torch.randn(5, 4)).sum().backward()
    assert [la.name for la in mon.recording.layers] == ["1"]  # one call per forward pass
    assert mon.recording.steps == 1 and mon.recording.sampled_steps() == [0]


def test_gradient_norms_of_a_sampled_step_without_backward_are_not_taken_later() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.randn(32, 6)
    with monitor(model, every=1) as mon:
        model(x)  # step 0: no backward pass
        model(x).pow(2).sum().backward()
    first, second = mon.records
    assert (first.step, first.grad_norm) == (0, None)
    assert second.grad_norm == pytest.approx(float(model[0].weight.grad.norm()), rel=1e-6)


class Flaky(nn.Module):
    """A functional activation in ``forward``, which raises after it when ``fail`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 8)
        self.out = nn.Linear(8, 2)
        self.fail = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc(x))
        if self.fail:
            raise RuntimeError("boom")
        return self.out(h)


def test_a_sampled_forward_pass_that_raises_leaves_no_site_hook_or_mode_behind() -> None:
    torch.manual_seed(0)
    model = Flaky()
    x = torch.randn(5, 4)
    with monitor(model, every=1) as mon:
        model(x).sum().backward()
        model.fail = True
        with pytest.raises(RuntimeError, match="boom"):
            model(x)  # step 1 raises inside its sampled pass, the user carries on
        model.fail = False
        assert torch._C._len_torch_function_stack() == 0
        assert len(model._forward_hooks) == 1 and len(model.fc._forward_hooks) == 0
        model(x).sum().backward()
    assert mon.recording.steps == 3 and mon.recording.sampled_steps() == [0, 1, 2]
    assert mon.recording.non_finite is None


def test_recorded_gradient_norm_and_signals_match_direct_computation() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(inplace=True), nn.Linear(16, 3))
    x = torch.randn(32, 6)
    with monitor(model, every=1) as mon:
        model(x).pow(2).sum().backward()
    (record,) = mon.records
    assert record.grad_norm == pytest.approx(float(model[0].weight.grad.norm()), rel=1e-6)
    with torch.no_grad():
        z = model[0](x)
    a = torch.relu(z)
    assert record.dead_fraction == pytest.approx(float((z <= 0).all(0).float().mean()))
    assert record.mean == pytest.approx(float(a.mean()), rel=1e-5)
    assert record.std == pytest.approx(float(a.std(unbiased=False)), rel=1e-5)


class Squash(nn.Module):
    """``clamp(x, -1, 1)^3``: in no catalog; its derivative is 0 beyond +-1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, -1.0, 1.0) ** 3


def test_conv_units_are_channels_and_uncataloged_activations_use_autograd() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), Squash(), nn.Flatten(), nn.Linear(4 * 36, 2))
    with torch.no_grad():
        model[0].bias.copy_(torch.tensor([-50.0, 50.0, 0.0, 0.0]))  # channel 0, 1 pinned flat
    with monitor(model, every=1) as mon:
        model(torch.randn(8, 1, 8, 8)).sum().backward()
    (record,) = mon.records
    # the derivative is exactly 0 beyond +-1: channels 0 and 1 are dead, none saturated.
    assert record.dead_fraction == 0.5
    assert mon.recording.layers[0].activation == "unknown elementwise (Squash)"
    assert mon.recording.layers[0].bounded


def test_actlab_modules_are_watched_with_their_spec() -> None:
    model = nn.Sequential(nn.Linear(3, 5), actlab.torch.get("elu(alpha=0.5)"), nn.Linear(5, 1))
    with monitor(model, every=1) as mon:
        model(torch.randn(4, 3)).sum().backward()
    assert [la.activation for la in mon.recording.layers] == ["elu(alpha=0.5)"]
    assert mon.records[0].grad_norm is not None


@pytest.mark.parametrize(("model", "every"), [("nope", 1), (nn.ReLU(), 0), (nn.ReLU(), 2.5)])
def test_bad_arguments_are_named(model: object, every: object) -> None:
    with pytest.raises((TypeError, ValueError), match=r"nope|str|every"):
        monitor(model, every=every)  # type: ignore[arg-type]


# ---- the phenomena on real training ------------------------------------------------------
def test_deep_sigmoid_vanishes_while_relu_and_selu_do_not() -> None:
    torch.manual_seed(0)
    sigmoid = monitored_training(mlp(10, 64, nn.Sigmoid), 100)
    finding = one(sigmoid.findings, "vanishing_gradient")
    assert finding.layers == ("0", "18")
    assert finding.numbers["ratio"] >= VANISHING_RATIO
    last = sigmoid.recording.at(sigmoid.recording.sampled_steps()[-1])
    assert last["19"].grad_norm >= VANISHING_RATIO * last["1"].grad_norm
    assert "relu" in finding.advice and "He init" in finding.advice

    torch.manual_seed(0)
    relu = monitored_training(mlp(10, 64, nn.ReLU, he_normal_), 100, lr=0.01)
    torch.manual_seed(0)
    selu = monitored_training(mlp(10, 64, nn.SELU, lecun_normal_), 100, lr=0.01)
    for mon in (relu, selu):
        assert "vanishing_gradient" not in kinds(mon.findings)
        last = mon.recording.at(mon.recording.sampled_steps()[-1])
        assert last["19"].grad_norm < 10 * last["1"].grad_norm


def test_negative_bias_kills_relu_units() -> None:
    torch.manual_seed(0)
    dead = monitored_training(
        mlp(3, 64, nn.ReLU, lambda lin: he_normal_(lin, bias=-3.0)), 60, lr=1e-3, opt="adam"
    )
    found = [f for f in dead.findings if f.kind == "dead_units"]
    assert {f.layers[0] for f in found} >= {"3", "5"}
    assert all(f.numbers["dead_fraction"] >= 0.25 for f in found)
    assert "leaky_relu" in found[0].advice
    torch.manual_seed(0)
    healthy = monitored_training(mlp(3, 64, nn.ReLU, he_normal_), 60, lr=1e-3, opt="adam")
    assert "dead_units" not in kinds(healthy.findings)


def test_selu_keeps_its_fixed_point_in_16_layers_and_relu_does_not() -> None:
    torch.manual_seed(0)
    selu = monitored_training(mlp(16, 64, nn.SELU, lecun_normal_), 60, lr=1e-3)
    for r in selu.records:
        assert abs(r.mean) <= 0.1 and abs(r.std - 1.0) <= 0.2, r
    note = one(selu.findings, "self_normalizing")
    assert note.severity == "info" and len(note.layers) == 16
    assert "selu_misuse" not in kinds(selu.findings)
    torch.manual_seed(0)
    relu = monitored_training(mlp(16, 64, nn.ReLU, he_normal_), 60, lr=1e-3)
    assert "self_normalizing" not in kinds(relu.findings)
    assert max(abs(r.mean) for r in relu.records) > 0.1


@pytest.mark.parametrize(
    ("extra", "init", "misuse"),
    [
        ([], None, True),  # PyTorch's default init: std*sqrt(fan_in) ~ 0.58
        ([], lecun_normal_, False),
        ([nn.AlphaDropout(0.1)], lecun_normal_, False),
        ([nn.Dropout(0.1)], lecun_normal_, True),
        ([nn.BatchNorm1d(32)], lecun_normal_, True),
    ],
)
def test_selu_misuse(extra: list[nn.Module], init, misuse: bool) -> None:
    torch.manual_seed(0)
    hidden = nn.Linear(64, 32)
    if init is not None:
        init(hidden)
    model = nn.Sequential(hidden, *extra, nn.SELU(), nn.Linear(32, 10))
    mon = monitored_training(model, 3, lr=1e-3)
    assert ("selu_misuse" in kinds(mon.findings)) is misuse
    if misuse:
        assert "AlphaDropout" in one(mon.findings, "selu_misuse").advice


def test_tanh_driven_into_its_tails_by_a_huge_learning_rate_is_saturated() -> None:
    torch.manual_seed(0)
    huge = monitored_training(mlp(2, 64, nn.Tanh), 60, lr=20.0)
    finding = one(huge.findings, "saturation")
    assert finding.layers == ("1",) and finding.numbers["saturated_fraction"] >= 0.25
    assert "self_normalizing" not in kinds(huge.findings)  # std ~1 from +-1 outputs is not SELU's
    torch.manual_seed(0)
    sane = monitored_training(mlp(2, 64, nn.Tanh), 60, lr=0.1)
    assert "saturation" not in kinds(sane.findings)


class FunctionalRelu(nn.Module):
    def __init__(self, inplace: bool) -> None:
        super().__init__()
        self.a, self.b, self.c, self.act = (
            nn.Linear(64, 32),
            nn.Linear(32, 32),
            nn.Linear(32, 10),
            nn.Tanh(),
        )
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a(x)
        h = F.relu_(h) if self.inplace else F.relu(h)
        return self.c(self.act(self.b(h)))


def test_linear_collapse_found_in_the_forward_pass() -> None:
    collapsed = nn.Sequential(
        nn.Linear(64, 32), nn.Dropout(0.1), nn.BatchNorm1d(32), nn.Linear(32, 32), nn.ReLU(),
        nn.Linear(32, 10),
    )  # fmt: skip
    mon = monitored_training(collapsed, 2, lr=1e-3)
    assert one(mon.findings, "linear_collapse").layers == ("0", "3")
    assert ADVICE["linear_collapse"] == one(mon.findings, "linear_collapse").advice
    plain = monitored_training(mlp(2, 32, None), 2, lr=1e-3)  # no activation module at all
    console = Console(record=True, width=200)
    plain.summary(console)
    assert "No activation was watched" in console.export_text()
    assert [f.layers for f in plain.findings if f.kind == "linear_collapse"] == [
        ("0", "1"),
        ("1", "2"),
    ]
    for inplace in (False, True):  # functional activations are non-linearities too
        assert "linear_collapse" not in kinds(
            monitored_training(FunctionalRelu(inplace), 2).findings
        )


def test_nan_is_reported_at_the_layer_and_step_it_appears() -> None:
    torch.manual_seed(0)
    model = mlp(3, 32, nn.ReLU)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y, _, _ = digits()
    with monitor(model, every=5) as mon:
        for step in range(12):
            if step == 7:
                with torch.no_grad():
                    model[2].weight[0, 0] = math.nan
            optimizer.zero_grad()
            F.cross_entropy(model(x[:64]), y[:64]).backward()
            optimizer.step()
    finding = one(mon.findings, "non_finite")
    assert finding.layers == ("2", "3") and finding.steps == (7, 7)
    assert "output of 2" in finding.message and "step 7" in finding.message
    assert finding.severity == "error"


def test_nan_after_the_last_activation_and_in_gradients() -> None:
    torch.manual_seed(0)
    model = mlp(2, 16, nn.Tanh)
    x, y, _, _ = digits()
    with monitor(model, every=5) as mon:
        for step in range(4):
            if step == 2:
                with torch.no_grad():
                    model[4].weight[0, 0] = math.inf  # the output layer
            F.cross_entropy(model(x[:8]), y[:8]).backward()
    assert (mon.recording.non_finite.step, mon.recording.non_finite.layer) == (2, "4")
    # a gradient that turns non-finite while every activation is finite
    torch.manual_seed(0)
    model = mlp(2, 16, nn.Tanh)
    with monitor(model, every=5) as mon:
        for step in range(3):
            loss = F.cross_entropy(model(x[:8]), y[:8])
            (loss * (math.inf if step == 1 else 1.0)).backward()
    event = mon.recording.non_finite
    assert (event.step, event.where) == (1, "gradient") and event.layer == "4"


@pytest.mark.parametrize("backward", [False, True], ids=["forward only", "with backward"])
@pytest.mark.parametrize("frozen_first_layer", [False, True], ids=["trained", "frozen"])
def test_nan_output_is_located_with_or_without_backward_or_first_gradient(
    backward: bool, frozen_first_layer: bool
) -> None:
    """The output screen runs with the first weight's gradient when there is one; a forward
    pass under no_grad (or with a frozen first layer) is screened all the same, at the step
    it happened, with the weights of that step."""
    torch.manual_seed(0)
    model = mlp(2, 16, nn.ReLU)
    model[0].weight.requires_grad_(not frozen_first_layer)
    x, y, _, _ = digits()
    with monitor(model, every=5) as mon:
        for step in range(4):
            with torch.no_grad():
                model[2].bias[3] = math.nan if step == 2 else 0.0  # only step 2 is poisoned
            with torch.enable_grad() if backward else torch.no_grad():
                loss = F.cross_entropy(model(x[:8]), y[:8])
            if backward:
                loss.backward()
    event = mon.recording.non_finite
    assert (event.step, event.layer, event.where) == (2, "3", "input")


def test_nan_in_the_last_forward_pass_is_found_when_the_block_ends() -> None:
    torch.manual_seed(0)
    model = mlp(1, 8, nn.Tanh)
    x, _, _, _ = digits()
    with monitor(model) as mon:
        model(x[:4])
        model(torch.full_like(x[:4], math.nan))
    assert (mon.recording.non_finite.step, mon.recording.non_finite.layer) == (1, "1")


@pytest.mark.parametrize("every", [5, 2], ids=["next step unsampled", "next step sampled"])
def test_a_nan_in_a_forward_pass_without_backward_is_found_at_the_next_one(every: int) -> None:
    torch.manual_seed(0)
    model = mlp(1, 8, nn.Tanh)
    x, _, _, _ = digits()
    with monitor(model, every=every) as mon:
        model(x[:4]).sum().backward()
        model(torch.full_like(x[:4], math.nan))  # step 1: gradients on, no backward pass
        model(x[:4]).sum().backward()
        event = mon.recording.non_finite
        assert (event.step, event.layer, event.where) == (1, "1", "input")
    if every == 2:  # step 2's signals are its own, not those of the pass that located the NaN
        with torch.no_grad():
            expected = float(torch.tanh(model[0](x[:4])).mean())
        assert mon.recording.at(2)["1"].mean == pytest.approx(expected, rel=1e-5)
    assert mon.recording.sampled_steps() == ([0, 2] if every == 2 else [0])


def test_a_nan_output_that_a_clamped_loss_hides_from_the_gradients_is_found() -> None:
    """``clamp``'s gradient is 0 at a NaN, so the gradients stay finite: only the screen
    of the output sees the step."""
    torch.manual_seed(0)
    model = mlp(1, 8, nn.Tanh)
    x, _, _, _ = digits()
    with monitor(model, every=5) as mon:
        for step in range(3):
            with torch.no_grad():
                model[2].bias[0] = math.nan if step == 1 else 0.0
            model.zero_grad()
            model(x[:8]).clamp(-1.0, 1.0).sum().backward()
            if step == 1:
                assert all(bool(p.grad.isfinite().all()) for p in model[0].parameters())
    event = mon.recording.non_finite
    assert (event.step, event.layer, event.where) == (1, "2", "weight")


class ComplexOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.tanh(self.fc(x))
        return torch.complex(z, z), torch.ones(3, dtype=torch.long)


def test_complex_and_integer_outputs_never_break_training() -> None:
    model = ComplexOutput()
    with monitor(model, every=1) as mon:
        for _ in range(2):
            out, _ = model(torch.randn(5, 4))
            out.abs().sum().backward()
    assert mon.recording.non_finite is None and mon.recording.sampled_steps() == [0, 1]


def test_exploding_gradients_are_reported() -> None:
    torch.manual_seed(0)
    mon = monitored_training(
        mlp(10, 64, nn.ReLU, lambda lin: he_normal_(lin, gain=3.0)), 3, lr=0.0, every=1
    )
    finding = one(mon.findings, "exploding_gradient")
    assert finding.numbers["max_grad_norm"] > 1000


# ---- outputs ----------------------------------------------------------------------------
def test_summary_and_report(tmp_path) -> None:
    torch.manual_seed(0)
    mon = monitored_training(mlp(10, 32, nn.Sigmoid), 40)
    console = Console(record=True, width=140)
    mon.summary(console)
    text = console.export_text()
    assert "vanishing_gradient" in text and "18" in text and "sigmoid" in text
    path = mon.report(tmp_path / "sub" / "r.html", title="deep sigmoid")
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and 'data-figure="signals"' in page
    assert "vanishing_gradient" in page and "deep sigmoid" in page
    assert "http://" not in page.replace("http://www.w3.org", "")


def test_locating_a_nan_leaves_modes_and_batch_norm_statistics_alone() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 10)
    )
    model[3].eval()  # a user's own per-module mode must survive the locating pass
    x, y, _, _ = digits()
    with monitor(model, every=50) as mon:
        for step in range(3):
            if step == 1:
                with torch.no_grad():
                    model[0].weight[3, 3] = math.nan
            F.cross_entropy(model(x[:32]), y[:32]).backward()
    assert (mon.recording.non_finite.step, mon.recording.non_finite.layer) == (1, "2")
    assert int(model[1].num_batches_tracked) == 3  # no extra batch-norm update
    assert [m.training for m in model] == [True, True, True, False, True]


def test_the_quick_screen_waits_for_an_accelerator_once(monkeypatch):
    """The step's screen reads a CPU sum at once (stopping at the first non-finite one) and
    adds an accelerator's sums before one read, so its queue is waited for once a step;
    a NaN or inf in any floating tensor, of any float dtype, is seen either way."""
    from actlab.diagnose.monitor import _sums_finite

    reads = []
    real_item = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda t: reads.append(t) or real_item(t))
    grad, out = torch.ones(3), torch.ones(2, dtype=torch.float16)
    nan = torch.tensor([1.0, math.nan], dtype=torch.float16)
    inf = torch.tensor([math.inf, 1.0])

    def accelerator(device):
        return False

    assert _sums_finite((grad, out, torch.arange(3)))  # integers are not screened
    assert len(reads) == 2
    reads.clear()
    assert not _sums_finite((nan, grad, out)) and len(reads) == 1
    reads.clear()
    assert _sums_finite((grad, out, torch.arange(3)), read_at_once=accelerator)
    assert len(reads) == 1
    for bad in (nan, inf):
        assert not _sums_finite((grad, bad), read_at_once=accelerator)
    assert _sums_finite(()) and _sums_finite((), read_at_once=accelerator)
