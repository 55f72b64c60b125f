"""Compare activations inside the user's own PyTorch model.

For each activation and seed: build the model (call the factory, or deep-copy the module
and re-run every layer's ``reset_parameters``) under ``torch.manual_seed(seed)``, so seed
s gives every activation the same initial weights; swap its activation modules with
:func:`actlab.torch.swap_activations`; train with ``torch.optim`` on the same minibatch
order per seed as the stacked engine (:func:`actlab.engine.batch_order`); record the same
per-epoch history as the stacked engine (losses, metric, and per activation module on a
fixed probe batch: the feeding layer's weight-gradient norm, dead and saturated
fractions, activation mean and std).

Candidates run one after another: a user's model cannot in general be stacked. A
candidate whose loss turns NaN/inf is marked diverged and stops; the others are separate
models and cannot be affected.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
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
    on_epoch: Callable[[str, int, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``source`` once per activation x seed; candidate records as in results.json."""
    task = splits.task
    image_shape = getattr(splits, "image_shape", None)

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        yt = torch.as_tensor(y)
        yt = yt.long() if task == "classification" else yt.float().reshape(len(y), -1)
        return torch.as_tensor(x, dtype=torch.float32), yt

    x_tr, y_tr = tensors(splits.X_train, splits.y_train)
    x_va, y_va = tensors(splits.X_val, splits.y_val)
    x_te, y_te = tensors(splits.X_test, splits.y_test)
    probe_x, probe_y = x_tr[:probe_size], y_tr[:probe_size]
    results = []
    for spec in activations:
        for seed in seeds:
            net = build_model(source, seed)
            swap_activations(net, spec)

            def forward(xb: torch.Tensor, net: nn.Module = net) -> torch.Tensor:
                return net(_inputs(net, xb[0], image_shape)).unsqueeze(0)

            opt: torch.optim.Optimizer
            if optimizer == "adam":
                opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
            else:
                opt = torch.optim.SGD(
                    net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
                )
            history: dict[str, list[Any]] = {
                k: []
                for k in (
                    "train_loss",
                    "val_loss",
                    "val_metric",
                    "epoch_time",
                    "grad_norm",
                    "dead_fraction",
                    "saturated_fraction",
                    "act_mean",
                    "act_std",
                )
            }
            status, diverged_epoch = "ok", None
            for epoch in range(1, epochs + 1):
                start = time.perf_counter()
                net.train()
                order = batch_order(seed, epoch - 1, x_tr.shape[0])
                total, count = 0.0, 0
                for i in range(0, len(order), batch_size):
                    idx = order[i : i + batch_size]
                    loss = candidate_loss(forward(x_tr[idx].unsqueeze(0)), y_tr[idx], task)[0]
                    if not torch.isfinite(loss):
                        status, diverged_epoch = "diverged", epoch
                        break
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                    count += len(idx)
                if status == "diverged":
                    break
                net.eval()
                with torch.no_grad():
                    val_loss, val_metric = evaluate(forward, 1, x_va, y_va, task)
                probe = _probe(net, task, probe_x, probe_y, image_shape)
                history["train_loss"].append(total / max(count, 1))
                history["val_loss"].append(float(val_loss[0]))
                history["val_metric"].append(float(val_metric[0]))
                for key, values in probe.items():
                    history[key].append(values)
                history["epoch_time"].append(time.perf_counter() - start)
                if on_epoch is not None:
                    on_epoch(spec, epoch, {"best": (spec, float(val_metric[0]))})
            test_loss = test_metric = None
            if status == "ok":
                net.eval()
                with torch.no_grad():
                    tl, tm = evaluate(forward, 1, x_te, y_te, task)
                test_loss, test_metric = float(tl[0]), float(tm[0])
            results.append(
                {
                    "group": GROUP,
                    "activation": spec,
                    "seed": seed,
                    "init": "model's own",
                    "status": status,
                    "diverged_epoch": diverged_epoch,
                    "diverged_step": None,
                    "stopped_epoch": None,
                    "best_epoch": None,
                    "test_metric": test_metric,
                    "test_loss": test_loss,
                    "history": history,
                }
            )
    return results
