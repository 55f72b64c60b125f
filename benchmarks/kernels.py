"""Kernel throughput of every catalog entry: actlab's torch backend vs torch native vs copy.

    python benchmarks/kernels.py [--numel N] [--repeats R] [SPEC ...]

Prints a markdown table (GB/s, higher is better; bytes as defined in :mod:`actlab.bench`)
and the ratio of actlab to torch native for each entry that has a native op.
"""

from __future__ import annotations

import argparse
import platform

import torch

from actlab.bench import bench_kernels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", help="specs to run (default: the whole catalog)")
    parser.add_argument("--numel", type=int, default=2**24)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    records = bench_kernels(args.specs or None, numel=args.numel, repeats=args.repeats)
    copy = next(r for r in records if r["impl"] == "copy")
    native = {r["spec"]: r for r in records if r["impl"] == "torch"}
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"threads={torch.get_num_threads()}, numel={args.numel}, float32, "
        f"repeats={args.repeats}"
    )
    print(f"copy: {copy['forward_gbps']:.1f} GB/s\n")
    print(
        "| spec | actlab fwd | torch fwd | actlab fwd+bwd | torch fwd+bwd | actlab/torch fwd "
        "| actlab/torch fwd+bwd | actlab fwd / copy |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in records:
        if r["impl"] != "actlab":
            continue
        t = native.get(r["spec"])

        def fmt(rec: dict | None, key: str) -> str:
            return f"{rec[key]:.1f}" if rec else "-"

        ratio_f = f"{r['forward_gbps'] / t['forward_gbps']:.2f}" if t else "-"
        ratio_b = f"{r['fwd_bwd_gbps'] / t['fwd_bwd_gbps']:.2f}" if t else "-"
        print(
            f"| {r['spec']} | {fmt(r, 'forward_gbps')} | {fmt(t, 'forward_gbps')} "
            f"| {fmt(r, 'fwd_bwd_gbps')} | {fmt(t, 'fwd_bwd_gbps')} | {ratio_f} | {ratio_b} "
            f"| {r['forward_gbps'] / copy['forward_gbps']:.2f} |"
        )


if __name__ == "__main__":
    main()
