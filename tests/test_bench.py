"""Kernel benchmark: well-formed records on a tiny input (no timing assertions)."""

from __future__ import annotations

import pytest
import torch

import actlab
from actlab.bench import bench_kernels

KEYS = {
    "spec",
    "impl",
    "forward_s",
    "forward_gbps",
    "fwd_bwd_s",
    "fwd_bwd_gbps",
    "saved_bytes_per_element",
    "numel",
    "dtype",
    "device",
}


def test_records_are_well_formed() -> None:
    records = bench_kernels(["relu", "softsign", "leaky_relu(alpha=0.2)"], numel=2048, repeats=1)
    assert all(set(r) == KEYS for r in records)
    assert [(r["spec"], r["impl"]) for r in records] == [
        ("relu", "actlab"),
        ("relu", "torch"),
        ("softsign", "actlab"),
        ("softsign", "torch"),
        ("leaky_relu(alpha=0.2)", "actlab"),
        ("leaky_relu(alpha=0.2)", "torch"),
        (None, "copy"),
    ]
    for r in records:
        assert r["forward_s"] > 0 and r["forward_gbps"] > 0 and r["fwd_bwd_gbps"] > 0
        assert r["numel"] == 2048 and r["dtype"] == "float32" and r["device"] == "cpu"
        assert r["forward_gbps"] == pytest.approx(2 * 2048 * 4 / r["forward_s"] / 1e9)


def test_whole_catalog_by_default() -> None:
    records = bench_kernels(numel=1024, repeats=1, dtype=torch.float64)
    assert {r["spec"] for r in records if r["impl"] == "actlab"} == set(actlab.names())
    assert all(r["dtype"] == "float64" for r in records)


@pytest.mark.parametrize("kwargs", [{"numel": 0}, {"repeats": 0}])
def test_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        bench_kernels(["relu"], **kwargs)


def test_entries_without_a_torch_op_are_timed_against_their_naive_composition() -> None:
    records = bench_kernels(["relu2", "swiglu", "glu"], numel=4096, repeats=1)
    impls = {(r["spec"], r["impl"]): r for r in records}
    assert set(impls) == {("relu2", "actlab"), ("relu2", "naive"), ("swiglu", "actlab"),
                          ("swiglu", "naive"), ("glu", "actlab"), ("glu", "torch"),
                          (None, "copy")}  # fmt: skip
    # the memory-efficient Functions keep nothing beyond their input; autograd's
    # composition keeps intermediates (relu's output; silu(b) and the value half)
    assert impls["relu2", "actlab"]["saved_bytes_per_element"] == 0
    assert impls["relu2", "naive"]["saved_bytes_per_element"] == 4
    assert impls["swiglu", "actlab"]["saved_bytes_per_element"] == 0
    assert impls["swiglu", "naive"]["saved_bytes_per_element"] >= 2
    gated = impls["swiglu", "actlab"]
    assert gated["forward_gbps"] == pytest.approx(1.5 * 4096 * 4 / gated["forward_s"] / 1e9)
