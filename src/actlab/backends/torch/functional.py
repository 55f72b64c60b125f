"""Tensor functions for catalog entries."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from actlab.catalog import Activation, get

TensorFn = Callable[[torch.Tensor], torch.Tensor]


def functional(spec: str | Activation) -> TensorFn:
    """A callable ``Tensor -> Tensor`` computing the activation named by ``spec``."""
    act = get(spec)
    p = dict(act.params)
    table: dict[str, TensorFn] = {
        "identity": lambda x: x,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda x: F.leaky_relu(x, p.get("alpha", 0.01)),
        "softplus": lambda x: F.softplus(x, beta=p.get("beta", 1.0), threshold=1e30),
        "elu": lambda x: F.elu(x, alpha=p.get("alpha", 1.0)),
        "selu": F.selu,
        "gelu": F.gelu,
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": lambda x: x * torch.sigmoid(p.get("beta", 1.0) * x),
        "mish": F.mish,
        "relu6": F.relu6,
        "hard_sigmoid": F.hardsigmoid,
        "hard_swish": F.hardswish,
        "softsign": F.softsign,
        "celu": lambda x: F.celu(x, alpha=p.get("alpha", 1.0)),
        "prelu": lambda x: torch.where(x >= 0, x, p.get("alpha", 0.25) * x),
        "log_sigmoid": F.logsigmoid,
        "softmax": lambda x: torch.softmax(x, dim=int(p.get("axis", -1))),
    }
    return table[act.name]
