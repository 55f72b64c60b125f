"""Per-candidate losses and metrics, computed for all candidates at once.

Outputs are ``[M, B, K]``; targets ``[B]`` class indices or ``[B, K]`` regression values
(shared by all candidates) or ``[M, B]`` / ``[M, B, K]`` (each candidate its own batch).
Sequences have a class per position: outputs ``[M, B, T, K]``, targets ``[B, T]`` or
``[M, B, T]``.

* classification: loss = mean cross-entropy over the batch (and positions: in nats per
  predicted token; divided by ln 2, bits per character for a character model);
  metric = accuracy (over samples, or over every position of every sequence).
* regression: loss = mean squared error over batch and outputs (``nn.MSELoss``);
  metric = R^2, ``1 - SSE_k / SST_k`` averaged over outputs ``k`` (scikit-learn's
  ``uniform_average``), with ``SST_k`` about the evaluated targets' own mean.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

TASKS = ("classification", "regression")


def candidate_loss(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Loss per candidate ``[M]``: the mean over its batch (and, for sequences, over
    every position of it)."""
    m, b = out.shape[:2]
    if task == "classification":
        if out.dim() > 3:  # a class per position: out [M, B, T, K], y [(M,) B, T]
            y = y.expand(m, *out.shape[1:-1]).reshape(m, -1)
            out = out.reshape(m, -1, out.shape[-1])
            b = out.shape[1]
        # Classes on dim 1 ([M, K, B]): torch's CPU log-softmax over a short last dim is
        # about 3x slower than over a middle one (BENCHMARKS.md).
        return F.cross_entropy(out.transpose(1, 2), y.expand(m, b), reduction="none").mean(1)
    y = y.expand_as(out)
    return (out - y).square().mean(dim=(1, 2))


@torch.no_grad()
def evaluate(
    forward: Callable[[torch.Tensor], torch.Tensor],
    n_candidates: int,
    x: torch.Tensor,
    y: torch.Tensor,
    task: str,
    chunk: int = 2048,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss [M], metric [M])`` of every candidate on the whole of ``x [N, ...]``, ``y``,
    evaluated ``chunk`` samples at a time, on ``x``'s device; ``forward`` maps
    ``[M, B, ...]`` to outputs."""
    n = x.shape[0]
    wide = torch.float32 if x.device.type == "mps" else torch.float64  # mps has no float64
    loss_sum = torch.zeros(n_candidates, dtype=wide, device=x.device)
    score = torch.zeros(n_candidates, dtype=wide, device=x.device)
    sse = None
    for start in range(0, n, chunk):
        xb, yb = x[start : start + chunk], y[start : start + chunk]
        out = forward(xb.expand(n_candidates, *xb.shape))
        loss_sum += candidate_loss(out, yb, task).to(wide) * xb.shape[0]
        if task == "classification":
            # argmax over a strided class axis (the engine's output layer writes classes
            # first, stacked.py) ran 4x slower than copying first: 1.9 against 0.56 ms
            # for the default compare's validation outputs
            score += (out.contiguous().argmax(-1) == yb).flatten(1).sum(1).to(wide)
        else:
            part = (out - yb).to(wide).square().sum(1)
            sse = part if sse is None else sse + part
    if task == "classification":
        return loss_sum / n, score / y.numel()
    yd = y.to(wide)
    sst = (yd - yd.mean(0)).square().sum(0)
    return loss_sum / n, (1 - sse / sst).mean(1)
