"""Compare activations inside the user's own PyTorch model.

For each activation and seed: build the model (call the factory, or deep-copy the module
and re-run every layer's ``reset_parameters``) under ``torch.manual_seed(seed)``, so seed
s gives every activation the same initial weights; swap its activation modules with
:func:`actlab.torch.swap_activations`; train with ``torch.optim`` on the same minibatch
order per seed as the stacked engine (:func:`actlab.engine.batch_order`); record the same
per-epoch history as the stacked engine (losses, metric, and per activation module on a
fixed probe batch: the feeding layer's weight-gradient norm, dead and saturated
fractions, activation mean and std).

The seeds of one activation train together under ``torch.func.vmap`` (weights stacked
with ``stack_module_state``, the engine's per-seed-masked optimizer) where the model
allows it; a model that cannot run under vmap trains one seed after another, with the
same results. Activations always run one after another (their modules differ). A
candidate whose loss turns NaN/inf is marked diverged and frozen; no other is affected.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from actlab.backends.torch import swap_activations
from actlab.diagnose.records import layer_signals
from actlab.diagnose.torch_layers import (
    activations_with_feeders,
    module_math,
    unit_axis,
    weight_layers,
)
from actlab.engine import batch_order
from actlab.engine.metrics import candidate_loss, evaluate
from actlab.engine.optim import StackedOptimizer

ModelSource = nn.Module | Callable[[], nn.Module]
GROUP = "user-model"


def build_model(source: ModelSource, seed: int) -> nn.Module:
    """A fresh model for ``seed``: the factory's, or a copy of the module re-initialised."""
    torch.manual_seed(seed)
    if isinstance(source, nn.Module):
        net = copy.deepcopy(source)
        for m in net.modules():
            reset = getattr(m, "reset_parameters", None)
            if callable(reset):
                reset()
        return net
    net = source()
    if not isinstance(net, nn.Module):
        raise TypeError(f"the model factory must return an nn.Module, got {type(net).__name__}")
    return net


def _inputs(net: nn.Module, x: torch.Tensor, image_shape: tuple[int, ...] | None) -> torch.Tensor:
    layers = weight_layers(net)
    if image_shape and layers and isinstance(layers[0][1], nn.Conv1d | nn.Conv2d | nn.Conv3d):
        return x.view(x.shape[0], *image_shape)
    return x


def _probe(
    net: nn.Module, task: str, x: torch.Tensor, y: torch.Tensor, image_shape: tuple[int, ...] | None
) -> dict[str, list[float]]:
    """Per activation module: feeder's weight-gradient norm, dead/saturated fractions,
    output mean/std on the probe batch."""
    found = activations_with_feeders(net)
    modules = dict(net.named_modules())
    captured: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [
        m.register_forward_hook(
            lambda _m, inp, out, name=name: captured.__setitem__(
                name, (inp[0].detach(), out.detach())
            )
        )
        for name, m, _ in found
    ]
    net.zero_grad(set_to_none=True)
    try:
        out = net(_inputs(net, x, image_shape))
    finally:
        for h in hooks:
            h.remove()
    loss = candidate_loss(out.unsqueeze(0), y, task).sum()
    loss.backward()
    record: dict[str, list[float]] = {
        k: [] for k in ("grad_norm", "dead_fraction", "saturated_fraction", "act_mean", "act_std")
    }
    for name, m, feeder in found:
        if name not in captured:  # defined but not used in forward
            continue
        z, a = captured[name]
        maths = module_math(m)
        feeder_module = modules.get(feeder) if feeder else None
        dead, sat, mean, std = layer_signals(
            a.cpu().numpy(),
            maths.derivative(z),
            maths.max_derivative,
            unit_axis(feeder_module, a.ndim),
        )
        grad = getattr(getattr(feeder_module, "weight", None), "grad", None)
        record["grad_norm"].append(float(grad.norm()) if grad is not None else math.nan)
        record["dead_fraction"].append(dead)
        record["saturated_fraction"].append(sat)
        record["act_mean"].append(mean)
        record["act_std"].append(std)
    net.zero_grad(set_to_none=True)
    return record


HISTORY_KEYS = (
    "train_loss", "val_loss", "val_metric", "epoch_time", "grad_norm", "dead_fraction",
    "saturated_fraction", "act_mean", "act_std",
)  # fmt: skip


@dataclass
class _Data:
    task: str
    image_shape: tuple[int, ...] | None
    x_tr: torch.Tensor
    y_tr: torch.Tensor
    x_va: torch.Tensor
    y_va: torch.Tensor
    x_te: torch.Tensor
    y_te: torch.Tensor
    probe_x: torch.Tensor
    probe_y: torch.Tensor


@dataclass
class _Run:
    """One candidate (activation x seed) being trained."""

    spec: str
    seed: int
    net: nn.Module
    history: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    diverged_epoch: int | None = None

    def forward(self, data: _Data) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda xb: self.net(_inputs(self.net, xb[0], data.image_shape)).unsqueeze(0)

    def end_epoch(self, data: _Data, train_loss: float, seconds: float) -> float:
        """Validation, probes and the history entry of a finished epoch; returns the
        validation metric."""
        self.net.eval()
        with torch.no_grad():
            val_loss, val_metric = evaluate(self.forward(data), 1, data.x_va, data.y_va, data.task)
        probe = _probe(self.net, data.task, data.probe_x, data.probe_y, data.image_shape)
        self.history["train_loss"].append(train_loss)
        self.history["val_loss"].append(float(val_loss[0]))
        self.history["val_metric"].append(float(val_metric[0]))
        for key, values in probe.items():
            self.history[key].append(values)
        self.history["epoch_time"].append(seconds)
        self.net.train()
        return float(val_metric[0])

    def record(self, data: _Data) -> dict[str, Any]:
        test_loss = test_metric = None
        if self.diverged_epoch is None:
            self.net.eval()
            with torch.no_grad():
                tl, tm = evaluate(self.forward(data), 1, data.x_te, data.y_te, data.task)
            test_loss, test_metric = float(tl[0]), float(tm[0])
        return {
            "group": GROUP, "activation": self.spec, "seed": self.seed, "init": "model's own",
            "status": "ok" if self.diverged_epoch is None else "diverged",
            "diverged_epoch": self.diverged_epoch, "diverged_step": None,
            "stopped_epoch": None, "best_epoch": None, "test_metric": test_metric,
            "test_loss": test_loss, "history": self.history,
        }  # fmt: skip


@dataclass(frozen=True)
class _Training:
    epochs: int
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    batch_size: int


EpochCallback = Callable[[str, int, dict[str, Any]], None]


def _train_alone(run: _Run, data: _Data, tr: _Training, on_epoch: EpochCallback | None) -> None:
    """Plain ``torch.optim`` training of one candidate."""
    opt: torch.optim.Optimizer
    if tr.optimizer == "adam":
        opt = torch.optim.Adam(run.net.parameters(), lr=tr.lr, weight_decay=tr.weight_decay)
    else:
        opt = torch.optim.SGD(
            run.net.parameters(), lr=tr.lr, momentum=tr.momentum, weight_decay=tr.weight_decay
        )
    forward = run.forward(data)
    run.net.train()
    for epoch in range(1, tr.epochs + 1):
        start = time.perf_counter()
        order = batch_order(run.seed, epoch - 1, data.x_tr.shape[0])
        total = 0.0
        for i in range(0, len(order), tr.batch_size):
            idx = order[i : i + tr.batch_size]
            loss = candidate_loss(forward(data.x_tr[idx].unsqueeze(0)), data.y_tr[idx], data.task)[
                0
            ]
            if not torch.isfinite(loss):
                run.diverged_epoch = epoch
                return
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        metric = run.end_epoch(data, total / len(order), time.perf_counter() - start)
        if on_epoch is not None:
            on_epoch(run.spec, epoch, {"best": (run.spec, metric)})


class _CannotVectorize(Exception):
    """The model does not run under ``torch.func.vmap`` (e.g. batch norm's in-place
    running statistics, or data-dependent control flow)."""


def _train_vmapped(
    runs: list[_Run], data: _Data, tr: _Training, on_epoch: EpochCallback | None
) -> None:
    """Train the seeds of one activation at once: ``torch.func.stack_module_state`` stacks
    their weights to ``[S, ...]``, ``vmap(functional_call)`` runs them together, and the
    engine's :class:`StackedOptimizer` (elementwise Adam/SGD with a per-seed freeze mask)
    steps them, so each seed gets the update it would get alone. A seed whose loss turns
    non-finite is frozen and marked diverged."""
    params, buffers = torch.func.stack_module_state([r.net for r in runs])
    names = list(params)
    template = copy.deepcopy(runs[0].net).to("meta")

    def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor):
        return torch.func.functional_call(
            template, (p, b), (_inputs(template, x, data.image_shape),)
        )

    batched = torch.func.vmap(one, randomness="different")
    opt = StackedOptimizer(
        [params[n] for n in names], tr.optimizer, tr.lr, tr.momentum, tr.weight_decay
    )
    active = torch.ones(len(runs), dtype=torch.bool)
    n = data.x_tr.shape[0]
    for epoch in range(1, tr.epochs + 1):
        start = time.perf_counter()
        orders = torch.stack([batch_order(r.seed, epoch - 1, n) for r in runs])
        totals = torch.zeros(len(runs), dtype=torch.float64)
        for i in range(0, n, tr.batch_size):
            idx = orders[:, i : i + tr.batch_size]
            try:
                out = batched(params, buffers, data.x_tr[idx])
            except RuntimeError as exc:
                if epoch == 1 and i == 0:
                    raise _CannotVectorize(str(exc)) from exc
                raise
            losses = candidate_loss(out, data.y_tr[idx], data.task)
            finite = torch.isfinite(losses)
            for k in torch.nonzero(active & ~finite).flatten().tolist():
                runs[k].diverged_epoch = epoch
            active &= finite
            if not bool(active.any()):
                break
            safe = torch.where(active, losses, torch.zeros_like(losses))
            grads = torch.autograd.grad(safe.sum(), [params[n_] for n_ in names])
            opt.step(grads, None if bool(active.all()) else active)
            totals += safe.detach().double() * idx.shape[1]
        seconds = (time.perf_counter() - start) / len(runs)
        for k, run in enumerate(runs):
            if run.diverged_epoch is not None:
                continue
            with torch.no_grad():
                for name, p in run.net.named_parameters():
                    p.copy_(params[name][k])
                for name, b in run.net.named_buffers():
                    b.copy_(buffers[name][k])
            metric = run.end_epoch(data, float(totals[k]) / n, seconds)
            if on_epoch is not None:
                on_epoch(run.spec, epoch, {"best": (run.spec, metric)})


def train_user_model(
    source: ModelSource,
    splits: Any,
    activations: Sequence[str],
    seeds: Sequence[int],
    *,
    epochs: int,
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    batch_size: int = 64,
    probe_size: int = 256,
    vectorize: bool = True,
    on_epoch: EpochCallback | None = None,
) -> list[dict[str, Any]]:
    """Train ``source`` once per activation x seed; candidate records as in results.json.

    With ``vectorize`` the seeds of each activation train together under
    ``torch.func.vmap`` where the model allows it, one after another otherwise. Data
    tensors take torch's default dtype (the dtype the model's parameters are built in)."""
    task = splits.task

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        yt = torch.as_tensor(y)
        if task == "classification":
            yt = yt.long()
        else:
            yt = yt.to(torch.get_default_dtype()).reshape(len(y), -1)
        return torch.as_tensor(x, dtype=torch.get_default_dtype()), yt

    x_tr, y_tr = tensors(splits.X_train, splits.y_train)
    data = _Data(
        task,
        getattr(splits, "image_shape", None),
        x_tr,
        y_tr,
        *tensors(splits.X_val, splits.y_val),
        *tensors(splits.X_test, splits.y_test),
        x_tr[:probe_size],
        y_tr[:probe_size],
    )
    tr = _Training(epochs, optimizer, lr, momentum, weight_decay, batch_size)
    results = []
    for spec in activations:
        runs = []
        for seed in seeds:
            net = build_model(source, seed)
            swap_activations(net, spec, example=_inputs(net, x_tr[:2], data.image_shape))
            runs.append(_Run(spec, seed, net))
        vectorized = vectorize and len(runs) > 1
        if vectorized:
            try:
                _train_vmapped(runs, data, tr, on_epoch)
            except _CannotVectorize:
                vectorized = False
                example = x_tr[:2]
                runs = [
                    _Run(spec, r.seed, _fresh(source, spec, r.seed, example, data.image_shape))
                    for r in runs
                ]
        if not vectorized:
            for run in runs:
                _train_alone(run, data, tr, on_epoch)
        results.extend(run.record(data) for run in runs)
    return results


def _fresh(
    source: ModelSource,
    spec: str,
    seed: int,
    x: torch.Tensor,
    image_shape: tuple[int, ...] | None,
) -> nn.Module:
    net = build_model(source, seed)
    swap_activations(net, spec, example=_inputs(net, x, image_shape))
    return net
