"""A per-candidate activation inside one vmapped model.

Every candidate of a user-model stack runs the same network under ``torch.func.vmap``;
only the activation differs. Each activation site of the network gets a
:class:`Selector`: under vmap it sees the whole stack's pre-activations ``z`` with the
candidate axis where the layer before left it (first after a linear layer, second,
``[N, M, C, ...]``, after a :mod:`~actlab.engine.vmap_conv` convolution; second too
where it is second in memory, as batch norm's vmap rule leaves it) and applies each
activation to its own contiguous candidate slice along that axis, exactly as the engine's
stacked models do: one activation evaluation per element, one vmapped call for every
candidate, no copy to move the candidate axis (the alternatives measured against it are
in BENCHMARKS.md, "User models"). An activation over an axis (a vector or gated entry)
gets the candidate axis first. Outside vmap (a stack whose model cannot be vmapped runs
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

from actlab.engine.activations import StackActivations, TensorFn


class Layout:
    """What every selector of one stack shares: the stack's activations (with their
    learnable parameters, one owner per selector; ``elementwise``: all of them act on each
    element alone), whether the stack runs its candidates one at a time and which one runs
    now, and, while probing, the list that collects each site's ``(name, z, f(z))`` with
    the candidate axis first."""

    def __init__(self, activations: StackActivations) -> None:
        self.activations = activations
        self.elementwise = all(s.activation.kind == "elementwise" for s in activations.slices)
        self.owners: dict[str, int] = {}
        """Each selector's site name -> its owner index in ``activations``."""
        self.current = 0
        self.one_at_a_time = False
        self.captured: list[tuple[str, torch.Tensor, torch.Tensor]] | None = None

    def tensors(self, site: str) -> list[torch.Tensor]:
        """The learnable parameters the selector at ``site`` uses (empty if none)."""
        owner = self.owners.get(site)
        return [] if owner is None else self.activations.owner_tensors(owner)

    def fn_of(
        self, candidate: int, site: str, tensors: Sequence[torch.Tensor] | None = None
    ) -> TensorFn:
        """Candidate ``candidate``'s activation at ``site``, alone (``tensors`` in place
        of :meth:`tensors`)."""
        return self.activations.alone(candidate, self.owners.get(site, 0), tensors)

    def stacked(
        self, z: torch.Tensor, dim: int, site: str, tensors: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """Each activation on its slice of ``z`` along the candidate axis ``dim``
        (``tensors``: the site's learnable parameters, :meth:`tensors`)."""
        return self.activations.apply(z, dim, self.owners.get(site, 0), tensors)


class _Select(torch.autograd.Function):
    """``f_m(z)`` for candidate ``m``: the vmap rule slices the stack; outside vmap the
    current candidate's function, differentiated by recomputing it in backward. The
    site's learnable activation parameters come in as ``params`` (not vmapped: each
    holds every candidate's row), so their gradients flow either way."""

    @staticmethod
    def forward(z: torch.Tensor, layout: Layout, site: str, *params: torch.Tensor) -> torch.Tensor:
        return layout.fn_of(layout.current, site)(z)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        z, layout, site, *params = inputs
        ctx.save_for_backward(z, *params)
        ctx.layout, ctx.site, ctx.current = layout, site, layout.current

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        z, *params = ctx.saved_tensors
        with torch.enable_grad():
            leaves = [t.detach().requires_grad_(True) for t in (z, *params)]
            fn = ctx.layout.fn_of(ctx.current, ctx.site, leaves[1:])
            grads = torch.autograd.grad(
                fn(leaves[0]), leaves, grad, allow_unused=True, materialize_grads=True
            )
        return grads[0], None, None, *grads[1:]

    @staticmethod
    def vmap(
        info: Any,
        in_dims: tuple[int | None, ...],
        z: torch.Tensor,
        layout: Layout,
        site: str,
        *params: torch.Tensor,
    ) -> tuple[torch.Tensor, int]:
        dim = in_dims[0]
        if dim is None:
            z, dim = z.expand(info.batch_size, *z.shape), 0
        elif not layout.elementwise:
            z, dim = z.movedim(dim, 0), 0
        elif dim == 0 and z.dim() > 2 and z.movedim(0, 1).is_contiguous():
            z, dim = z.movedim(0, 1), 1  # [N, M, ...] in memory (batch norm hands it so)
        out = layout.stacked(z, dim, site, params)
        if layout.captured is not None:
            layout.captured.append((site, z.movedim(dim, 0), out.movedim(dim, 0)))
        return out, dim


class Selector(nn.Module):
    """The activation module installed at one site of a user's model (see the module
    docstring); ``site`` is the site's qualified name in the model."""

    def __init__(self, layout: Layout, site: str = "") -> None:
        super().__init__()
        self.layout = layout
        self.site = site

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = _Select.apply(z, self.layout, self.site, *self.layout.tensors(self.site))
        if self.layout.captured is not None and self.layout.one_at_a_time:
            self.layout.captured.append((self.site, z.unsqueeze(0), out.unsqueeze(0)))
        return out

    def extra_repr(self) -> str:
        return ", ".join(s.activation.spec for s in self.layout.activations.slices)
