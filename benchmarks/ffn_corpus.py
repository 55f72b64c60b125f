"""SwiGLU, GeGLU, ReLU^2, GELU and ReLU in a small transformer's FFN on the embedded text
corpus: bits per character, next to Shazeer 2020's order.

One ``actlab.compare`` run (``model="ffn"``, ``data="text(...)"``, matched parameters):
every activation x seed trained together on the same paired seeds and batches. Prints,
per activation, its FFN width and parameter count, the test bits per character (mean
over seeds, and a 95% t interval), and the paired difference to ReLU; then the order
next to the published one. Nothing here is tuned to the paper: the model and optimizer
settings are the defaults below, chosen before the run.

Shazeer 2020 ("GLU Variants Improve Transformer", arXiv:2002.05202), Table 1: T5-base
pre-training on C4, held-out log-perplexity after 65,536 steps (lower is better), gated
FFNs with d_ff cut from 3072 to 2048 to match parameters. ReLU^2 is not in that table
(So et al. 2021, "Primer", proposed it).

    python benchmarks/ffn_corpus.py --seeds 3 --epochs 8
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
from scipy import stats

SHAZEER_TABLE_1 = {
    "relu": 1.997,
    "gelu": 1.983,
    "swish": 1.994,
    "glu": 1.982,
    "bilinear": 1.960,
    "reglu": 1.953,
    "geglu": 1.942,
    "swiglu": 1.944,
}
ACTIVATIONS = ("swiglu", "geglu", "relu2", "gelu", "relu")


def interval(values: np.ndarray) -> float:
    """Half-width of the 95% t interval of the mean (NaN with one value)."""
    if len(values) < 2:
        return math.nan
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


class EpochLog:
    """Prints each finished epoch and its wall time to stderr (a long run shows progress)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def group_started(self, group: str, total_epochs: int, done_epochs: int) -> None:
        print(f"{group}: {total_epochs} epochs", file=sys.stderr)

    def epoch_done(self, group: str, epoch: int, summary: dict) -> None:
        now = time.perf_counter()
        print(f"  epoch {epoch}: {now - self.last:.0f} s", file=sys.stderr, flush=True)
        self.last = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--chars", type=int, default=200_000)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256, help="plain FFN width (4 d_model)")
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    import actlab

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    result = actlab.compare(
        f"text(chars={args.chars}, context={args.context})",
        list(ACTIVATIONS),
        seeds=args.seeds,
        model="ffn",
        hidden=(args.hidden,) * args.blocks,
        d_model=args.d_model,
        heads=args.heads,
        epochs=args.epochs,
        device="cpu",
        progress=EpochLog(),
    )
    seconds = time.perf_counter() - started
    rows = {a: [c for c in result.candidates if c.activation == a] for a in ACTIVATIONS}
    bpc = {a: np.array([c.test_bpc for c in rs], dtype=float) for a, rs in rows.items()}
    relu = bpc["relu"]
    print(
        f"ffn: {args.blocks} blocks, d_model {args.d_model}, plain d_ff {args.hidden}, "
        f"{args.heads} heads, context {args.context}; text({args.chars} chars); "
        f"{args.seeds} seeds x {args.epochs} epochs, Adam lr 1e-3, batch 64; {seconds:.0f} s\n"
    )
    print("| activation | d_ff | parameters | test bits/char (95% CI) | minus relu (95% CI) |")
    print("|---|---|---|---|---|")
    for a in sorted(ACTIVATIONS, key=lambda a: bpc[a].mean()):
        diff = bpc[a] - relu
        first = rows[a][0]
        print(
            f"| {a} | {first.widths[0]} | {first.parameters} | "
            f"{bpc[a].mean():.4f} (+-{interval(bpc[a]):.4f}) | "
            f"{diff.mean():+.4f} (+-{interval(diff):.4f}) |"
        )
    ours = [a for a in sorted(ACTIVATIONS, key=lambda a: bpc[a].mean()) if a in SHAZEER_TABLE_1]
    theirs = sorted(ours, key=SHAZEER_TABLE_1.__getitem__)
    tau = stats.kendalltau(
        [bpc[a].mean() for a in theirs], [SHAZEER_TABLE_1[a] for a in theirs]
    ).statistic
    print(f"\norder here (best first, shared with Table 1): {' < '.join(ours)}")
    print(f"order in Shazeer 2020 Table 1:                {' < '.join(theirs)}")
    print(f"Kendall tau between the two orders: {tau:+.2f}")


if __name__ == "__main__":
    main()
