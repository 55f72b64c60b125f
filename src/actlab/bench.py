"""Kernel benchmark: throughput of each activation's torch implementation, in GB/s.

For every spec, actlab's torch backend (:func:`actlab.backends.torch.functional`) and
torch's native op for it (:func:`actlab.backends.torch.native`, where one exists; else the
naive composition of torch ops a user would write) are timed against a plain memory copy
(``Tensor.copy_``) measured in the same run, so the figures can be read against the
machine's bandwidth ceiling; and the memory autograd keeps for backward is counted.

Bytes counted, with ``N`` elements of ``s`` bytes in and ``M`` out (``M = N``, or ``N/2``
for a gated entry):

* forward: ``(N + M) s`` (read ``x``, write ``y``);
* forward + backward: ``(3 N + 2 M) s`` (the forward's; backward reads the saved tensor
  and the incoming gradient and writes the input gradient);
* copy: ``2 N s`` (read, write) into a freshly allocated tensor,
  ``torch.empty_like(x).copy_(x)``: every activation allocates its output (and backward its
  gradient), and on CPU a large allocation's first-touch page faults cost as much as the
  copy itself, so the copy pays them too. Its GB/s is the ceiling for both figures.

Each repeat times every implementation once, interleaved, so a change in machine speed hits
all alike; after one warm-up the figure is the fastest repeat (as ``timeit`` advises: slower
repeats measure other processes competing for the cores, not the kernel).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from actlab.backends.torch import BINDINGS, functional, native
from actlab.catalog import Activation, get, names

TensorFn = Callable[[torch.Tensor], torch.Tensor]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step: Callable[[], Any], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    step()
    _sync(device)
    return time.perf_counter() - start


def saved_bytes(fn: TensorFn, x: torch.Tensor) -> int:
    """Bytes autograd keeps for the backward of ``fn(x)`` beyond ``x`` itself (which the
    layer before keeps alive anyway): the distinct storages of the saved tensors."""
    storages: dict[int, int] = {}
    leaf = x.detach().requires_grad_(True)

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.untyped_storage().data_ptr() != leaf.untyped_storage().data_ptr():
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(leaf)
    return sum(storages.values())


def bench_kernels(
    specs: Sequence[str | Activation] | None = None,
    *,
    numel: int = 2**24,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    repeats: int = 5,
) -> list[dict[str, Any]]:
    """Best-of-``repeats`` forward and forward+backward throughput (GB/s) of each spec
    (default: the whole catalog at default parameters): actlab's implementation, torch's
    native op where it has one, else the naive composition of torch ops a user would write
    (:attr:`TorchBinding.naive`); plus one ``copy`` record.

    Records: ``{"spec", "impl": "actlab" | "torch" | "naive" | "copy", "forward_s",
    "forward_gbps", "fwd_bwd_s", "fwd_bwd_gbps", "saved_bytes_per_element", "numel",
    "dtype", "device"}``; the copy record has ``spec=None``, its copy time for both figures
    and no saved bytes. Vector and gated entries run over the last axis of a
    ``(numel // 1024, 1024)`` tensor (a gated one returns half of it); bytes count what is
    read and written, ``saved_bytes_per_element`` what autograd keeps beyond the input.
    """
    if numel < 1:
        raise ValueError(f"numel must be positive, got {numel}")
    if repeats < 1:
        raise ValueError(f"repeats must be positive, got {repeats}")
    dev = torch.device(device)
    acts = [get(s) for s in (names() if specs is None else specs)]
    gen = torch.Generator().manual_seed(0)
    base = (torch.randn(numel, generator=gen, dtype=torch.float32) * 3).to(dtype).to(dev)
    rows = 1024 if numel % 1024 == 0 else 2 * (numel // 2) if numel > 1 else 1

    def shaped(act: Activation, t: torch.Tensor) -> torch.Tensor:
        if not act.is_vector:
            return t
        return t[: rows * (t.numel() // rows)].view(-1, rows)

    candidates: list[tuple[Activation, str, TensorFn]] = []
    for act in acts:
        candidates.append((act, "actlab", functional(act)))
        torch_fn = native(act)
        naive = BINDINGS[act.name].naive
        if torch_fn is not None:
            candidates.append((act, "torch", torch_fn))
        elif naive is not None:
            candidates.append((act, "naive", naive(act.params)))

    def forward(act: Activation, fn: TensorFn) -> None:
        with torch.no_grad():
            fn(shaped(act, base))

    def forward_backward(act: Activation, fn: TensorFn) -> None:
        x = shaped(act, base).detach().requires_grad_(True)
        y = fn(x)
        y.backward(torch.ones_like(y))

    times: dict[int, tuple[list[float], list[float]]] = {
        i: ([], []) for i in range(len(candidates) + 1)
    }
    copy_index = len(candidates)
    for rep in range(repeats + 1):
        for i, (act, _, fn) in enumerate(candidates):
            fwd = _timed(lambda act=act, fn=fn: forward(act, fn), dev)
            both = _timed(lambda act=act, fn=fn: forward_backward(act, fn), dev)
            if rep:
                times[i][0].append(fwd)
                times[i][1].append(both)
        copy = _timed(lambda: torch.empty_like(base).copy_(base), dev)
        if rep:
            times[copy_index][0].append(copy)
            times[copy_index][1].append(copy)

    element = base.element_size()

    def record(spec: str | None, impl: str, index: int, moved: tuple[int, int], saved: float):
        fwd_s = min(times[index][0])
        both_s = min(times[index][1])
        return {
            "spec": spec,
            "impl": impl,
            "forward_s": fwd_s,
            "forward_gbps": moved[0] / fwd_s / 1e9,
            "fwd_bwd_s": both_s,
            "fwd_bwd_gbps": moved[1] / both_s / 1e9,
            "saved_bytes_per_element": saved,
            "numel": numel,
            "dtype": str(dtype).removeprefix("torch."),
            "device": str(dev),
        }

    results = []
    for i, (act, impl, fn) in enumerate(candidates):
        n_in = shaped(act, base).numel()
        n_out = n_in // act.width_factor
        # forward: read x, write y; backward: read the saved x and dL/dy, write dL/dx
        moved = ((n_in + n_out) * element, (3 * n_in + 2 * n_out) * element)
        saved = saved_bytes(fn, shaped(act, base)) / n_in
        results.append(record(act.spec, impl, i, moved, saved))
    results.append(record(None, "copy", copy_index, (2 * numel * element,) * 2, 0.0))
    return results
