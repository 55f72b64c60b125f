"""Stacked optimizers: ``torch.optim`` Adam / SGD (fused kernels) over the stacked
parameters, with a per-candidate freeze mask.

Adam and SGD are elementwise, so one optimizer over ``[M, ...]`` parameters gives every
candidate exactly the update it would get alone (the step count is shared, and equal).
Weight decay is the L2 term added to the gradient, as in ``torch.optim.Adam`` / ``SGD``
(not AdamW's decoupled decay); it is added here, before masking, so the optimizer itself
runs with ``weight_decay=0`` and the arithmetic is the same.

* Adam (``t`` = step, ``g`` = grad + wd * p): ``m = b1 m + (1-b1) g``,
  ``v = b2 v + (1-b2) g^2``, ``p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)``.
* SGD with momentum ``mu`` (no dampening, no Nesterov): ``buf = mu buf + g``, ``p -= lr buf``.

Freezing: a candidate whose ``active`` entry is false must not move at all, though its
momentum would keep moving it under a zero gradient. Before every step its gradient
(weight decay included) is replaced by exactly 0 (``torch.where``, so NaN/inf never
enters the state) and its first moment / momentum buffer is multiplied by 0 (the state
is always finite, so the product is exactly 0). Its update is then ``lr * 0 / (...) = 0``:
the parameter stays bit-for-bit unchanged, and nothing of its reaches another slice.
All of this is tensor arithmetic (no value is read back to Python); the caller may skip
it with ``active=None`` when it knows every candidate is active.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

MOMENT_KEY = {"adam": "exp_avg", "sgd": "momentum_buffer"}


def candidate_mask(active: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``active [M]`` reshaped to broadcast against ``like [M, ...]``."""
    return active.view(-1, *([1] * (like.dim() - 1)))


class StackedOptimizer:
    """``kind`` = ``"adam"`` (``betas``, ``eps`` at torch's defaults) or ``"sgd"`` (with
    ``momentum``) over ``params`` (each ``[M, ...]``)."""

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        kind: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
    ) -> None:
        if kind not in MOMENT_KEY:
            raise ValueError(f"optimizer={kind!r} must be one of {tuple(MOMENT_KEY)}")
        if not lr > 0:
            raise ValueError(f"lr={lr!r} must be > 0")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay={weight_decay!r} must be >= 0")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum={momentum!r} must be in [0, 1)")
        self.params = list(params)
        self.kind = kind
        self.weight_decay = weight_decay
        if kind == "adam":
            self.torch_optimizer: torch.optim.Optimizer = torch.optim.Adam(
                self.params, lr=lr, fused=True
            )
        else:
            self.torch_optimizer = torch.optim.SGD(
                self.params, lr=lr, momentum=momentum, fused=True
            )

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: torch.Tensor | None) -> None:
        """One update, from ``grads`` (one per parameter), of the candidates where
        ``active [M]`` is true; the others stay exactly as they are. ``active=None``
        means every candidate is active and its gradients finite (no masking needed)."""
        state = self.torch_optimizer.state
        key = MOMENT_KEY[self.kind]
        for p, g in zip(self.params, grads, strict=True):
            # torch's fused CPU kernels (2.13) read a non-contiguous gradient in the wrong
            # element order (a vmap backward yields transposed layouts): copy it first.
            # Reproducer and draft upstream report:
            # docs/upstream/torch-fused-cpu-optimizers-non-contiguous-grad.md
            g = g.contiguous()
            if self.weight_decay:
                g = g.add(p, alpha=self.weight_decay)
            if active is not None:
                mask = candidate_mask(active, p)
                g = torch.where(mask, g, 0.0)
                moment = state.get(p, {}).get(key)
                if moment is not None:
                    moment.mul_(mask)
            p.grad = g
        self.torch_optimizer.step()
        for p in self.params:
            p.grad = None

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer's state (``torch.optim``'s own ``state_dict`` holds
        the live moment tensors, which the next step changes)."""
        state = self.torch_optimizer.state_dict()
        return {
            "state": {
                key: {
                    name: value.clone() if isinstance(value, torch.Tensor) else value
                    for name, value in entry.items()
                }
                for key, entry in state["state"].items()
            },
            "param_groups": copy.deepcopy(state["param_groups"]),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.torch_optimizer.load_state_dict(state)
