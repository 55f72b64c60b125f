"""The stacked CNN: where an epoch goes, against one-model-at-a-time PyTorch, and the
convolution formulations tried.

    python benchmarks/cnn.py [--epochs 2] [--seeds 5] [--threads N]

Default ``actlab compare --model cnn`` shapes: 8 activations x seeds, digits as 1x8x8,
3x3 convolutions with 16 and 32 channels (padding 1), a linear head, batch 64.

1. Formulations of one training step's convolutions (forward + backward of both layers
   and the head, tanh, 40 candidates, batch 64), each timed in this run: one grouped
   convolution (``groups = M``, oneDNN; what the engine uses), the same in channels-last
   layout, the same with oneDNN disabled (ATen's own kernel), im2col with ``F.unfold``
   then batched matmuls, and im2col from nine shifted slices then batched matmuls.
2. The engine's epoch split into training steps, validation pass and probes (mean of
   ``--epochs`` epochs after a warm-up epoch), and the same candidates trained one at a
   time as ``nn.Sequential(Conv2d, act, Conv2d, act, Flatten, Linear)`` with
   ``torch.optim.Adam``, same initial weights and minibatch order, training steps only.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from actlab.backends.torch import get as torch_module
from actlab.engine import EpochReport, StackedTrainer, TrainConfig
from sweep import ACTIVATIONS, digits_splits, train_alone

M, B, C1, C2, SIDE = 40, 64, 16, 32, 8


def _timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls after two warm-up calls."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def _shifted_columns(h: torch.Tensor) -> torch.Tensor:
    """``[M, B, H, W, C]`` -> im2col ``[M, B*H*W, 9*C]`` from nine shifted slices."""
    m, b, hh, ww, c = h.shape
    padded = F.pad(h, (0, 0, 1, 1, 1, 1))
    cols = [padded[:, :, i : i + hh, j : j + ww, :] for i in range(3) for j in range(3)]
    return torch.cat(cols, dim=-1).reshape(m, b * hh * ww, 9 * c)


def formulations(repeats: int) -> dict[str, float]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(M, B, 1, SIDE, SIDE, generator=gen)
    w1 = (torch.randn(M, C1, 1, 3, 3, generator=gen) / 3).requires_grad_()
    w2 = (torch.randn(M, C2, C1, 3, 3, generator=gen) / 12).requires_grad_()
    b1 = torch.zeros(M, C1, requires_grad=True)
    b2 = torch.zeros(M, C2, requires_grad=True)
    head = (torch.randn(M, C2 * SIDE * SIDE, 10, generator=gen) / 45).requires_grad_()
    params = [w1, b1, w2, b2, head]

    def grouped(channels_last: bool = False) -> torch.Tensor:
        h = x.transpose(0, 1).reshape(B, M, SIDE, SIDE)
        k2 = w2.reshape(-1, C1, 3, 3)
        if channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
            k2 = k2.contiguous(memory_format=torch.channels_last)
        z = F.conv2d(h, w1.reshape(-1, 1, 3, 3), b1.reshape(-1), padding=1, groups=M)
        z = F.conv2d(torch.tanh(z), k2, b2.reshape(-1), padding=1, groups=M)
        return torch.bmm(torch.tanh(z).reshape(B, M, -1).transpose(0, 1), head)

    def unfolded() -> torch.Tensor:
        cols = F.unfold(x.reshape(M * B, 1, SIDE, SIDE), 3, padding=1)
        cols = cols.view(M, B, 9, SIDE * SIDE).transpose(2, 3).reshape(M, -1, 9)
        z = torch.baddbmm(b1.unsqueeze(1), cols, w1.reshape(M, C1, 9).transpose(1, 2))
        h = torch.tanh(z).view(M * B, SIDE, SIDE, C1).permute(0, 3, 1, 2)
        cols = F.unfold(h, 3, padding=1).view(M, B, C1 * 9, SIDE * SIDE)
        cols = cols.transpose(2, 3).reshape(M, -1, C1 * 9)
        z = torch.baddbmm(b2.unsqueeze(1), cols, w2.reshape(M, C2, C1 * 9).transpose(1, 2))
        return torch.bmm(torch.tanh(z).reshape(M, B, -1), head)

    def shifted() -> torch.Tensor:
        h = x.reshape(M, B, SIDE, SIDE, 1)
        k1 = w1.permute(0, 3, 4, 2, 1).reshape(M, 9, C1)
        z = torch.baddbmm(b1.unsqueeze(1), _shifted_columns(h), k1)
        h = torch.tanh(z).view(M, B, SIDE, SIDE, C1)
        k2 = w2.permute(0, 3, 4, 2, 1).reshape(M, 9 * C1, C2)
        z = torch.baddbmm(b2.unsqueeze(1), _shifted_columns(h), k2)
        return torch.bmm(torch.tanh(z).reshape(M, B, -1), head)

    def step(forward: Callable[[], torch.Tensor]) -> Callable[[], object]:
        return lambda: torch.autograd.grad(forward().square().mean(), params)

    out = {
        "grouped conv, oneDNN (engine)": _timed(step(grouped), repeats),
        "grouped conv, channels-last": _timed(step(lambda: grouped(True)), repeats),
    }
    with torch.backends.mkldnn.flags(enabled=False):
        out["grouped conv, oneDNN off"] = _timed(step(grouped), repeats)
    out["im2col (F.unfold) + bmm"] = _timed(step(unfolded), repeats)
    out["im2col (9 shifted slices) + bmm"] = _timed(step(shifted), repeats)
    return out


def _sequential_cnn(initial: list[torch.Tensor], m: int, activation: str) -> nn.Sequential:
    convs = []
    for i in range(2):
        w, b = initial[2 * i][m], initial[2 * i + 1][m]
        conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(b)
        convs.append(conv)
    linear = nn.Linear(initial[4].shape[1], initial[4].shape[2])
    with torch.no_grad():
        linear.weight.copy_(initial[4][m].T)
        linear.bias.copy_(initial[5][m].reshape(-1))
    return nn.Sequential(
        convs[0], torch_module(activation), convs[1], torch_module(activation), nn.Flatten(), linear
    )


def sequential_epochs(trainer: StackedTrainer, initial: list[torch.Tensor], epochs: int) -> float:
    """Seconds of training steps for every candidate alone, ``epochs`` epochs each."""
    x, y = trainer.data.train
    images = x.reshape(-1, 1, SIDE, SIDE)
    start = time.perf_counter()
    for m, c in enumerate(trainer.candidates):
        model = _sequential_cnn(initial, m, c.activation.spec)
        train_alone(model, images, y, c.seed, trainer, epochs)
    return time.perf_counter() - start


def engine_epochs(trainer: StackedTrainer) -> dict[str, float]:
    """Mean seconds per epoch of each of the engine's phases (training steps, validation,
    probes), as the trainer reports them, the first epoch left out as a warm-up."""
    parts: dict[str, float] = defaultdict(float)
    measured = trainer.config.epochs - 1

    def add(report: EpochReport) -> None:
        if report.epoch > 1:
            for name, seconds in report.phases.items():
                parts[name] += seconds / measured

    trainer.run(on_epoch=add)
    return dict(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| convolution formulation (40 candidates, batch 64) | ms per training step |")
    print("|---|---|")
    for name, seconds in formulations(args.repeats).items():
        print(f"| {name} | {seconds * 1000:.1f} |")

    splits = digits_splits()
    trainer = StackedTrainer(
        splits,
        activations=list(ACTIVATIONS),
        seeds=range(args.seeds),
        config=TrainConfig(model="cnn", epochs=args.epochs + 1),
    )
    initial = [p.detach().clone() for p in trainer.net.params]
    seq_s = sequential_epochs(trainer, initial, args.epochs) / args.epochs
    parts = engine_epochs(trainer)
    print(f"\n{len(trainer.candidates)} candidates, mean of {args.epochs} epochs\n")
    print("| per epoch | seconds |")
    print("|---|---|")
    for name, seconds in parts.items():
        print(f"| engine: {name} | {seconds:.3f} |")
    print(f"| engine: total | {sum(parts.values()):.3f} |")
    print(f"| sequential nn.Sequential + Adam: training steps | {seq_s:.3f} |")
    print(f"\ntraining steps, sequential / engine: {seq_s / parts['training steps']:.1f}x")


if __name__ == "__main__":
    main()
