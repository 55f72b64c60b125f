"""A per-candidate activation inside one vmapped model.

Every candidate of a user-model stack runs the same network under ``torch.func.vmap``;
only the activation differs. Each activation site of the network gets a
:class:`Selector`: under vmap it sees the whole stack's pre-activations ``z [M, ...]``
(candidate axis first) and applies each activation to its own contiguous candidate slice,
exactly as the engine's stacked MLP does: one activation evaluation per element, one
vmapped call for every candidate (the alternatives measured against it are in
BENCHMARKS.md, "User models"). Outside vmap (a stack whose model cannot be vmapped runs
its candidates one at a time) it applies the activation of the candidate running now.

The vmap rule is a ``torch.autograd.Function`` ``vmap`` staticmethod: it receives the
physical tensor with the candidate axis at ``in_dims``, so the slicing is plain tensor
code that autograd records as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from actlab.engine.candidates import ActivationSlice
from actlab.engine.stack import TensorFn


class Layout:
    """What every selector of one stack shares: the activation slices and their
    functions, whether the stack runs its candidates one at a time and which one runs
    now, and, while probing, the list that collects each site's ``(name, z, f(z))`` with
    the candidate axis first."""

    def __init__(self, slices: Sequence[ActivationSlice], fns: Sequence[TensorFn]) -> None:
        self.slices = list(slices)
        self.fns = list(fns)
        self.current = 0
        self.one_at_a_time = False
        self.captured: list[tuple[str, torch.Tensor, torch.Tensor]] | None = None

    def fn_of(self, candidate: int) -> TensorFn:
        for part, fn in zip(self.slices, self.fns, strict=True):
            if part.start <= candidate < part.stop:
                return fn
        raise IndexError(f"candidate {candidate} is outside the stack")

    def stacked(self, z: torch.Tensor) -> torch.Tensor:
        """Each activation on its slice of ``z [M, ...]``."""
        if len(self.slices) == 1:
            return self.fns[0](z)
        parts = z.split([s.stop - s.start for s in self.slices])
        return torch.cat([fn(part) for fn, part in zip(self.fns, parts, strict=True)])


class _Select(torch.autograd.Function):
    """``f_m(z)`` for candidate ``m``: the vmap rule slices the stack; outside vmap the
    current candidate's function, differentiated by recomputing it in backward."""

    @staticmethod
    def forward(z: torch.Tensor, layout: Layout, site: str) -> torch.Tensor:
        return layout.fn_of(layout.current)(z)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        z, layout, _ = inputs
        ctx.save_for_backward(z)
        ctx.fn = layout.fn_of(layout.current)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (z,) = ctx.saved_tensors
        with torch.enable_grad():
            leaf = z.detach().requires_grad_(True)
            (dz,) = torch.autograd.grad(ctx.fn(leaf), leaf, grad)
        return dz, None, None

    @staticmethod
    def vmap(
        info: Any, in_dims: tuple[int | None, ...], z: torch.Tensor, layout: Layout, site: str
    ) -> tuple[torch.Tensor, int]:
        dim = in_dims[0]
        z = z.expand(info.batch_size, *z.shape) if dim is None else z.movedim(dim, 0)
        out = layout.stacked(z)
        if layout.captured is not None:
            layout.captured.append((site, z, out))
        return out, 0


class Selector(nn.Module):
    """The activation module installed at one site of a user's model (see the module
    docstring); ``site`` is the site's qualified name in the model."""

    def __init__(self, layout: Layout, site: str = "") -> None:
        super().__init__()
        self.layout = layout
        self.site = site

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = _Select.apply(z, self.layout, self.site)
        if self.layout.captured is not None and self.layout.one_at_a_time:
            self.layout.captured.append((self.site, z.unsqueeze(0), out.unsqueeze(0)))
        return out

    def extra_repr(self) -> str:
        return ", ".join(s.activation.spec for s in self.layout.slices)
