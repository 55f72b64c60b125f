"""A *stack*: ``M`` candidates (activation x seed) evaluated as one model.

Anything that maps a stacked input ``x [M, B, *sample]`` (each candidate its own
minibatch) to outputs ``[M, B, n_out]`` without mixing two candidates is a stack: the
engine's :class:`~actlab.engine.stacked.StackedMLP` and
:class:`~actlab.engine.stacked.StackedCNN`, and a user's own network vmapped over its
candidates (:class:`~actlab.engine.user_stack.UserStack`), or looped over them where it
cannot be vmapped. The trainer (:class:`~actlab.engine.trainer.StackedTrainer`) owns
everything else, once for every kind of stack: data, batch order, loss and metric,
divergence, early stopping, checkpoints, probes and history. Several stacks, with
different weight shapes, can step in lockstep in one trainer on the same paired seeds
and batches.

A stack holds its state as tensors with a leading candidate axis: ``params`` (the
model's, trained by gradient), the learnable activation parameters
(:mod:`actlab.engine.activations`; :attr:`Stack.trained` is both, what the trainer
steps and stores) and ``buffers`` (changed by the forward pass in training mode, e.g.
batch norm's running statistics). Candidate ``m``'s outputs, gradients and buffer
updates depend on its own slice of them only.

Probes: with ``capture=True`` the forward pass also returns each *site*'s (a hidden
activation, in call order) pre-activations and activations ``(z, f(z))`` in the
canonical probe layout ``[M, B, units, positions]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from actlab.engine.activations import StackActivations
from actlab.engine.candidates import ActivationSlice, Candidate, activation_slices

Captured = tuple[torch.Tensor, torch.Tensor]
"""A site's ``(pre-activations, activations)``, each ``[M, B, units, positions]``."""


@dataclass(frozen=True)
class Training:
    """How a stack trains its candidates, as recorded in results.json and shown on the
    console and in the report: ``kind`` is ``"stacked"`` (the engine's own batched
    layers), ``"vmap"`` (a user's model under ``torch.func.vmap``) or ``"one at a time"``
    (the fallback for a model that cannot be vmapped; ``reason`` says why).
    ``unbatched_ops``: operations of the model that vmap has no batching rule for and runs
    as a loop over the candidates (correct, slower; e.g. CPU flash attention)."""

    kind: str
    candidates: int
    activations: tuple[str, ...]
    reason: str | None = None
    unbatched_ops: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "candidates": self.candidates,
            "activations": list(self.activations),
            "reason": self.reason,
            "unbatched_ops": list(self.unbatched_ops),
        }


def shared_width_factor(candidates: Sequence[Candidate]) -> int:
    """Layer columns per output unit shared by every candidate's activation: 2 for gated
    ones (value and gate halves), 1 for plain ones. The engine's own stacks hold one kind
    only (:func:`actlab.engine.candidates.shape_groups`)."""
    factors = {c.activation.width_factor for c in candidates}
    if len(factors) != 1:
        raise ValueError(
            "a stack's candidates must share their layer shapes: gated and plain "
            "activations go in separate stacks"
        )
    return factors.pop()


class Stack(ABC):
    """``M`` candidates as one model (see the module docstring)."""

    params: list[torch.Tensor]
    buffers: list[torch.Tensor]
    hidden_widths: tuple[int, ...] = ()
    """Output units of each hidden layer (a gated activation's layer projects to twice as
    many); empty where the stack does not describe its layers by width."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.candidates = list(candidates)
        self.slices: list[ActivationSlice] = activation_slices(self.candidates)
        self.activations = StackActivations(self.slices)

    def __len__(self) -> int:
        return len(self.candidates)

    @abstractmethod
    def forward(
        self, x: torch.Tensor, capture: bool = False
    ) -> tuple[torch.Tensor, list[Captured]]:
        """Outputs ``[M, B, n_out]`` and (with ``capture``) every site's ``(z, f(z))``."""

    @abstractmethod
    def site_weights(self) -> list[torch.Tensor | None]:
        """Per site, the stacked weight of the layer that feeds it (its gradient norm is
        the ``grad_norm`` probe), or ``None`` where no weight layer feeds it."""

    @property
    @abstractmethod
    def site_names(self) -> list[str]:
        """Per site, a name a person recognises (``"layer 1"``, ``"features.2"``)."""

    @property
    @abstractmethod
    def values_per_sample(self) -> int:
        """Values per sample and candidate in the largest site (units x positions): what
        sizes an evaluation chunk."""

    @abstractmethod
    def training(self) -> Training:
        """How this stack trains (see :class:`Training`)."""

    @property
    def trained(self) -> list[torch.Tensor]:
        """Everything trained by gradient: the model's ``params``, then the learnable
        activation parameters (:attr:`StackActivations.tensors`)."""
        return [*self.params, *self.activations.tensors]

    @property
    def trained_rows(self) -> list[tuple[int, int]]:
        """For each of :attr:`trained`, the candidates ``[start, stop)`` of this stack its
        leading axis holds: all of them for the model's parameters, an activation's slice
        for its learnable parameters."""
        return [(0, len(self))] * len(self.params) + self.activations.rows

    def parameter_count(self, candidate: int = 0) -> int:
        """Trainable values of candidate ``candidate`` (its activation's learnable
        parameters included)."""
        k = self.activations.slice_of(candidate)
        own = [t for per_owner in self.activations.raw for t in per_owner[k].values()]
        return sum(p[0].numel() for p in [*self.params, *own])

    def learned(self) -> list[dict[str, list[float]]]:
        """Per candidate, each learnable activation parameter's value per layer (site
        owner); empty for an activation without any."""
        return self.activations.learned()

    def signature(self) -> list[tuple[str, tuple[int, ...]]]:
        """Names and per-candidate shapes of the trained tensors and buffers: what a
        stored state must match to be loaded."""
        return (
            [(f"param {i}", tuple(p.shape[1:])) for i, p in enumerate(self.params)]
            + self.activations.signature()
            + [(f"buffer {i}", tuple(b.shape[1:])) for i, b in enumerate(self.buffers)]
        )

    @abstractmethod
    def train(self, mode: bool = True) -> None:
        """Training mode (batch statistics, dropout) or evaluation mode."""

    def activate(self, z: torch.Tensor, dim: int, owner: int = 0) -> torch.Tensor:
        """Apply each activation (its learnable parameters at ``owner``) to its candidate
        slice of ``z`` along ``dim``."""
        return self.activations.apply(z, dim, owner)

    def site_owner(self, site: int) -> int:
        """The owner of the learnable activation parameters that site ``site`` uses: the
        site itself in the engine's models (one per hidden layer)."""
        return site

    captures_graph: bool = False
    """Whether ``forward(capture=True)`` computes each site's activations from the
    captured pre-activations themselves, so that ``f'(z)`` can be read off the forward's
    own graph (:meth:`derivatives`); the engine's own models do."""

    def derivatives(self, captured: Sequence[Captured]) -> list[torch.Tensor]:
        """``f'(z)`` (see :meth:`derivative`) at every site of a ``forward(capture=True)``
        whose graph is still there, and stays for a later backward. Where the stack
        :attr:`captures_graph`, the backward of ``sum f(z)`` to the captured ``z`` through
        the forward's own activation nodes, without computing ``f`` again (the default
        compare's probes: 9.5 -> 2.8 ms): the values of :meth:`derivative`'s second pass,
        bit for bit where the probe layout is the forward's (the MLP, the CNN), else up to
        an ulp (a kernel can round a strided layout differently: the FFN's gelu);
        otherwise :meth:`derivative` per site."""
        if not self.captures_graph:
            return [self.derivative(z, site) for site, (z, _) in enumerate(captured)]
        return [torch.autograd.grad(a.sum(), z, retain_graph=True)[0] for z, a in captured]

    def derivative(self, z: torch.Tensor, site: int = 0) -> torch.Tensor:
        """``f'(z)`` of each candidate's activation (with its parameters at ``site``) on
        its slice of ``z [M, ...]``, from autograd of ``sum f(z)`` (exact for elementwise
        ``f``). For a gated activation ``z`` is in the probe layout ``[M, B, units,
        positions]``, its units the value and gate halves, and the result is ``d sum f /
        dz``: ``g(b)`` on the value units, ``a g'(b)`` on the gate units."""
        owner = self.site_owner(site)
        leaf = z.detach().requires_grad_(True)
        parts = leaf.split([part.stop - part.start for part in self.slices])
        with torch.enable_grad():
            total = leaf.new_zeros(())
            for k, (part, zs) in enumerate(zip(self.slices, parts, strict=True)):
                units_last = zs.movedim(2, -1) if part.activation.width_factor > 1 else zs
                total = total + self.activations.fn(k, owner, dim=0)(units_last).sum()
            # One backward for every slice: d total / d zs_k = d sum f_k / d zs_k exactly
            # (an addition hands its gradient on unchanged). total, not grad_outputs=ones:
            # the same d, and torch's grad_outputs check imports sympy (~0.3 s)
            (d,) = torch.autograd.grad(total, leaf)
        return d

    def max_derivatives(self) -> torch.Tensor:
        """``max |f'|`` of each candidate's activation, ``[M]`` (float64, CPU); with
        learnable parameters, at their current values, the largest over the layers
        (prelu's ``max(1, |alpha|)``)."""
        values = torch.empty(len(self.candidates), dtype=torch.float64)
        for part in self.slices:
            values[part.start : part.stop] = part.activation.max_derivative
        for i, learned in enumerate(self.learned()):
            if learned:
                act = self.candidates[i].activation
                layers = zip(*learned.values(), strict=True)
                values[i] = max(
                    act.definition.max_derivative(
                        {**act.params, **dict(zip(learned, v, strict=True))}
                    )
                    for v in layers
                )
        return values
