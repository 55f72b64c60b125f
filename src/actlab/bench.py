"""Kernel benchmark: throughput of each activation's torch implementation, in GB/s.

For every spec, actlab's torch backend (:func:`actlab.backends.torch.functional`) and
torch's native op for it (:func:`actlab.backends.torch.native`, where one exists) are timed
against a plain memory copy (``Tensor.copy_``) measured in the same run, so the figures can
be read against the machine's bandwidth ceiling.

Bytes counted, with ``N`` elements of ``s`` bytes:

* forward: ``2 N s`` (read ``x``, write ``y``);
* forward + backward: ``5 N s`` (the forward's ``2 N s``; backward reads the saved tensor
  and the incoming gradient and writes the input gradient, ``3 N s``);
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

from actlab.backends.torch import functional, native
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


def bench_kernels(
    specs: Sequence[str | Activation] | None = None,
    *,
    numel: int = 2**24,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    repeats: int = 5,
) -> list[dict[str, Any]]:
    """Best-of-``repeats`` forward and forward+backward throughput (GB/s) of each spec (default: the
    whole catalog at default parameters), actlab vs torch native, plus one ``copy`` record.

    Records: ``{"spec", "impl": "actlab" | "torch" | "copy", "forward_s", "forward_gbps",
    "fwd_bwd_s", "fwd_bwd_gbps", "numel", "dtype", "device"}``; the copy record has
    ``spec=None`` and its copy time for both figures. Vector entries (softmax) run over one
    axis of a ``(numel // 1024, 1024)`` tensor.
    """
    if numel < 1:
        raise ValueError(f"numel must be positive, got {numel}")
    if repeats < 1:
        raise ValueError(f"repeats must be positive, got {repeats}")
    dev = torch.device(device)
    acts = [get(s) for s in (names() if specs is None else specs)]
    gen = torch.Generator().manual_seed(0)
    base = (torch.randn(numel, generator=gen, dtype=torch.float32) * 3).to(dtype).to(dev)
    grad = torch.ones_like(base)
    rows = 1024 if numel % 1024 == 0 else 1

    candidates: list[tuple[Activation, str, TensorFn]] = []
    for act in acts:
        candidates.append((act, "actlab", functional(act)))
        torch_fn = native(act)
        if torch_fn is not None:
            candidates.append((act, "torch", torch_fn))

    def forward(act: Activation, fn: TensorFn) -> None:
        x = base.view(-1, rows) if act.is_vector else base
        with torch.no_grad():
            fn(x)

    def forward_backward(act: Activation, fn: TensorFn) -> None:
        x = base.detach().requires_grad_(True)
        y = fn(x.view(-1, rows) if act.is_vector else x)
        y.backward(grad.view_as(y))

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

    size = numel * base.element_size()

    def record(spec: str | None, impl: str, index: int, fwd_bytes: int, bwd_bytes: int) -> dict:
        fwd_s = min(times[index][0])
        both_s = min(times[index][1])
        return {
            "spec": spec,
            "impl": impl,
            "forward_s": fwd_s,
            "forward_gbps": fwd_bytes / fwd_s / 1e9,
            "fwd_bwd_s": both_s,
            "fwd_bwd_gbps": bwd_bytes / both_s / 1e9,
            "numel": numel,
            "dtype": str(dtype).removeprefix("torch."),
            "device": str(dev),
        }

    results = [
        record(act.spec, impl, i, 2 * size, 5 * size) for i, (act, impl, _) in enumerate(candidates)
    ]
    results.append(record(None, "copy", copy_index, 2 * size, 2 * size))
    return results
