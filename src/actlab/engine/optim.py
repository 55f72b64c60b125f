"""Stacked optimizers: Adam / SGD stepped by torch's fused kernels (``torch._fused_adam_``,
``torch._fused_sgd_``, the kernels ``torch.optim``'s ``fused=True`` runs) over the stacked
parameters, with a per-candidate freeze mask.

The kernels are called directly, not through ``torch.optim``: its ``Optimizer`` imports
``torch._dynamo`` on first use (``torch._disable_dynamo``), about 2 s of start-up on a
CPU-only machine, more than a default ``actlab compare`` trains for. The arithmetic is the
same kernel's, so the parameters and the state equal ``torch.optim.Adam(fused=True)`` /
``SGD(fused=True)`` bit for bit (``tests/test_engine_parts.py``), and
:meth:`StackedOptimizer.state_dict` has ``torch.optim``'s layout (checkpoints written
before load unchanged).

Adam and SGD are elementwise, so one optimizer over ``[M, ...]`` parameters gives every
candidate exactly the update it would get alone (the step count is shared, and equal).
Weight decay is the L2 term added to the gradient, as in ``torch.optim.Adam`` / ``SGD``
(not AdamW's decoupled decay); it is added here, before masking, so the kernel itself
runs with ``weight_decay=0`` and the arithmetic is the same.

* Adam (``t`` = step, ``g`` = grad + wd * p, ``b1, b2, eps`` = torch's defaults 0.9,
  0.999, 1e-8): ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``,
  ``p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)``.
* SGD with momentum ``mu`` (no dampening, no Nesterov): ``buf = mu buf + g`` (``buf = g``
  at the first step), ``p -= lr buf``; without momentum ``p -= lr g``.

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
    return buffer


def candidate_mask(active: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``active [M]`` reshaped to broadcast against ``like [M, ...]``."""
    return active.view(-1, *([1] * (like.dim() - 1)))


BETAS = (0.9, 0.999)
EPS = 1e-8
"""Adam's ``betas`` and ``eps``: ``torch.optim.Adam``'s defaults."""


class StackedOptimizer:
    """``kind`` = ``"adam"`` (``betas``, ``eps`` at torch's defaults) or ``"sgd"`` (with
    ``momentum``) over ``params`` (each ``[M, ...]``, or where ``rows`` says so, the
    candidates ``[start, stop)`` of ``M`` only: an activation's learnable parameters)."""

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        kind: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        rows: Sequence[tuple[int, int]] | None = None,
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
        self.rows = [None] * len(self.params) if rows is None else [slice(*r) for r in rows]
        if len(self.rows) != len(self.params):
            raise ValueError(f"rows has {len(self.rows)} entries for {len(self.params)} params")
        self.buffers = [_padded(p) for p in self.params]
        self._grad_buffers = [None if b is p else torch.zeros_like(b) for p, b in self._pairs()]
        """Per padded parameter, the padded gradient it is copied into (padding stays 0)."""
        self.kind = kind
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.weight_decay = weight_decay
        self.state: list[dict[str, torch.Tensor]] = [{} for _ in self.buffers]
        """Per buffer, ``torch.optim``'s state entry: Adam's ``step`` (a float32 scalar
        tensor, as the fused kernel wants it), ``exp_avg``, ``exp_avg_sq``; SGD's
        ``momentum_buffer`` (none without momentum). Empty before the first step."""

    def _pairs(self) -> zip[tuple[torch.Tensor, torch.Tensor]]:
        return zip(self.params, self.buffers, strict=True)

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: torch.Tensor | None) -> None:
        """One update, from ``grads`` (one per parameter), of the candidates where
        ``active [M]`` is true; the others stay exactly as they are. ``active=None``
        means every candidate is active and its gradients finite (no masking needed)."""
        key = MOMENT_KEY[self.kind]
        stepped = []
        for p, rows, buffer, scratch, g, state in zip(
            self.params, self.rows, self.buffers, self._grad_buffers, grads, self.state, strict=True
        ):
            n = p.numel()
            # Contiguous, or copied in logical order: torch's fused CPU kernels (2.13) read
            # a non-contiguous gradient (a vmap backward yields transposed layouts) in
            # memory order. Reproducer: docs/upstream/torch-fused-cpu-optimizers-non-contiguous-grad.md
            if scratch is None:
                grad = g.contiguous()
            else:
                grad = scratch
                grad[:n] = g.reshape(-1)
            if self.weight_decay:  # over the whole (padded) buffer: no scalar tail
                grad = grad.add(buffer, alpha=self.weight_decay)
            if active is not None:
                mask = candidate_mask(active if rows is None else active[rows], p)
                masked = torch.where(mask, grad.reshape(-1)[:n].view(p.shape), 0.0)
                if scratch is None:
                    grad = masked
                else:
                    grad[:n] = masked.reshape(-1)
                moment = state.get(key)
                if moment is not None:
                    moment.reshape(-1)[:n].view(p.shape).mul_(mask)
            stepped.append(grad)
        for indices in _groups(self.buffers).values():
            if self.kind == "adam":
                self._adam(indices, stepped)
            else:
                self._sgd(indices, stepped)

    def _adam(self, indices: list[int], grads: list[torch.Tensor]) -> None:
        """``torch.optim.Adam(fused=True)``'s step on the buffers ``indices`` (one device
        and dtype)."""
        for i in indices:
            if not self.state[i]:
                b = self.buffers[i]
                self.state[i] = {
                    "step": torch.zeros((), dtype=torch.float32, device=b.device),
                    "exp_avg": torch.zeros_like(b, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(b, memory_format=torch.preserve_format),
                }
        states = [self.state[i] for i in indices]
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            [self.buffers[i] for i in indices],
            [grads[i] for i in indices],
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [],
            steps,
            lr=self.lr,
            beta1=BETAS[0],
            beta2=BETAS[1],
            weight_decay=0.0,
            eps=EPS,
            amsgrad=False,
            maximize=False,
        )

    def _sgd(self, indices: list[int], grads: list[torch.Tensor]) -> None:
        """``torch.optim.SGD(fused=True)``'s step on the buffers ``indices`` (one device
        and dtype): the kernel copies the gradient into a fresh momentum buffer at the
        first step."""
        first = self.momentum != 0 and not any(self.state[i] for i in indices)
        if first:
            for i in indices:
                self.state[i] = {"momentum_buffer": torch.empty_like(grads[i])}
        torch._fused_sgd_(
            [self.buffers[i] for i in indices],
            [grads[i] for i in indices],
            [self.state[i]["momentum_buffer"] for i in indices] if self.momentum else [],
            weight_decay=0.0,
            momentum=self.momentum,
            lr=self.lr,
            dampening=0.0,
            nesterov=False,
            maximize=False,
            is_first_step=first,
        )

    def _hyper(self) -> dict[str, Any]:
        """The hyperparameters as ``torch.optim`` lists them in a param group."""
        if self.kind == "adam":
            return {"lr": self.lr, "betas": BETAS, "eps": EPS, "weight_decay": 0.0}
        return {"lr": self.lr, "momentum": self.momentum, "dampening": 0.0, "weight_decay": 0.0}

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer's state, unpadded, in ``torch.optim``'s layout:
        ``{"state": {index: {name: tensor}}, "param_groups": [{..., "params": [...]}]}``."""
        return {
            "state": {
                i: {name: self._unpad(i, value) for name, value in entry.items()}
                for i, entry in enumerate(self.state)
                if entry
            },
            "param_groups": [
                {**self._hyper(), "fused": True, "params": list(range(len(self.buffers)))}
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (or ``torch.optim``'s own, of the same parameters):
        moments padded and cast to their buffer's device and dtype, the step count a
        float32 scalar on the buffer's device, as the kernel wants it."""
        entries = state["state"]
        unknown = set(entries) - set(range(len(self.buffers)))
        if unknown:
            raise ValueError(
                f"optimizer state has entries {sorted(unknown)} for {len(self.buffers)} parameters"
            )
        self.state = [{} for _ in self.buffers]
        for i, entry in entries.items():
            buffer = self.buffers[i]
            loaded: dict[str, torch.Tensor] = {}
            for name, value in entry.items():
                if value is None:  # torch.optim's SGD without momentum
                    continue
                if name == "step":
                    loaded[name] = torch.tensor(
                        float(value), dtype=torch.float32, device=buffer.device
                    )
                else:
                    loaded[name] = self._pad(i, value).to(buffer.device, buffer.dtype)
            self.state[i] = loaded

    def _unpad(self, index: int, value: torch.Tensor) -> torch.Tensor:
        """A copy of a state tensor in its parameter's shape (a step count as it is)."""
        p, buffer = self.params[index], self.buffers[index]
        if value.shape != buffer.shape:
            return value.clone()
        return value.reshape(-1)[: p.numel()].view(p.shape).clone()

    def _pad(self, index: int, value: torch.Tensor) -> torch.Tensor:
        """A copy of an unpadded state tensor in its padded buffer's shape."""
        p, buffer = self.params[index], self.buffers[index]
        if value.shape != p.shape or buffer is p:
            return value.clone()
        out = torch.zeros(buffer.shape, dtype=value.dtype, device=value.device)
        out[: p.numel()] = value.reshape(-1)
        return out


def _groups(tensors: Sequence[torch.Tensor]) -> dict[tuple[torch.device, torch.dtype], list[int]]:
    """Indices of ``tensors`` by device and dtype (a fused kernel call takes one of each)."""
    out: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for i, t in enumerate(tensors):
        out.setdefault((t.device, t.dtype), []).append(i)
    return out
