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

Position independence: torch's fused CPU kernels update a tensor in SIMD vectors and its
last ``numel % width`` elements in a scalar loop that rounds differently (no fused
multiply-add): the candidates at the end of a stack would get updates that differ in the
last bit from what the same candidate gets elsewhere in a larger stack, and seeds trained
in a later stack (``--seeds auto``, ``extend_seeds``) would not reproduce a run that had
them from the start. Each parameter whose size is not a multiple of :data:`PAD_TO`
therefore lives in a zero-padded buffer of such a size (the parameter is a view of it,
its gradient is copied in) and the optimizer steps the whole buffer: no real element is
ever in the scalar tail. :meth:`StackedOptimizer.state_dict`
stores the state unpadded, in the parameters' shapes.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

MOMENT_KEY = {"adam": "exp_avg", "sgd": "momentum_buffer"}
PAD_TO = 64
"""Elements a padded parameter buffer is a multiple of: whole SIMD vectors of float32 or
float64 for every vector width up to 512 bits, and whole 64-byte cache lines (the unit
torch's fused CPU kernels split work into across threads)."""


def _padded(p: torch.Tensor) -> torch.Tensor:
    """A zero-padded flat buffer holding ``p``, which becomes a view of it; ``p`` itself
    when its size is already a multiple of :data:`PAD_TO` (most weights: nothing to copy)."""
    n = p.numel()
    if n % PAD_TO == 0:
        return p
    buffer = torch.zeros(n + (-n) % PAD_TO, dtype=p.dtype, device=p.device)
    with torch.no_grad():
        buffer[:n] = p.reshape(-1)
    p.data = buffer[:n].view(p.shape)
    buffer.grad = torch.zeros_like(buffer)  # its padding's gradient stays 0
    return buffer


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
        self.buffers = [_padded(p) for p in self.params]
        self.kind = kind
        self.weight_decay = weight_decay
        if kind == "adam":
            self.torch_optimizer: torch.optim.Optimizer = torch.optim.Adam(
                self.buffers, lr=lr, fused=True
            )
        else:
            self.torch_optimizer = torch.optim.SGD(
                self.buffers, lr=lr, momentum=momentum, fused=True
            )

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: torch.Tensor | None) -> None:
        """One update, from ``grads`` (one per parameter), of the candidates where
        ``active [M]`` is true; the others stay exactly as they are. ``active=None``
        means every candidate is active and its gradients finite (no masking needed)."""
        state = self.torch_optimizer.state
        key = MOMENT_KEY[self.kind]
        for p, buffer, g in zip(self.params, self.buffers, grads, strict=True):
            n = p.numel()
            # Contiguous, or copied in logical order: torch's fused CPU kernels (2.13) read
            # a non-contiguous gradient (a vmap backward yields transposed layouts) in
            # memory order. Reproducer: docs/upstream/torch-fused-cpu-optimizers-non-contiguous-grad.md
            if buffer is p:
                grad = g.contiguous()
            else:
                grad = buffer.grad
                grad[:n] = g.reshape(-1)
            if self.weight_decay:  # over the whole (padded) buffer: no scalar tail
                grad = grad.add(buffer, alpha=self.weight_decay)
            if active is not None:
                mask = candidate_mask(active, p)
                masked = torch.where(mask, grad.reshape(-1)[:n].view(p.shape), 0.0)
                if buffer is p:
                    grad = masked
                else:
                    grad[:n] = masked.reshape(-1)
                moment = state.get(buffer, {}).get(key)
                if moment is not None:
                    moment.reshape(-1)[:n].view(p.shape).mul_(mask)
            buffer.grad = grad
        self.torch_optimizer.step()
        for p, buffer in zip(self.params, self.buffers, strict=True):
            if buffer is p:  # a padded buffer keeps its gradient buffer
                p.grad = None

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer's state (``torch.optim``'s own ``state_dict`` holds
        the live moment tensors, which the next step changes)."""
        state = self.torch_optimizer.state_dict()
        return {
            "state": {
                key: {
                    name: self._unpad(key, value) if isinstance(value, torch.Tensor) else value
                    for name, value in entry.items()
                }
                for key, entry in state["state"].items()
            },
            "param_groups": copy.deepcopy(state["param_groups"]),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        padded = {
            key: {
                name: self._pad(key, value) if isinstance(value, torch.Tensor) else value
                for name, value in entry.items()
            }
            for key, entry in state["state"].items()
        }
        self.torch_optimizer.load_state_dict({**state, "state": padded})

    def _unpad(self, index: int, value: torch.Tensor) -> torch.Tensor:
        """A copy of a state tensor in its parameter's shape (a step count as it is)."""
        p, buffer = self.params[index], self.buffers[index]
        if value.shape != buffer.shape:
            return value.clone()
        return value.reshape(-1)[: p.numel()].view(p.shape).clone()

    def _pad(self, index: int, value: torch.Tensor) -> torch.Tensor:
        p, buffer = self.params[index], self.buffers[index]
        if value.shape != p.shape or buffer is p:
            return value
        out = torch.zeros(buffer.shape, dtype=value.dtype, device=value.device)
        out[: p.numel()] = value.reshape(-1)
        return out
