"""A user's own model through the one trainer, against a plain sequential PyTorch loop.

    python benchmarks/user_model.py [--seeds 5] [--epochs 2] [--threads N] [--repeats 1]
                                    [--cnn-samples N] [--resnet-width 64]
                                    [--resnet-samples 64] [--skip-resnet] [--skip-mlp]
                                    [--skip-cnn] [--profile] [--weight-grad N]

5 activations (relu, tanh, elu, gelu, silu) x seeds of user models, each path in its own
child process (so its peak RSS is its own), same initial weights and batch order:

* a small CNN on digits as 1x8x8 images (3x3 convs with 16 and 32 channels, a linear
  head: the engine's CNN written as a user's ``nn.Module``), batch 64;
* an MLP on digits (64-128-128-10), batch 64;
* a ResNet-18-shaped network (CIFAR stem, BasicBlocks [2, 2, 2, 2] of widths w, 2w, 4w,
  8w with batch norm, ``--resnet-width`` w = 64 is ResNet-18) on random 3x32x32 images,
  batch 16.

Paths: the trainer's stack (every candidate in one vmapped model, a per-candidate
activation selector at each site, ``nn.Linear`` as :mod:`actlab.engine.vmap_linear`'s
``StackedLinear``: what ``compare(model=...)`` uses); the same stack with vmap's own
batching of ``nn.Linear`` (before ``StackedLinear``); one vmapped stack per activation
stepping in lockstep; the fallback that runs candidates one at a time inside the trainer;
and the sequential loop (each candidate alone, ``torch.optim.Adam``, minibatches sliced
from one tensor). Times are training steps only (the trainer's phase timer; its first
epoch is a warm-up and not counted). ``--profile`` prints a ``torch.profiler`` table
of one more epoch of the stack's steps; ``--weight-grad N`` first times the two layouts
of a stacked linear layer's weight gradient. ``--repeats`` runs the paths that many times,
alternating, and reports the median and every figure; the load average is printed
before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import time
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


def _run(case: dict[str, Any], path: str) -> dict[str, Any]:
    """One path in this (child) process: seconds of training steps, peak RSS, how it ran."""
    from actlab.engine import StackedTrainer, TrainConfig, UserModel, batch_order
    from actlab.engine.user_stack import build_model
    from actlab.engine.vmap_linear import use_stacked_linear
    from actlab.torch import swap_activations

    if case["threads"]:
        torch.set_num_threads(case["threads"])
    splits, factory = _splits(case), _factory(case)
    epochs, bs = case["epochs"], case["batch"]
    if path == "sequential loop":
        trainer = StackedTrainer(
            splits,
            activations=list(ACTIVATIONS),
            seeds=range(case["seeds"]),
            config=TrainConfig(epochs=1, batch_size=bs),
            model=UserModel(factory),
        )
        x, y = trainer.data.train
        x = x.reshape(len(x), *trainer.stacks[0].input_shape)
        del trainer
        seconds = 0.0
        for c in [(a, s) for a in ACTIVATIONS for s in range(case["seeds"])]:
            net = build_model(factory, c[1])
            swap_activations(net, c[0], example=x[:2])
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            for epoch in range(1, epochs + 2):
                start = time.perf_counter()
                order = batch_order(c[1], epoch, len(x))
                for i in range(0, len(x), bs):
                    idx = order[i : i + bs]
                    opt.zero_grad()
                    nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
                    opt.step()
                if epoch > 1:  # the first epoch is a warm-up, as for the trainer
                    seconds += time.perf_counter() - start
        kind = "sequential"
    else:
        model = UserModel(
            factory, vectorize=path != "one at a time", per_activation=path == "vmap per activation"
        )
        trainer = StackedTrainer(
            splits,
            activations=list(ACTIVATIONS),
            seeds=range(case["seeds"]),
            config=TrainConfig(epochs=epochs + 1, batch_size=bs),
            model=model,
        )
        if path == "stack, vmap's own nn.Linear":
            for stack in trainer.stacks:
                use_stacked_linear(stack.template, on=False)
        steps: list[float] = []
        trainer.run(on_epoch=lambda r: steps.append(r.phases["training steps"]))
        seconds = sum(steps[1:])
        if case.get("profile") and path == "stack":
            _profile(trainer)
        kind = ", ".join(sorted({t.kind for t in trainer.training()}))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds / epochs, "rss_mb": rss, "kind": kind}


def _profile(trainer: Any) -> None:
    """Where one epoch of the stack's training steps goes (``torch.profiler``: the
    operations by their own CPU time, with their input shapes)."""
    from torch.profiler import profile

    with profile(record_shapes=True) as prof:
        trainer._train_epoch(trainer.epochs_done + 1)
    table = prof.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=28,
        max_shapes_column_width=70,
    )  # fmt: skip
    print(f"\nprofile of one epoch of the stack's training steps:\n{table}", flush=True)


def _child(case: dict[str, Any], path: str) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_run, (case, path))


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


PATHS = [
    "sequential loop",
    "stack",
    "stack, vmap's own nn.Linear",
    "vmap per activation",
    "one at a time",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cnn-samples", type=int, default=None, help="[default: all 1079]")
    parser.add_argument("--resnet-width", type=int, default=64)
    parser.add_argument("--resnet-samples", type=int, default=64)
    parser.add_argument("--skip-resnet", action="store_true")
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument("--skip-cnn", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile the stack's steps")
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
    cases = [
        ("small CNN, digits 1x8x8", {"model": "cnn", "batch": 64, "samples": args.cnn_samples},
         PATHS, not args.skip_cnn),
        ("MLP 64-128-128-10, digits", {"model": "mlp", "batch": 64, "samples": args.cnn_samples},
         PATHS, not args.skip_mlp),
        (f"ResNet-18-shaped (width {args.resnet_width}), 3x32x32",
         {"model": "resnet", "batch": 16, "width": args.resnet_width,
          "samples": args.resnet_samples},
         ["sequential loop", "stack"], not args.skip_resnet),
    ]  # fmt: skip
    print(
        "| model | path | how it ran | s per epoch (training steps), median | each run "
        "| vs sequential | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for title, case, paths, wanted in cases:
        if not wanted:
            continue
        case |= {
            "seeds": args.seeds, "epochs": args.epochs, "threads": args.threads,
            "profile": args.profile,
        }  # fmt: skip
        runs: dict[str, list[dict[str, Any]]] = {p: [] for p in paths}
        for _ in range(args.repeats):
            for p in paths:
                runs[p].append(_child(case, p))
        base = statistics.median(f["seconds"] for f in runs["sequential loop"])
        for p, figures in runs.items():
            median = statistics.median(f["seconds"] for f in figures)
            each = ", ".join(f"{f['seconds']:.3f}" for f in figures)
            rss = max(f["rss_mb"] for f in figures)
            print(
                f"| {title} | {p} | {figures[0]['kind']} | {median:.3f} | {each} | "
                f"{base / median:.2f}x | {rss:.0f} |"
            )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
