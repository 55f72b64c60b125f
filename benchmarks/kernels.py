"""Kernel throughput of every catalog entry: actlab's torch backend against torch's native
op, or, where torch has none, against the naive composition of torch ops a user would
write; and a memory copy.

    python benchmarks/kernels.py [--numel N] [--repeats R] [SPEC ...]

Prints a markdown table (GB/s, higher is better; bytes as defined in :mod:`actlab.bench`),
the ratio of actlab to the baseline, and the bytes per element autograd keeps for backward
beyond the input (lower is better).
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
    baseline = {r["spec"]: r for r in records if r["impl"] in ("torch", "naive")}
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"threads={torch.get_num_threads()}, numel={args.numel}, float32, "
        f"repeats={args.repeats}"
    )
    print(f"copy: {copy['forward_gbps']:.1f} GB/s\n")
    print(
        "| spec | baseline | actlab fwd | baseline fwd | actlab fwd+bwd | baseline fwd+bwd "
        "| actlab/baseline fwd | actlab/baseline fwd+bwd | saved B/elem actlab | baseline "
        "| actlab fwd / copy |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        if r["impl"] != "actlab":
            continue
        b = baseline.get(r["spec"])

        def fmt(rec: dict | None, key: str, digits: int = 1) -> str:
            return f"{rec[key]:.{digits}f}" if rec else "-"

        ratio_f = f"{r['forward_gbps'] / b['forward_gbps']:.2f}" if b else "-"
        ratio_b = f"{r['fwd_bwd_gbps'] / b['fwd_bwd_gbps']:.2f}" if b else "-"
        print(
            f"| {r['spec']} | {b['impl'] if b else '-'} | {fmt(r, 'forward_gbps')} "
            f"| {fmt(b, 'forward_gbps')} | {fmt(r, 'fwd_bwd_gbps')} | {fmt(b, 'fwd_bwd_gbps')} "
            f"| {ratio_f} | {ratio_b} | {fmt(r, 'saved_bytes_per_element', 0)} "
            f"| {fmt(b, 'saved_bytes_per_element', 0)} "
            f"| {r['forward_gbps'] / copy['forward_gbps']:.2f} |"
        )


if __name__ == "__main__":
    main()
