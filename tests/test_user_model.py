"""A user's own network through the one trainer: every candidate (activation x seed) in one
vmapped stack, checked against a plain PyTorch loop per candidate, against itself trained
alone, across an interruption, and on bad input."""

from __future__ import annotations

import copy
import json
import math
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import actlab
import zoo
from actlab import data as D
from actlab.engine import StackedTrainer, TrainConfig, UserModel, batch_order, resolve_device
from actlab.engine.user_stack import build_model
from actlab.store.run_dir import json_safe
from actlab.torch import swap_activations
from test_engine import assert_learned_moved, assert_same_learned


@pytest.fixture
def float64_default():
    """Float64 makes vmap's and the loop's different summation orders agree to ~1e-12;
    in float32, Adam's first step (g / sqrt(g^2)) turns rounding noise in near-zero
    gradients into full-size steps of opposite sign."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def resnetish() -> nn.Module:
    """The zoo's ResNet (batch norm, a ReLU module called twice per block, zero-initialised
    last BN) on 1x8x8 digits."""
    net = zoo.ResNet()
    net.conv1 = nn.Conv2d(1, 8, 3, 1, 1, bias=False)
    return net


def small_cnn() -> nn.Module:
    """A conv net whose first registered weight layer is the Linear head (registered
    before the convolutions), fed [N, 1, 8, 8] images."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(4 * 4 * 4, 10)
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.act = nn.Tanh()
            self.pool = nn.MaxPool2d(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.pool(self.act(self.conv(x))).flatten(1))

    return Net()


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(),
        nn.Linear(12, 10),
    )  # fmt: skip


def digits(n: int = 200):
    raw = D.load("digits")
    keep = np.arange(n)
    import dataclasses

    return D.split(dataclasses.replace(raw, X=raw.X[keep], y=raw.y[keep]))


@pytest.fixture(scope="module")
def small_digits() -> tuple[np.ndarray, np.ndarray]:
    """300 digits as flat rows (x standardized as ``D.load`` does), for the ``compare``
    runs: a tenth of the data set's cost per epoch, enough for every check here."""
    raw = D.load("digits")
    return raw.X[:300], raw.y[:300]


def images(data) -> tuple[np.ndarray, np.ndarray]:
    """A split data set's samples back as 1x8x8 images with their labels."""
    x = np.concatenate([data.X_train, data.X_val, data.X_test]).reshape(-1, 1, 8, 8)
    return x, np.concatenate([data.y_train, data.y_val, data.y_test])


def zoo_splits(name: str, n: int = 24) -> SimpleNamespace:
    """A zoo model's own random batch, split 16 / 4 / 4 (images stay [N, C, H, W], token
    ids stay integers)."""
    (x,), y = zoo.batch(name, n)
    x, y = x.numpy(), y.numpy()
    a, b = 2 * n // 3, 5 * n // 6
    return SimpleNamespace(
        X_train=x[:a], y_train=y[:a], X_val=x[a:b], y_val=y[a:b], X_test=x[b:], y_test=y[b:],
        task="classification", n_outputs=zoo.ZOO[name].classes, image_shape=None,
    )  # fmt: skip


def without_dropout(build) -> nn.Module:
    """A zoo model with its dropout off: in a vmapped stack each candidate draws its own
    dropout masks, not the ones a model alone would draw (equal in distribution only)."""
    net = build()
    for module in net.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    return net


def plain_loop(factory, spec: str, seed: int, trainer: StackedTrainer) -> nn.Module:
    """The candidate trained alone: its seed's model, swapped, torch.optim.Adam, the
    engine's batch order; with the trainer's early stopping, the textbook rule (stop after
    ``patience`` epochs without a lower validation loss, keep the best epoch's weights and
    batch norm statistics), its epochs set as ``stopped_epoch`` / ``best_epoch``."""
    net = build_model(factory, seed)
    shape = trainer.stacks[0].input_shape
    x, y = trainer.data.train
    x = x.reshape(len(x), *shape)
    x_val, y_val = trainer.data.val
    swap_activations(net, spec, example=x[:2])
    opt = torch.optim.Adam(net.parameters(), lr=trainer.config.lr)
    bs, patience = trainer.config.batch_size, trainer.config.early_stopping
    best, bad, best_state = math.inf, 0, None
    net.stopped_epoch = net.best_epoch = None
    for epoch in range(1, trainer.config.epochs + 1):
        order = batch_order(seed, epoch, len(x))
        for start in range(0, len(x), bs):
            idx = order[start : start + bs]
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
        if patience is None:
            continue
        with torch.no_grad():
            val = nn.functional.cross_entropy(net.eval()(x_val.reshape(-1, *shape)), y_val)
        net.train()
        if val.item() < best:
            best, bad, net.best_epoch = val.item(), 0, epoch
            best_state = copy.deepcopy(net.state_dict())
        else:
            bad += 1
        if bad >= patience:
            net.load_state_dict(best_state)
            net.stopped_epoch = epoch
            break
    return net.eval()


def assert_equals_plain_loop(trainer: StackedTrainer, results, factory) -> None:
    """Per candidate: weights, learnable activation parameters, batch norm statistics,
    test loss and accuracy, and the early-stopping epochs are those of :func:`plain_loop`."""
    stack = trainer.stacks[0]
    x_test, y_test = trainer.data.test
    for i, c in enumerate(trainer.candidates):
        net = plain_loop(factory, c.activation.spec, c.seed, trainer)
        assert (results[i].stopped_epoch, results[i].best_epoch) == (
            net.stopped_epoch,
            net.best_epoch,
        )
        for name, value in zip(stack.param_names, stack.params, strict=True):
            torch.testing.assert_close(value[i].detach(), net.get_parameter(name).detach())
        for name, value in zip(stack.buffer_names, stack.buffers, strict=True):
            torch.testing.assert_close(value[i], net.get_buffer(name))  # batch norm statistics
        assert_same_learned(results[i].learned, net, atol=1e-9)
        with torch.no_grad():
            out = net(x_test.reshape(len(x_test), *stack.input_shape))
        accuracy = (out.argmax(1) == y_test).double().mean().item()
        assert results[i].test_metric == pytest.approx(accuracy, abs=1e-12)
        loss = nn.functional.cross_entropy(out, y_test).item()
        assert results[i].test_loss == pytest.approx(loss, rel=1e-9)


@pytest.mark.parametrize("name", ["mlp", "cnn", "resnet", "mobilenet_v2", "bert_classifier"])
def test_every_candidate_equals_a_plain_pytorch_loop(float64_default, name):
    """Per seed and activation, the stack's weights, batch norm statistics, test loss and
    accuracy are those of the candidate trained alone in a plain loop. (The CNN's
    activation follows its convolution directly: the selector works on the convolution's
    layout, candidates second.)"""
    if name in ("mlp", "cnn"):
        factory, splits = {"mlp": mlp, "cnn": small_cnn}[name], digits()
    else:
        factory, splits = partial(without_dropout, zoo.ZOO[name].build), zoo_splits(name, 12)
    small = name in ("mlp", "cnn")
    cfg = TrainConfig(epochs=2, batch_size=40 if small else 4, dtype=torch.float64)
    seeds = [0, 3] if small else [3]  # pairing by seed: the MLP and CNN cases show it
    trainer = StackedTrainer(
        splits, activations=["elu", "sigmoid"], seeds=seeds, config=cfg, model=UserModel(factory)
    )
    results = trainer.run()
    stack = trainer.stacks[0]
    assert stack.training().kind == "vmap"
    assert_equals_plain_loop(trainer, results, factory)
    # one history entry per epoch and site; the probes name the activation modules
    assert all(len(r.history["dead_fraction"]) == 2 for r in results)
    assert len(stack.site_names) == len(results[0].history["act_std"][0])


def test_learnable_activations_in_a_user_model_equal_a_plain_pytorch_loop(float64_default):
    """The swapped-in activations' own parameters (one set per replaced module, as the
    torch binding's modules that a plain swap installs) train as in the plain loop."""
    cfg = TrainConfig(epochs=2, batch_size=40, lr=0.01, dtype=torch.float64)
    trainer = StackedTrainer(
        digits(120), activations=["prelu", "xielu", "relu"], seeds=[0, 3], config=cfg,
        model=UserModel(mlp),
    )  # fmt: skip
    results = trainer.run()
    assert trainer.stacks[0].training().kind == "vmap"
    assert_equals_plain_loop(trainer, results, mlp)
    assert_learned_moved(trainer, at_least=1e-9)  # xielu's alpha_n in layer 1 barely moves
    assert [r.parameters for r in results[::2]] == [1_406 + 2, 1_406 + 4, 1_406]


def test_early_stopping_on_a_user_model_stops_as_a_plain_loop_would(float64_default):
    """Patience 1 at a learning rate that overshoots: candidates stop at different epochs
    (one never does), each keeps its best epoch's weights and batch norm statistics, and
    frozen candidates stay frozen while the others train on: exactly as each alone."""
    cfg = TrainConfig(epochs=6, batch_size=40, lr=0.1, early_stopping=1, dtype=torch.float64)
    trainer = StackedTrainer(
        digits(), activations=["relu", "tanh"], seeds=[0, 1], config=cfg, model=UserModel(mlp)
    )
    results = trainer.run()
    stopped = [r.stopped_epoch for r in results]
    assert len(set(stopped) - {None}) > 1 and None in stopped  # different epochs, one never
    assert all(r.best_epoch < (r.stopped_epoch or cfg.epochs + 1) for r in results)
    assert_equals_plain_loop(trainer, results, mlp)


def test_a_candidate_alone_equals_it_inside_a_larger_stack(float64_default):
    splits = digits(60)
    cfg = TrainConfig(epochs=2, batch_size=20, dtype=torch.float64)
    alone = StackedTrainer(
        splits, activations=["gelu"], seeds=[1], config=cfg, model=UserModel(resnetish)
    ).run()[0]
    crowd = StackedTrainer(
        splits,
        activations=["relu", "gelu"],
        seeds=[0, 1],
        config=cfg,
        model=UserModel(resnetish),
    ).run()
    inside = next(r for r in crowd if (r.activation, r.seed) == ("gelu", 1))
    for key in ("train_loss", "val_loss", "val_metric", "grad_norm", "dead_fraction", "act_std"):
        assert np.allclose(
            alone.history[key], inside.history[key], rtol=1e-9, atol=1e-12, equal_nan=True
        ), key  # NaN: a site no weight layer feeds (after a residual add) has no grad_norm
    assert alone.test_loss == pytest.approx(inside.test_loss, rel=1e-9)


class Branchy(nn.Module):
    """Branches on a tensor's value: torch.func.vmap refuses it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if float(x.mean().detach()) < 1e9 else -x


def branchy() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 8), Branchy(), nn.ReLU(), nn.Linear(8, 10))


def test_a_model_that_cannot_vmap_runs_one_at_a_time_with_the_same_results(
    float64_default, small_digits
):
    splits = digits(120)
    cfg = TrainConfig(epochs=2, batch_size=40, dtype=torch.float64)
    kwargs = dict(activations=["elu", "snake"], seeds=[0, 1], config=cfg)
    with pytest.warns(UserWarning, match="one at a time: torch.func.vmap cannot run"):
        actlab.compare(small_digits, model=branchy, activations=["elu"], seeds=1, epochs=1)
    fallback = StackedTrainer(splits, model=UserModel(branchy), **kwargs)
    training = fallback.training()[0]
    assert training.kind == "one at a time" and "vmap" in training.reason
    looped = fallback.run()
    vmapped = StackedTrainer(splits, model=UserModel(unbranched), **kwargs)
    assert vmapped.training()[0].kind == "vmap"
    for a, b in zip(looped, vmapped.run(), strict=True):
        assert a.test_loss == pytest.approx(b.test_loss, rel=1e-9)
        assert np.allclose(a.history["grad_norm"], b.history["grad_norm"], rtol=1e-8)
        assert a.learned.keys() == b.learned.keys()
        for name, values in a.learned.items():  # snake's frequency, learned either way
            assert np.allclose(values, b.learned[name], rtol=1e-9) and values != [1.0]


def unbranched() -> nn.Module:
    """Branchy's network without the branch (the same parameter names and draws)."""
    return nn.Sequential(nn.Linear(64, 8), nn.Identity(), nn.ReLU(), nn.Linear(8, 10))


class _StopAfter:
    def __init__(self, epochs: int) -> None:
        self.left = epochs

    def group_started(self, group, total_epochs, done_epochs):
        pass

    def epoch_done(self, group, epoch, summary):
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def _records(result):
    out = []
    for c in result.candidates:
        c = json_safe(c.to_dict())
        c["history"].pop("epoch_time")
        out.append(c)
    return out


def test_an_interrupted_user_model_run_resumes_to_the_same_results(tmp_path):
    kwargs = dict(model=resnetish, activations=["relu", "prelu"], seeds=1, epochs=3, batch_size=20)
    x, y = images(digits(60))
    whole = actlab.compare((x, y), **kwargs)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        actlab.compare((x, y), out=run, progress=_StopAfter(2), **kwargs)
    assert not (run / "results.json").exists() and any((run / "checkpoints").iterdir())
    with pytest.raises(ValueError, match=r"model=<the same model or factory>"):
        actlab.resume(run)
    with pytest.raises(ValueError, match="pass the same data="):
        actlab.compare(model=resnetish, resume=run)
    with pytest.raises(ValueError, match=r"the run has 'fc\.bias', it does not"):
        actlab.compare((x, y), model=_unbiased, resume=run)
    resumed = actlab.compare((x, y), model=resnetish, resume=run)
    assert _records(resumed) == _records(whole)
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "user" and "hidden" not in config and "channels" not in config
    assert config["user_model"]["source"] == "factory"
    assert (run / "report.html").stat().st_size > 10_000
    assert resumed.groups["user-model"]["training"][0]["kind"] == "vmap"


def _unbiased() -> nn.Module:
    net = resnetish()
    net.fc = nn.Linear(16, 10, bias=False)
    return net


def test_a_dataloader_of_images_keeps_their_shape_and_writes_a_report(tmp_path):
    """The README's example: image batches [N, 1, 8, 8] into a CNN whose first registered
    weight layer is a Linear that runs after the convolution."""
    x, y = (torch.as_tensor(a) for a in images(digits(100)))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    result = actlab.compare(
        loader, model=small_cnn, activations="relu,gelu", seeds=2, epochs=2, out=tmp_path / "r"
    )
    group = result.groups["user-model"]
    assert group["input_shape"] == [1, 8, 8] and group["layers"] == ["act"]
    assert (tmp_path / "r" / "report.html").is_file()
    # a shuffling loader is read in a canonical order: the same run again, same results
    again = actlab.compare(loader, model=small_cnn, activations="relu,gelu", seeds=2, epochs=2)
    assert _records(again) == _records(result)


def test_an_instance_keeps_its_own_init_where_it_can_and_says_so_where_not(small_digits):
    class WithOwnInit(nn.Module):
        """Hugging Face style: _init_weights draws embeddings with std 0.02."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(64, 32)
            self.act = nn.GELU()
            self.head = nn.Linear(32, 10)
            self.apply(self._init_weights)

        def _init_weights(self, module: nn.Module) -> None:
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(0.0, 0.02)
                module.bias.data.zero_()

        def forward(self, x):
            return self.head(self.act(self.embed(x)))

    a, b = build_model(WithOwnInit(), 0), build_model(WithOwnInit(), 1)
    assert 0.015 < float(a.embed.weight.detach().std()) < 0.025
    assert not torch.equal(a.embed.weight, b.embed.weight)
    assert torch.equal(a.embed.weight, build_model(WithOwnInit(), 0).embed.weight)
    with pytest.warns(UserWarning, match="reset_parameters"):
        result = actlab.compare(
            small_digits, model=mlp(), activations=["relu"], seeds=1, epochs=1, batch_size=256
        )
    assert "not kept" in result.config["user_model"]["init"]
    custom = actlab.compare(
        small_digits,
        model=mlp(),
        init=lambda m: [nn.init.zeros_(p) for n, p in m.named_parameters() if "bias" in n],
        activations=["relu"],
        seeds=1,
        epochs=1,
        batch_size=256,
    )
    assert "init= callable" in custom.config["user_model"]["init"]


def test_a_hugging_face_model_inside_a_wrapper_keeps_its_own_init():
    """A real BERT built from a config object, wrapped to return its logits: each seed
    re-draws its weights as the model's own _init_weights does (normal with the config's
    initializer_range 0.02, layer norms at 1 and 0), not PyTorch's defaults (std 1.0 for
    an nn.Embedding)."""
    instance = zoo.bert_classifier()
    std = instance.model.config.initializer_range
    a, b = build_model(instance, 0), build_model(instance, 1)
    for net in (a, b):
        bert = net.model.bert
        for weight in (bert.embeddings.word_embeddings.weight, net.model.classifier.weight):
            assert float(weight.detach().std()) == pytest.approx(std, rel=0.25)
        norm = bert.encoder.layer[0].output.LayerNorm
        assert bool((norm.weight == 1).all()) and bool((norm.bias == 0).all())
        assert bool((net.model.classifier.bias == 0).all())
    embeddings = [n.model.bert.embeddings.word_embeddings.weight for n in (a, b, instance)]
    assert not torch.equal(embeddings[0], embeddings[1])
    assert not torch.equal(embeddings[0], embeddings[2])
    assert torch.equal(
        embeddings[0], build_model(instance, 0).model.bert.embeddings.word_embeddings.weight
    )
    assert "_init_weights (BertForSequenceClassification" in UserModel(instance).policy


def test_extra_seeds_equal_a_run_that_had_them_from_the_start(
    tmp_path, float64_default, small_digits
):
    kwargs = dict(model=mlp, activations=["relu", "tanh"], epochs=2, batch_size=64)
    actlab.compare(small_digits, seeds=[0], out=tmp_path / "run", **kwargs)
    extended = actlab.extend_seeds(tmp_path / "run", [1], data=small_digits, model=mlp)
    whole = actlab.compare(small_digits, seeds=[0, 1], **kwargs)
    key = lambda c: (c["activation"], c["seed"])  # noqa: E731
    for a, b in zip(
        sorted(_records(extended), key=key), sorted(_records(whole), key=key), strict=True
    ):
        ha, hb = a.pop("history"), b.pop("history")
        assert a.pop("test_loss") == pytest.approx(b.pop("test_loss"), rel=1e-9)
        assert a == b
        for k in ha:  # the same arithmetic up to the summation order of a larger stack
            assert np.allclose(ha[k], hb[k], rtol=1e-9, atol=1e-12), k
    assert json.loads((tmp_path / "run" / "config.json").read_text())["seeds"] == [0, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": lambda: nn.Sequential(nn.Linear(64, 3), nn.ReLU())}, r"needs \[2, 10\]"),
        ({"model": lambda: nn.Sequential(nn.Linear(64, 10))}, "no activation of Sequential"),
        ({"model": lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU())}, "cannot take samples"),
        ({"model": mlp, "device": "cuda:7"}, "does not exist"),
        ({"model": mlp, "device": "tpu"}, "not a device name"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message) as caught:
        actlab.compare(
            "digits", activations=["relu"], seeds=1, epochs=1, out=tmp_path / "r", **kwargs
        )
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "r").exists()


def test_a_dataloader_must_yield_pairs():
    triples = DataLoader(TensorDataset(torch.zeros(8, 2), torch.zeros(8), torch.zeros(8)))
    with pytest.raises(ValueError, match="must yield \\(x, y\\) batches; it yielded a list of 3"):
        actlab.compare(triples, model=mlp, activations=["relu"], seeds=1, epochs=1)


def test_auto_device_is_the_cpu_without_an_accelerator():
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert resolve_device("auto") in ("cpu", "mps")
    assert resolve_device("CPU") == "cpu"
    assert math.isfinite(float(torch.zeros(1, device=resolve_device("auto")).sum()))
