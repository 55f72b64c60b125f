"""Writing and reading a checkpoint: the data-only format (safetensors + JSON) against the
``torch.save`` pickle it replaced, on the same trainer state in the same process.

    python benchmarks/checkpoint.py [--hidden 128,128] [--seeds 5] [--repeats 5]

The state is that of the default comparison after one epoch (8 activations x ``--seeds``
candidates, digits, an MLP of ``--hidden``, Adam): parameters, both Adam moments, the
history. Figures are the median of ``--repeats`` durable writes (each fsynced) and reads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from actlab.comparison.config import DEFAULT_ACTIVATIONS
from actlab.engine import StackedTrainer, TrainConfig
from actlab.store.checkpoint import read_checkpoint, write_checkpoint
from sweep import digits_splits


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _torch_save(state: object, path: Path) -> None:
    torch.save(state, path)
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", default="128,128")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    trainer = StackedTrainer(
        digits_splits(),
        activations=list(DEFAULT_ACTIVATIONS),
        seeds=list(range(args.seeds)),
        config=TrainConfig(hidden=hidden, epochs=1),
    )
    trainer.run()
    state = trainer.state_dict()
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp) / "state.pt", Path(tmp) / "state.safetensors"
        write = {
            "torch.save (pickle)": _median(lambda: _torch_save(state, old), args.repeats),
            "safetensors + JSON": _median(lambda: write_checkpoint(new, state), args.repeats),
        }
        read = {
            "torch.save (pickle)": _median(
                lambda: torch.load(old, weights_only=False), args.repeats
            ),
            "safetensors + JSON": _median(lambda: read_checkpoint(new), args.repeats),
        }
        sizes = {
            "torch.save (pickle)": old.stat().st_size,
            "safetensors + JSON": new.stat().st_size,
        }
    print(f"state: {len(trainer.candidates)} candidates, MLP {args.hidden}, Adam, 1 epoch")
    print("| format | size MB | write ms | read ms |")
    print("|---|---|---|---|")
    for name in write:
        print(
            f"| {name} | {sizes[name] / 1e6:.1f} | {write[name] * 1e3:.1f} | {read[name] * 1e3:.1f} |"
        )


if __name__ == "__main__":
    main()
