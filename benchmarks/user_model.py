"""A user's own model through the one trainer, against a plain sequential PyTorch loop.

    python benchmarks/user_model.py [--seeds 5] [--rounds 3] [--threads N]
                                    [--cnn-samples N] [--resnet-width 64]
                                    [--resnet-samples 32] [--resnet-rounds 2]
                                    [--skip-resnet] [--skip-mlp] [--skip-cnn]
                                    [--default-malloc] [--profile] [--weight-grad N]
                                    [--floor N]

5 activations (relu, tanh, elu, gelu, silu) x seeds of user models, same initial weights
and batch order on every path:

* a small CNN on digits as 1x8x8 images (3x3 convs with 16 and 32 channels, a linear
  head: the engine's CNN written as a user's ``nn.Module``), batch 64;
* an MLP on digits (64-128-128-10), batch 64;
* a ResNet-18-shaped network (CIFAR stem, BasicBlocks [2, 2, 2, 2] of widths w, 2w, 4w,
  8w with batch norm, ``--resnet-width`` w = 64 is ResNet-18) on random 3x32x32 images,
  batch 16.

Paths: **stack** (what ``compare(model=...)`` runs: every candidate in one vmapped
model, a per-candidate activation selector at each site, ``nn.Linear`` and ``nn.Conv2d``
as :mod:`actlab.engine.vmap_linear` / :mod:`actlab.engine.vmap_conv`'s layers); **stack,
vmap's own rules** (the same stack with vmap's batching of ``F.linear`` / ``F.conv2d`` and
the selector moving the candidate axis first, as before those layers); **vmap per
activation** (one stack per activation, in turn); **one at a time** (the fallback for a
model vmap cannot run); **sequential loop** (each candidate alone, ``torch.optim.Adam``,
minibatches indexed from one tensor: what a user would write).

Timing: one process per model; the paths run in the same process, in turn, a block each
per round (a block: one epoch of training steps, the trainer's own epoch for the stacks,
every candidate's epoch one after another for the loop), after one warm-up block each
that is not counted. Reported: seconds per training step (all candidates) as the median
over rounds, every round, the ratio to the sequential loop (median of the rounds' own
ratios: load that changes between rounds cancels) and minor page faults per step. Peak
RSS comes from one more process per path (build, then one warm-up block), so that it is
that path's own (``VmHWM``). ``--default-malloc`` leaves glibc's malloc at its defaults
(:mod:`actlab.engine.allocator` off). ``--profile`` prints a ``torch.profiler`` table
of one more block of the stack's steps; ``--weight-grad N`` first times the two layouts
of a stacked linear layer's weight gradient; ``--floor N`` first times the small CNN's
convolutions alone, one candidate after another and as one grouped convolution (the
least a stack's step can take). The load average is printed before and
after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

ACTIVATIONS = ("relu", "tanh", "elu", "gelu", "silu")


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 8 * 8, 10),
    )  # fmt: skip


class Block(nn.Module):
    """torchvision's BasicBlock."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.down(x))


def resnet18(width: int) -> nn.Module:
    widths = [width, 2 * width, 4 * width, 8 * width]
    layers: list[nn.Module] = [
        nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
    ]  # fmt: skip
    cin = width
    for i, w in enumerate(widths):
        for j in range(2):
            layers.append(Block(cin, w, 2 if (i > 0 and j == 0) else 1))
            cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)
    )  # fmt: skip


def _splits(case: dict[str, Any]) -> Any:
    from types import SimpleNamespace

    if case["model"] in ("cnn", "mlp"):
        import dataclasses

        from actlab.data import load, split

        splits = split(load("digits"), seed=0)
        keep = case["samples"] or len(splits.X_train)
        return dataclasses.replace(
            splits, X_train=splits.X_train[:keep], y_train=splits.y_train[:keep]
        )
    gen = np.random.default_rng(0)
    n = case["samples"]
    x = gen.normal(size=(3 * n, 3, 32, 32)).astype(np.float32)
    y = gen.integers(0, 10, size=3 * n)
    return SimpleNamespace(
        X_train=x[:n], y_train=y[:n], X_val=x[n : 2 * n], y_val=y[n : 2 * n],
        X_test=x[2 * n :], y_test=y[2 * n :], task="classification", n_outputs=10,
        image_shape=None,
    )  # fmt: skip


def _factory(case: dict[str, Any]):
    if case["model"] == "cnn":
        return small_cnn
    if case["model"] == "mlp":
        return mlp
    width = case["width"]
    return lambda: resnet18(width)


class Sequential:
    """Each candidate alone: its seed's model, swapped, ``torch.optim.Adam``, the engine's
    batch order; a block is one epoch of every candidate in turn."""

    def __init__(self, case: dict[str, Any], splits: Any, factory: Callable[[], nn.Module]):
        from actlab.engine import StackedTrainer, TrainConfig, UserModel
        from actlab.engine.user_stack import build_model
        from actlab.torch import swap_activations

        probe = StackedTrainer(  # the data as the trainer converts it, and its sample shape
            splits, activations=["relu"], seeds=[0], config=TrainConfig(epochs=1),
            model=UserModel(factory),
        )  # fmt: skip
        x, self.y = probe.data.train
        self.x = x.reshape(len(x), *probe.stacks[0].input_shape)
        del probe
        self.batch, self.epoch = case["batch"], 0
        self.nets = []
        for activation in ACTIVATIONS:
            for seed in range(case["seeds"]):
                net = build_model(factory, seed)
                swap_activations(net, activation, example=self.x[:2])
                self.nets.append((seed, net, torch.optim.Adam(net.parameters(), lr=1e-3)))

    def block(self) -> None:
        from actlab.engine import batch_order

        self.epoch += 1
        x, y, bs = self.x, self.y, self.batch
        for seed, net, opt in self.nets:
            order = batch_order(seed, self.epoch, len(x))
            for i in range(0, len(x), bs):
                idx = order[i : i + bs]
                opt.zero_grad()
                nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
                opt.step()

    def how(self) -> str:
        return "sequential"


class Trainers:
    """One or more trainers (one per activation for "vmap per activation"); a block is one
    epoch of each, in turn."""

    def __init__(self, case: dict[str, Any], splits: Any, factory: Any, path: str) -> None:
        from actlab.engine import StackedTrainer, TrainConfig, UserModel
        from actlab.engine.vmap_conv import use_stacked_conv
        from actlab.engine.vmap_linear import use_stacked_linear

        groups = [[a] for a in ACTIVATIONS] if path == "vmap per activation" else [ACTIVATIONS]
        model = UserModel(factory, vectorize=path != "one at a time")
        config = TrainConfig(epochs=1000, batch_size=case["batch"])
        self.trainers = [
            StackedTrainer(splits, activations=list(g), seeds=range(case["seeds"]),
                           config=config, model=model)
            for g in groups
        ]  # fmt: skip
        if path == "stack, vmap's own rules":
            for stack in self.trainers[0].stacks:
                use_stacked_linear(stack.template, on=False)
                use_stacked_conv(stack.template, on=False)
                stack.layout.elementwise = False  # the candidate axis first at every site

    def block(self) -> None:
        for trainer in self.trainers:
            trainer.epochs_done += 1
            trainer._train_epoch(trainer.epochs_done)

    def how(self) -> str:
        return ", ".join(sorted({t.kind for tr in self.trainers for t in tr.training()}))


def _build(case: dict[str, Any], path: str) -> Any:
    if case["threads"]:
        torch.set_num_threads(case["threads"])
    if case["default_malloc"]:
        import actlab.engine.allocator as allocator

        allocator.keep_freed_memory = lambda: False
        import actlab.engine.trainer as trainer

        trainer.keep_freed_memory = allocator.keep_freed_memory
    splits, factory = _splits(case), _factory(case)
    if path == "sequential loop":
        return Sequential(case, splits, factory)
    return Trainers(case, splits, factory, path)


def _steps_per_block(case: dict[str, Any], runner: Any) -> int:
    n = len(runner.x) if isinstance(runner, Sequential) else len(runner.trainers[0].data.train[0])
    return -(-n // case["batch"])


def _time(case: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Every path in this (child) process, interleaved (see the module docstring)."""
    runners = {p: _build(case, p) for p in paths}
    steps = _steps_per_block(case, runners[paths[0]])
    for runner in runners.values():
        runner.block()  # warm-up, not counted
    seconds: dict[str, list[float]] = {p: [] for p in paths}
    faults: dict[str, list[int]] = {p: [] for p in paths}
    for _ in range(case["rounds"]):
        for p, runner in runners.items():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            runner.block()
            seconds[p].append((time.perf_counter() - start) / steps)
            faults[p].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    if case["profile"] and "stack" in runners:
        _profile(runners["stack"])
    return {
        "seconds": seconds,
        "faults": {p: statistics.median(f) / steps for p, f in faults.items()},
        "how": {p: r.how() for p, r in runners.items()},
    }


def _rss(case: dict[str, Any], path: str) -> float:
    """Peak RSS (MB) of a process that builds ``path`` and runs its warm-up block: Linux's
    ``VmHWM`` of this process's own memory (``ru_maxrss`` carries over the parent's at the
    fork before the spawn's exec)."""
    _build(case, path).block()
    try:
        with open("/proc/self/status") as status:
            line = next(t for t in status if t.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _profile(runner: Any) -> None:
    """Where one block of the stack's training steps goes (``torch.profiler``: the
    operations by their own CPU time, with their input shapes)."""
    from torch.profiler import profile

    with profile(record_shapes=True) as prof:
        runner.block()
    table = prof.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=28,
        max_shapes_column_width=70,
    )  # fmt: skip
    print(f"\nprofile of one epoch of the stack's training steps:\n{table}", flush=True)


def _child(fn: Callable[..., Any], *args: Any) -> Any:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def weight_gradient_layouts(repeats: int) -> None:
    """The stacked linear layer's weight gradient, as vmap's ``bmm`` backward computes it
    (``x^T g``: output ``[M, in, out]``) and as ``StackedLinear`` does (``g^T x``), for the
    small CNN's head and the MLP's layers (25 candidates, batch 64); median ms over
    ``repeats`` alternating calls."""
    print("| layer | x^T g (vmap's bmm backward), ms | g^T x (StackedLinear), ms | ratio |")
    print("|---|---|---|---|")
    gen = torch.Generator().manual_seed(0)
    shapes = {"CNN head 2048 -> 10": (2048, 10), "MLP head 128 -> 10": (128, 10),
              "MLP hidden 128 -> 128": (128, 128), "MLP input 64 -> 128": (64, 128)}  # fmt: skip
    for name, (fan_in, fan_out) in shapes.items():
        x = torch.randn(25, 64, fan_in, generator=gen)
        g = torch.randn(25, 64, fan_out, generator=gen)
        products = {"xg": (x.transpose(1, 2), g), "gx": (g.transpose(1, 2), x)}
        times: dict[str, list[float]] = {"xg": [], "gx": []}
        for _ in range(repeats):
            for key, (a, b) in products.items():
                start = time.perf_counter()
                torch.bmm(a, b)
                times[key].append(time.perf_counter() - start)
        xg, gx = (statistics.median(times[k]) * 1e3 for k in ("xg", "gx"))
        print(f"| {name} | {xg:.2f} | {gx:.2f} | {xg / gx:.1f}x |")
    print()


def convolution_floor(repeats: int, seeds: int) -> None:
    """The small CNN's two convolutions alone, forward and backward (input gradient of the
    second, weight and bias gradients of both), for every candidate at batch 64: one
    candidate after another, as the sequential loop runs them, and as the stack's one
    grouped convolution; median ms per step over ``repeats`` alternating calls. No stack
    step can take less than its convolutions."""
    import torch.nn.functional as F

    from actlab.engine.allocator import keep_freed_memory

    keep_freed_memory()  # as the trainer does
    m, b = len(ACTIVATIONS) * seeds, 64
    gen = torch.Generator().manual_seed(0)
    shapes = [(1, 16), (16, 32)]
    xs = [torch.randn(m, b, c, 8, 8, generator=gen) for c, _ in shapes]
    ws = [torch.randn(m, o, c, 3, 3, generator=gen) for c, o in shapes]
    bs = [torch.randn(m, o, generator=gen) for _, o in shapes]
    gs = [torch.randn(m, b, o, 8, 8, generator=gen) for _, o in shapes]

    def one_after_another(i: int) -> None:
        x, w, bias, g = xs[i], ws[i], bs[i], gs[i]
        for k in range(m):
            leaves = [t[k].requires_grad_(True) for t in (w, bias)]
            inp = x[k].requires_grad_(i > 0)
            out = F.conv2d(inp, *leaves, padding=1)
            torch.autograd.grad(out, [inp, *leaves] if i else leaves, g[k])

    flat = [x.transpose(0, 1).reshape(b, -1, 8, 8).contiguous() for x in xs]
    flat_g = [g.transpose(0, 1).reshape(b, -1, 8, 8).contiguous() for g in gs]

    def grouped(i: int) -> None:
        w = ws[i].reshape(-1, *ws[i].shape[2:]).requires_grad_(True)
        leaves = [w, bs[i].reshape(-1).requires_grad_(True)]
        inp = flat[i].requires_grad_(i > 0)
        out = F.conv2d(inp, *leaves, padding=1, groups=m)
        torch.autograd.grad(out, [inp, *leaves] if i else leaves, flat_g[i])

    runs = {
        (f"conv {i + 1} ({c} -> {o})", how): partial(fn, i)
        for i, (c, o) in enumerate(shapes)
        for how, fn in (("one after another", one_after_another), ("grouped", grouped))
    }
    times: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
    for fn in runs.values():
        fn()
    for _ in range(repeats):
        for key, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    print(f"| the small CNN's convolutions, {m} candidates, batch 64 | how | ms per step |")
    print("|---|---|---|")
    for (layer, how), t in times.items():
        print(f"| {layer} | {how} | {statistics.median(t) * 1e3:.1f} |")
    print()


PATHS = [
    "sequential loop",
    "stack",
    "stack, vmap's own rules",
    "vmap per activation",
    "one at a time",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="timed blocks per path")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cnn-samples", type=int, default=None, help="[default: all 1079]")
    parser.add_argument("--resnet-width", type=int, default=64)
    parser.add_argument("--resnet-samples", type=int, default=32)
    parser.add_argument("--resnet-rounds", type=int, default=2)
    parser.add_argument("--skip-resnet", action="store_true")
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument("--skip-cnn", action="store_true")
    parser.add_argument("--default-malloc", action="store_true", help="glibc's own settings")
    parser.add_argument("--profile", action="store_true", help="profile the stack's steps")
    parser.add_argument(
        "--floor", type=int, default=0, metavar="N",
        help="first time the small CNN's convolutions alone, N alternating calls each",
    )  # fmt: skip
    parser.add_argument(
        "--weight-grad", type=int, default=0, metavar="N",
        help="first time the two weight-gradient layouts, N alternating calls each",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads")
    print(f"load average before: {os.getloadavg()[0]:.1f}\n")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.weight_grad:
        weight_gradient_layouts(args.weight_grad)
    if args.floor:
        convolution_floor(args.floor, args.seeds)
    cases = [
        ("small CNN, digits 1x8x8", {"model": "cnn", "batch": 64, "samples": args.cnn_samples},
         PATHS, not args.skip_cnn),
        ("MLP 64-128-128-10, digits", {"model": "mlp", "batch": 64, "samples": args.cnn_samples},
         PATHS, not args.skip_mlp),
        (f"ResNet-18-shaped (width {args.resnet_width}), 3x32x32",
         {"model": "resnet", "batch": 16, "width": args.resnet_width,
          "samples": args.resnet_samples, "rounds": args.resnet_rounds},
         ["sequential loop", "stack"], not args.skip_resnet),
    ]  # fmt: skip
    print(
        "| model | path | how it ran | s per step (median) | each round | vs sequential "
        "| page faults per step | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for title, case, paths, wanted in cases:
        if not wanted:
            continue
        case = {
            "seeds": args.seeds, "rounds": args.rounds, "threads": args.threads,
            "profile": args.profile, "default_malloc": args.default_malloc,
        } | case  # fmt: skip
        timed = _child(_time, case, paths)
        rss = {p: _child(_rss, case, p) for p in paths}
        seq = timed["seconds"]["sequential loop"]
        for p in paths:
            each = timed["seconds"][p]
            ratio = statistics.median(a / b for a, b in zip(seq, each, strict=True))
            print(
                f"| {title} | {p} | {timed['how'][p]} | {statistics.median(each):.4f} | "
                f"{', '.join(f'{s:.4f}' for s in each)} | {ratio:.2f}x | "
                f"{timed['faults'][p]:.0f} | {rss[p]:.0f} |"
            )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
