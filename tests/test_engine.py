"""The stacked trainer: equivalence with plain PyTorch, divergence isolation, freezing,
early stopping and exact resume."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import actlab.torch
from actlab.backends.torch import LearnableActivation
from actlab.backends.torch.modules import initial_raw, learnable_params
from actlab.engine import EPOCH_PHASES, StackedMLP, StackedTrainer, TrainConfig, batch_order
from actlab.store.checkpoint import read_checkpoint, write_checkpoint
from actlab.store.run_dir import json_safe

NATIVE = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "identity": nn.Identity,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
}


LEARNABLE = ["relu", "prelu", "star_relu", "xielu(alpha_p=0.5, alpha_n=0.9)", "snake"]
"""Every learnable entry (xielu's alphas apart, each kept above its own bound), and a
fixed one in the same stack."""


def activation_module(activation, dtype) -> nn.Module:
    """torch's own module, or for a learnable entry the torch binding's module (its
    parameters ``nn.Parameter``s of ``dtype``, trained by the plain loop's optimizer)."""
    if not activation.learnable:
        return NATIVE[activation.name]()
    module = actlab.torch.get(activation).to(dtype)
    with torch.no_grad():  # the start in dtype, not float32's rounding of it converted
        for p in learnable_params(activation):
            getattr(module, module.parameter_name(p.name)).fill_(initial_raw(activation, p))
    return module


def blobs(n=96, features=5, classes=3, seed=0, task="classification"):
    """Small synthetic splits (60/20/20)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    if task == "classification":
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
        outputs = classes
    else:
        y = (x[:, :2] @ np.array([[1.0, 0.5], [-0.3, 2.0]]) + 0.1 * x[:, 2:4]).astype(np.float32)
        outputs = 2
    a, b = int(0.6 * n), int(0.8 * n)
    return SimpleNamespace(
        X_train=x[:a],
        y_train=y[:a],
        X_val=x[a:b],
        y_val=y[a:b],
        X_test=x[b:],
        y_test=y[b:],
        task=task,
        n_outputs=outputs,
        image_shape=None,
    )


def digits_images(n=150):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x[:n] / 16.0).astype(np.float32)
    y = y[:n]
    a, b = int(0.6 * n), int(0.8 * n)
    return SimpleNamespace(
        X_train=x[:a],
        y_train=y[:a],
        X_val=x[a:b],
        y_val=y[a:b],
        X_test=x[b:],
        y_test=y[b:],
        task="classification",
        n_outputs=10,
        image_shape=(1, 8, 8),
    )


def reference_mlp(trainer, index):
    """A plain nn.Sequential holding candidate ``index``'s current stacked weights."""
    c = trainer.candidates[index]
    params = trainer.net.params
    layers: list[nn.Module] = []
    for i in range(len(params) // 2):
        w, b = params[2 * i][index], params[2 * i + 1][index]
        lin = nn.Linear(w.shape[0], w.shape[1], dtype=w.dtype)
        with torch.no_grad():
            lin.weight.copy_(w.T)
            lin.bias.copy_(b.reshape(-1))
        layers.append(lin)
        if i < len(params) // 2 - 1:
            layers.append(activation_module(c.activation, w.dtype))
    return nn.Sequential(*layers)


def reference_cnn(trainer, index):
    c = trainer.candidates[index]
    p = [t[index] for t in trainer.net.params]
    layers: list[nn.Module] = [nn.Unflatten(1, trainer.data.image_shape)]
    for i in range(len(p) // 2 - 1):
        w, b = p[2 * i], p[2 * i + 1]
        conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=w.shape[2] // 2, dtype=w.dtype)
        with torch.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(b)
        layers += [conv, activation_module(c.activation, w.dtype)]
    w, b = p[-2], p[-1]
    head = nn.Linear(w.shape[0], w.shape[1], dtype=w.dtype)
    with torch.no_grad():
        head.weight.copy_(w.T)
        head.bias.copy_(b.reshape(-1))
    return nn.Sequential(*layers, nn.Flatten(), head)


def train_alone(model, trainer, index):
    """The plain loop: same batches (``batch_order``), torch.optim, one model."""
    cfg, c = trainer.config, trainer.candidates[index]
    x, y = trainer.data.train
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    loss_fn = nn.CrossEntropyLoss() if trainer.data.task == "classification" else nn.MSELoss()
    for epoch in range(1, cfg.epochs + 1):
        order = batch_order(c.seed, epoch, x.shape[0])
        for start in range(0, x.shape[0], cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
    return model


def assert_same_weights(trainer, index, model, atol):
    """Stacked ``W [in, out]`` / ``b [1, out]`` against nn.Linear's ``[out, in]`` / ``[out]``,
    and any learnable activation parameters (:func:`assert_same_learned`)."""
    linear = [p for m in model if isinstance(m, nn.Linear) for p in m.parameters()]
    for s, a in zip(trainer.net.params, linear, strict=True):
        a = a.detach()
        a = a.T if a.dim() == 2 else a.reshape(1, -1)
        torch.testing.assert_close(s[index].detach(), a, atol=atol, rtol=0)
    assert_same_learned(trainer.net.learned()[index], model, atol)


def assert_same_learned(stacked, model, atol):
    """A stacked candidate's learned activation values (``{name: [per layer]}``) against
    the plain model's learnable modules, layer by layer; none on either side for a fixed
    activation."""
    modules = [m for m in model.modules() if isinstance(m, LearnableActivation)]
    plain: dict[str, list[float]] = {}
    for m in modules:
        for name, value in m.learned().items():
            plain.setdefault(name, []).append(value)
    assert stacked.keys() == plain.keys()
    for name, values in plain.items():
        np.testing.assert_allclose(stacked[name], values, atol=atol, rtol=0, err_msg=name)


@pytest.mark.parametrize(
    ("optimizer", "extra", "task", "activations"),
    [
        ("adam", {}, "classification", ["relu", "tanh", "selu"]),
        ("adam", {"weight_decay": 1e-2}, "regression", ["relu", "tanh", "selu"]),
        ("sgd", {"momentum": 0.9, "weight_decay": 1e-3, "lr": 0.05}, "classification",
         ["relu", "tanh", "selu"]),
        ("adam", {"lr": 0.01}, "classification", LEARNABLE),
        ("sgd", {"momentum": 0.9, "weight_decay": 1e-3, "lr": 0.01}, "regression", LEARNABLE),
    ],
)  # fmt: skip
def test_stacked_candidate_equals_plain_torch_loop(optimizer, extra, task, activations):
    """Weights, and a learnable activation's parameters per layer, equal those of the
    candidate trained alone (torch's module, or the torch binding's learnable one)."""
    splits = blobs(task=task)
    cfg = TrainConfig(
        hidden=(8, 6), optimizer=optimizer, batch_size=16, epochs=3, dtype=torch.float64, **extra
    )
    trainer = StackedTrainer(splits, activations=activations, seeds=[0, 3], config=cfg)
    models = {i: reference_mlp(trainer, i) for i in range(len(trainer.candidates))}
    trainer.run()
    for i, model in models.items():
        assert_same_weights(trainer, i, train_alone(model, trainer, i), atol=1e-10)
    assert_learned_moved(trainer)


def assert_learned_moved(trainer, at_least=1e-4):
    """Every learnable activation parameter of every candidate and layer left its start
    by more than ``at_least``."""
    for c, learned in zip(trainer.candidates, trainer.net.learned(), strict=True):
        assert learned.keys() == set(c.activation.learnable)
        for name, values in learned.items():
            start = c.activation.params[name]
            moved = [abs(v - start) > at_least for v in values]
            assert all(moved), (c.activation.spec, name, values)


@pytest.mark.parametrize("activations", [["elu", "sigmoid"], ["prelu", "snake(frequency=2)"]])
def test_stacked_cnn_candidate_equals_plain_torch_loop(activations):
    splits = digits_images()
    cfg = TrainConfig(
        model="cnn", channels=(3, 4), batch_size=32, epochs=1, lr=0.01, dtype=torch.float64
    )
    trainer = StackedTrainer(splits, activations=activations, seeds=[1, 2], config=cfg)
    models = {i: reference_cnn(trainer, i) for i in range(4)}
    trainer.run()
    for i, model in models.items():
        alone = train_alone(model, trainer, i)
        conv = [m for m in alone if isinstance(m, nn.Conv2d)]
        head = alone[-1]
        p = trainer.net.params
        for k, layer in enumerate(conv):
            torch.testing.assert_close(
                p[2 * k][i].detach(), layer.weight.detach(), atol=1e-10, rtol=0
            )
            torch.testing.assert_close(
                p[2 * k + 1][i].detach(), layer.bias.detach(), atol=1e-10, rtol=0
            )
        torch.testing.assert_close(p[-2][i].detach(), head.weight.detach().T, atol=1e-10, rtol=0)
        assert_same_learned(trainer.net.learned()[i], alone, atol=1e-10)


def test_float32_stack_matches_plain_loop_to_float_tolerance():
    splits = blobs()
    cfg = TrainConfig(hidden=(16,), batch_size=16, epochs=3)
    trainer = StackedTrainer(splits, activations=["leaky_relu", "identity"], seeds=[0], config=cfg)
    models = {i: reference_mlp(trainer, i) for i in range(2)}
    trainer.run()
    for i, model in models.items():
        assert_same_weights(trainer, i, train_alone(model, trainer, i), atol=1e-5)


def _params(trainer, index):
    return [t[index].detach().clone() for t in trainer.net.params]


def test_a_diverging_candidate_changes_nothing_else():
    splits = blobs()
    cfg = TrainConfig(hidden=(8,), batch_size=16, epochs=3, dtype=torch.float64)
    base = StackedTrainer(splits, activations=["relu", "tanh"], seeds=[0, 1], config=cfg)
    with_bad = StackedTrainer(
        splits, activations=["relu", "tanh", "identity"], seeds=[0, 1], config=cfg
    )
    with torch.no_grad():
        with_bad.net.params[0][4, 0, 0] = math.inf  # identity, seed 0
    injected = _params(with_bad, 4)
    base_results, bad_results = base.run(), with_bad.run()
    for i in range(4):
        for a, b in zip(_params(base, i), _params(with_bad, i), strict=True):
            assert torch.equal(a, b)
        assert json_safe(base_results[i].to_dict() | {"history": None}) == json_safe(
            bad_results[i].to_dict() | {"history": None}
        )
    bad = bad_results[4]
    assert (bad.status, bad.diverged_epoch, bad.diverged_step) == ("diverged", 1, 1)
    assert bad_results[5].status == "ok"
    for a, b in zip(injected, _params(with_bad, 4), strict=True):
        assert torch.equal(a, b)
    record = json_safe(bad.to_dict())
    json.dumps(record, allow_nan=False)
    assert record["test_metric"] is None
    assert record["history"]["train_loss"][0] is None
    assert record["history"]["val_loss"][1] is None
    assert record["history"]["grad_norm"][2] == [None]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_candidate_diverging_mid_run_is_frozen_despite_momentum(optimizer):
    splits = blobs()
    cfg = TrainConfig(
        hidden=(8,), batch_size=16, epochs=3, optimizer=optimizer, weight_decay=0.1, lr=0.01
    )
    clean = StackedTrainer(splits, activations=["relu", "sigmoid"], seeds=[0, 1], config=cfg)
    hurt = StackedTrainer(splits, activations=["relu", "sigmoid"], seeds=[0, 1], config=cfg)
    frozen = {}

    def inject(report):
        if report.epoch == 1:
            with torch.no_grad():
                hurt.net.params[2][3, 0, 0] = math.nan  # sigmoid seed 1, output layer
            frozen["params"] = _params(hurt, 3)

    clean.run()
    results = hurt.run(on_epoch=inject)
    assert (results[3].status, results[3].diverged_epoch) == ("diverged", 2)
    for a, b in zip(frozen["params"], _params(hurt, 3), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0, equal_nan=True)
    for i in range(3):
        for a, b in zip(_params(clean, i), _params(hurt, i), strict=True):
            assert torch.equal(a, b)


def _overfitting_splits():
    splits = blobs(n=200)
    rng = np.random.default_rng(5)
    splits.y_val = rng.integers(0, 3, size=splits.y_val.shape)
    return splits


def test_early_stopping_freezes_and_restores_the_best_weights():
    cfg = TrainConfig(hidden=(32,), lr=0.02, batch_size=16, epochs=12, early_stopping=2)
    trainer = StackedTrainer(_overfitting_splits(), activations=["relu"], seeds=[0, 1], config=cfg)
    snapshots = []
    results = trainer.run(on_epoch=lambda r: snapshots.append(_params(trainer, 0)))
    r = results[0]
    assert r.status == "ok" and r.stopped_epoch is not None
    assert r.best_epoch == r.stopped_epoch - 2
    val = r.history["val_loss"]
    assert val[r.best_epoch - 1] == min(v for v in val if not math.isnan(v))
    assert all(math.isnan(v) for v in val[r.stopped_epoch :])
    best_trained = snapshots[r.best_epoch - 1]
    for a, b in zip(best_trained, _params(trainer, 0), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("patience", [None, 2])
def test_resume_after_epoch_k_equals_an_uninterrupted_run(tmp_path, patience):
    splits = _overfitting_splits()

    def trainer(epochs):
        cfg = TrainConfig(
            hidden=(8, 8), lr=0.02, batch_size=16, epochs=epochs, early_stopping=patience
        )
        return StackedTrainer(
            splits, activations=["relu", "elu", "prelu", "xielu"], seeds=[0, 1], config=cfg
        )

    whole = trainer(6).run()
    assert whole[4].learned["alpha"] != [0.25, 0.25]  # learned, and resumed below
    first = trainer(3)
    first.run()
    write_checkpoint(tmp_path / "state.safetensors", first.state_dict())  # through the disk
    second = trainer(6)
    second.load_state_dict(read_checkpoint(tmp_path / "state.safetensors"))
    assert second.epochs_done == 3
    resumed = second.run()
    for a, b in zip(whole, resumed, strict=True):
        da, db = json_safe(a.to_dict()), json_safe(b.to_dict())
        da["history"].pop("epoch_time")
        db["history"].pop("epoch_time")
        assert da == db


def test_a_learnable_candidate_alone_equals_it_inside_a_larger_stack():
    """Its weights, its learned parameters and its results do not depend on which
    candidates share its stack (float64: a stack of one multiplies through another kernel
    path, equal to rounding)."""
    splits = blobs()
    cfg = TrainConfig(hidden=(8, 6), batch_size=16, epochs=3, lr=0.01, dtype=torch.float64)
    alone = StackedTrainer(splits, activations=["xielu"], seeds=[1], config=cfg)
    crowd = StackedTrainer(
        splits, activations=["relu", "prelu", "xielu", "snake"], seeds=[0, 1], config=cfg
    )
    mine, theirs = alone.run()[0], crowd.run()[5]
    assert (theirs.activation, theirs.seed) == ("xielu", 1)
    for a, b in zip(_params(alone, 0), _params(crowd, 5), strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    assert mine.learned.keys() == theirs.learned.keys() == {"alpha_p", "alpha_n"}
    for name, values in mine.learned.items():
        np.testing.assert_allclose(values, theirs.learned[name], atol=1e-12, rtol=0)
        assert all(abs(v - 0.8) > 1e-4 for v in values)
    for key in ("train_loss", "val_loss", "val_metric", "grad_norm", "dead_fraction"):
        np.testing.assert_allclose(mine.history[key], theirs.history[key], rtol=1e-9, atol=1e-12)
    assert mine.test_loss == pytest.approx(theirs.test_loss, rel=1e-9)


def test_saturation_is_judged_by_the_learned_slope():
    """prelu's max |f'| is max(1, |alpha|) at the learned alpha, the largest layer's."""
    cfg = TrainConfig(hidden=(4, 4))
    trainer = StackedTrainer(blobs(), activations=["relu", "prelu"], seeds=[0, 1], config=cfg)
    with torch.no_grad():
        trainer.net.activations.raw[1][1]["alpha"][1, 0] = -3.0  # prelu seed 1, layer 2
    assert trainer.net.max_derivatives().tolist() == [1.0, 1.0, 1.0, 3.0]


def test_a_learnable_candidate_diverging_mid_run_is_frozen_and_touches_no_other():
    """A NaN in one candidate's learned scale after epoch 1: it is frozen with all its
    trained values (weights and learned parameters, despite Adam's momentum), and every
    other candidate, learnable ones included, trains exactly as in a clean run."""
    splits = blobs()
    cfg = TrainConfig(hidden=(8,), batch_size=16, epochs=3, lr=0.01)
    acts = ["prelu", "star_relu", "snake"]
    clean = StackedTrainer(splits, activations=acts, seeds=[0, 1], config=cfg)
    hurt = StackedTrainer(splits, activations=acts, seeds=[0, 1], config=cfg)
    frozen = {}

    def trained(trainer, index):
        stack = trainer.net
        return [
            t[index - start].detach().clone()
            for t, (start, stop) in zip(stack.trained, stack.trained_rows, strict=True)
            if start <= index < stop
        ]

    def inject(report):
        if report.epoch == 1:
            with torch.no_grad():
                hurt.net.activations.raw[0][1]["scale"][1, 0] = math.nan  # star_relu, seed 1
            frozen["values"] = trained(hurt, 3)

    clean.run()
    results = hurt.run(on_epoch=inject)
    assert (results[3].status, results[3].diverged_epoch) == ("diverged", 2)
    for a, b in zip(frozen["values"], trained(hurt, 3), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0, equal_nan=True)
    for i in (0, 1, 2, 4, 5):
        for a, b in zip(trained(clean, i), trained(hurt, i), strict=True):
            assert torch.equal(a, b)


def test_state_dict_is_a_snapshot_that_later_training_leaves_alone(tmp_path):
    cfg = TrainConfig(hidden=(8, 8), lr=0.02, batch_size=16, epochs=4, early_stopping=2)
    snapshots: list = []
    trainer = StackedTrainer(_overfitting_splits(), activations=["relu"], seeds=[0], config=cfg)
    trainer.run(on_epoch=lambda r: r.epoch == 2 and snapshots.append(trainer.state_dict()))
    # the snapshot taken at epoch 2 and kept through epochs 3-4 equals one written at once
    fresh = StackedTrainer(_overfitting_splits(), activations=["relu"], seeds=[0], config=cfg)
    fresh.config.epochs = 2
    fresh.run()
    write_checkpoint(tmp_path / "at2.safetensors", fresh.state_dict())
    at2 = read_checkpoint(tmp_path / "at2.safetensors")
    kept = snapshots[0]
    assert kept["epochs_done"] == 2 and len(kept["history"][0]["train_loss"]) == 2
    for a, b in zip(kept["params"][0], at2["params"][0], strict=True):
        assert torch.equal(a, b)
    for key, entry in at2["optimizers"][0]["state"].items():
        for name, value in entry.items():
            assert torch.equal(kept["optimizers"][0]["state"][key][name], value), name


def test_state_of_another_sweep_is_refused():
    splits = blobs()
    a = StackedTrainer(splits, activations=["relu"], seeds=[0], config=TrainConfig(hidden=(4,)))
    b = StackedTrainer(splits, activations=["tanh"], seeds=[0], config=TrainConfig(hidden=(4,)))
    with pytest.raises(ValueError, match="candidates"):
        b.load_state_dict(a.state_dict())


def test_histories_and_reports_have_one_entry_per_epoch():
    cfg = TrainConfig(hidden=(6, 5, 4), batch_size=32, epochs=2)
    trainer = StackedTrainer(blobs(), activations=["relu", "tanh"], seeds=[0], config=cfg)
    reports = []
    results = trainer.run(on_epoch=reports.append)
    assert [r.epoch for r in reports] == [1, 2]
    assert reports[-1].best[0] in {"relu", "tanh"}
    for r in results:
        assert all(len(v) == 2 for v in r.history.values())
        assert all(len(layers) == 3 for layers in r.history["dead_fraction"])
        gain = {"relu": math.sqrt(2), "tanh": 1.5925374197228312}[r.activation]
        assert float(r.init.removeprefix("gain=")) == pytest.approx(gain, rel=1e-9)
        json.dumps(r.to_dict(), allow_nan=False)
    assert trainer.finished and trainer.run() == results


def test_each_phase_of_an_epoch_is_charged_its_own_time(monkeypatch):
    """A fake clock that only the three phases advance (steps 11 s, validation 2 s, probes
    5 s): the report must charge each phase exactly its own seconds."""
    import types

    import actlab.engine.trainer as trainer_module

    clock = [0.0]

    def costing(seconds, fn):
        def timed(*args, **kwargs):
            clock[0] += seconds
            return fn(*args, **kwargs)

        return timed

    monkeypatch.setattr(
        trainer_module, "time", types.SimpleNamespace(perf_counter=lambda: clock[0])
    )
    monkeypatch.setattr(trainer_module, "evaluate", costing(2.0, trainer_module.evaluate))
    monkeypatch.setattr(trainer_module, "probe", costing(5.0, trainer_module.probe))
    cfg = TrainConfig(hidden=(6,), batch_size=32, epochs=2)
    trainer = StackedTrainer(blobs(), activations=["relu"], seeds=[0], config=cfg)
    monkeypatch.setattr(trainer, "_train_epoch", costing(11.0, trainer._train_epoch))
    reports = []
    trainer.run(on_epoch=reports.append)
    for r in reports:
        assert r.phases == {"training steps": 11.0, "validation": 2.0, "probes": 5.0}
        assert r.seconds == 18.0
    assert tuple(reports[0].phases) == EPOCH_PHASES


def test_always_masking_path_gives_the_same_training(monkeypatch):
    """On an accelerator the optimizer masks every step; the result must not change."""
    cfg = TrainConfig(hidden=(8,), batch_size=16, epochs=2, weight_decay=0.01)

    def run():
        t = StackedTrainer(blobs(), activations=["relu", "tanh"], seeds=[0, 1], config=cfg)
        t.run()
        return [p.detach().clone() for p in t.net.params]

    fast = run()
    monkeypatch.setattr(StackedTrainer, "_all_active", lambda self, active: False)
    for a, b in zip(fast, run(), strict=True):
        assert torch.equal(a, b)


def test_stacks_of_different_shapes_step_in_lockstep_as_if_alone():
    """One trainer, two stacks whose weights differ in shape (width 8 and width 12): each
    candidate trains exactly as in a trainer of its own stack alone (same seeds, batches,
    divergence screens, history)."""
    from actlab.engine import make_candidates

    splits = blobs()
    cfg = TrainConfig(batch_size=16, epochs=2, dtype=torch.float64)
    narrow = make_candidates(["relu", "tanh"], [0, 1])
    wide = make_candidates(["elu"], [0, 2])

    class TwoShapes:
        def build(self, candidates, data, config):
            return [
                StackedMLP(candidates[:4], data.n_features, (8,), data.n_outputs, config.dtype),
                StackedMLP(candidates[4:], data.n_features, (12,), data.n_outputs, config.dtype),
            ]

    both = StackedTrainer(splits, [*narrow, *wide], config=cfg, model=TwoShapes())
    assert [len(s) for s in both.stacks] == [4, 2]
    together = both.run()
    cfg8 = TrainConfig(hidden=(8,), batch_size=16, epochs=2, dtype=torch.float64)
    cfg12 = TrainConfig(hidden=(12,), batch_size=16, epochs=2, dtype=torch.float64)
    alone = StackedTrainer(splits, narrow, config=cfg8).run()
    alone += StackedTrainer(splits, wide, config=cfg12).run()
    for a, b in zip(together, alone, strict=True):
        da, db = json_safe(a.to_dict()), json_safe(b.to_dict())
        da["history"].pop("epoch_time")
        db["history"].pop("epoch_time")
        assert da == db


def test_a_checkpoint_from_before_learned_parameters_is_refused_in_one_line():
    """A learnable run's state saved before its activation parameters were trained has no
    such tensors: resuming it names the missing one instead of loading fixed values."""
    cfg = TrainConfig(hidden=(4,), batch_size=16, epochs=2)
    old = StackedTrainer(blobs(), activations=["relu", "prelu"], seeds=[0], config=cfg)
    old.run()
    state = old.state_dict()
    names = [n for n, _ in state["stacks"][0]]
    learned = [i for i, n in enumerate(names) if n.endswith("prelu alpha")]
    assert learned, names
    for i in reversed(learned):  # what a checkpoint of the fixed-slope engine held
        del state["stacks"][0][i], state["params"][0][i]
    fresh = StackedTrainer(blobs(), activations=["relu", "prelu"], seeds=[0], config=cfg)
    with pytest.raises(ValueError, match=r"it has 'layer 1 prelu alpha', the run does not") as e:
        fresh.load_state_dict(state)
    assert "\n" not in str(e.value)
