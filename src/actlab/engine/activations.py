"""Every candidate's activation in a stack, with its learnable parameters.

A stack's candidates form contiguous activation slices
(:func:`actlab.engine.candidates.activation_slices`); each slice's activation is applied
once per site to its slice of the pre-activations. An entry without learnable parameters
is its torch function (:func:`actlab.backends.torch.functional`) at the spec's values.

An entry with learnable parameters (:attr:`actlab.Activation.learnable`: prelu's alpha,
star_relu's scale and bias, xielu's alpha_p and alpha_n, snake's frequency) learns them in
every *owner*: a hidden layer of the engine's own models, a replaced activation of a
user's model (one per call of a module called several times, as
:func:`actlab.torch.swap_activations` replaces it). Per owner and parameter, a slice of ``n`` candidates holds one tensor ``[n, 1]``: row ``i`` is
the ``(1,)`` parameter that candidate's own
:class:`~actlab.backends.torch.LearnableActivation` would hold alone, with the same
start (the spec's value) and the same storage (``raw``, with value ``bound +
softplus(raw)`` for a parameter the catalog keeps above a bound,
:func:`actlab.backends.torch.modules.constrained`). The stack trains these tensors with
its weights (:attr:`actlab.engine.stack.Stack.trained`): the same optimizer step, the same
freeze mask, the same checkpoints. The function applied to a slice is the binding's
``learned`` one with each ``[n, 1]`` tensor broadcast along the candidate axis, so
candidate ``m``'s output and gradient depend on its own row only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch

from actlab.backends.torch import functional
from actlab.backends.torch.bindings import binding
from actlab.backends.torch.modules import constrained, initial_raw, learnable_params
from actlab.engine.candidates import ActivationSlice

TensorFn = Callable[[torch.Tensor], torch.Tensor]
LearnedFn = Callable[..., torch.Tensor]


class StackActivations:
    """The activations of a stack's ``slices``; :meth:`learn` gives the learnable ones
    their parameters, per owner (see the module docstring)."""

    def __init__(self, slices: Sequence[ActivationSlice]) -> None:
        self.slices = list(slices)
        self._fixed: list[TensorFn | None] = []
        self._learned: list[LearnedFn | None] = []
        for s in self.slices:
            act = s.activation
            learned = binding(act).learned if act.learnable else None
            if learned is None:
                self._fixed.append(functional(act))
                self._learned.append(None)
            else:
                fixed = {k: v for k, v in act.params.items() if k not in act.learnable}
                self._fixed.append(None)
                self._learned.append(learned(fixed))
        self.owners: list[str] = []
        self.raw: list[list[dict[str, torch.Tensor]]] = []
        """Per owner, per slice: the slice's raw parameters by name (empty for a slice
        without learnable parameters)."""

    def learn(self, owners: Sequence[str], dtype: torch.dtype, device: str | torch.device) -> None:
        """Create the learnable parameters of every ``owners`` entry, at the specs' values."""
        self.owners = list(owners)
        self.raw = [
            [
                {
                    p.name: torch.full(
                        (s.stop - s.start, 1), initial_raw(s.activation, p), dtype=dtype
                    )
                    .to(device)
                    .requires_grad_(True)
                    for p in learnable_params(s.activation)
                }
                if self._learned[k] is not None
                else {}
                for k, s in enumerate(self.slices)
            ]
            for _ in self.owners
        ]

    @property
    def tensors(self) -> list[torch.Tensor]:
        """Every raw parameter tensor ``[n, 1]``, owner by owner, in slice order."""
        return [t for owner in range(len(self.owners)) for t in self.owner_tensors(owner)]

    @property
    def rows(self) -> list[tuple[int, int]]:
        """For each of :attr:`tensors`, the stack's candidates ``[start, stop)`` its rows
        belong to (its slice's)."""
        return [
            (s.start, s.stop)
            for per_owner in self.raw
            for s, params in zip(self.slices, per_owner, strict=True)
            for _ in params
        ]

    def owner_tensors(self, owner: int) -> list[torch.Tensor]:
        return [t for per_slice in self.raw[owner] for t in per_slice.values()]

    def signature(self) -> list[tuple[str, tuple[int, ...]]]:
        """Names and per-candidate shapes of :attr:`tensors`."""
        return [
            (f"{name} {s.activation.spec} {p}", tuple(t.shape[1:]))
            for name, per_slice in zip(self.owners, self.raw, strict=True)
            for s, params in zip(self.slices, per_slice, strict=True)
            for p, t in params.items()
        ]

    def _raw(
        self, owner: int, tensors: Sequence[torch.Tensor] | None
    ) -> list[dict[str, torch.Tensor]]:
        """Per slice, ``owner``'s raw parameters by name, or ``tensors`` in their place
        (in :meth:`owner_tensors` order; e.g. leaves to differentiate)."""
        if tensors is None:
            return self.raw[owner]
        mine = iter(tensors)
        return [{p: next(mine) for p in params} for params in self.raw[owner]]

    def _values(self, k: int, raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Slice ``k``'s parameters as the function uses them, ``[n, 1]``, from ``raw``."""
        act = self.slices[k].activation
        return {p.name: constrained(act, p, raw[p.name]) for p in learnable_params(act)}

    def fn(
        self, k: int, owner: int, dim: int, tensors: Sequence[torch.Tensor] | None = None
    ) -> TensorFn:
        """Slice ``k``'s activation at ``owner`` for its part of a tensor whose candidate
        axis is ``dim`` (``tensors``: see :meth:`_raw`)."""
        fixed = self._fixed[k]
        if fixed is not None:
            return fixed
        learned = self._learned[k]
        assert learned is not None
        return partial(_broadcast, learned, self._values(k, self._raw(owner, tensors)[k]), dim)

    def apply(
        self,
        z: torch.Tensor,
        dim: int,
        owner: int = 0,
        tensors: Sequence[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Each activation on its candidate slice of ``z`` along ``dim``, its learnable
        parameters ``owner``'s (``tensors``: see :meth:`_raw`)."""
        if len(self.slices) == 1:
            return self.fn(0, owner, dim, tensors)(z)
        parts = z.split([s.stop - s.start for s in self.slices], dim=dim)
        return torch.cat(
            [self.fn(k, owner, dim, tensors)(part) for k, part in enumerate(parts)], dim=dim
        )

    def slice_of(self, candidate: int) -> int:
        for k, s in enumerate(self.slices):
            if s.start <= candidate < s.stop:
                return k
        raise IndexError(f"candidate {candidate} is outside the stack")

    def alone(
        self, candidate: int, owner: int, tensors: Sequence[torch.Tensor] | None = None
    ) -> TensorFn:
        """Candidate ``candidate``'s activation at ``owner`` for its own tensors (no
        candidate axis), its parameters of shape ``(1,)`` (``tensors``: see :meth:`_raw`)."""
        k = self.slice_of(candidate)
        fixed, learned = self._fixed[k], self._learned[k]
        if fixed is not None:
            return fixed
        assert learned is not None
        row = candidate - self.slices[k].start
        values = {n: v[row] for n, v in self._values(k, self._raw(owner, tensors)[k]).items()}
        return lambda z: learned(z, **{n: v.to(z.dtype) for n, v in values.items()})

    def learned(self) -> list[dict[str, list[float]]]:
        """Per candidate, each learnable parameter's current value per owner (empty for an
        activation without learnable parameters)."""
        out: list[dict[str, list[float]]] = [
            {} for _ in range(self.slices[-1].stop if self.slices else 0)
        ]
        with torch.no_grad():
            for owner in range(len(self.owners)):
                for k, s in enumerate(self.slices):
                    if self._learned[k] is None:
                        continue
                    for name, value in self._values(k, self.raw[owner][k]).items():
                        column = value.reshape(-1).double().cpu().tolist()
                        for i, v in enumerate(column):
                            out[s.start + i].setdefault(name, []).append(v)
        return out


def _broadcast(
    learned: LearnedFn, values: dict[str, torch.Tensor], dim: int, z: torch.Tensor
) -> torch.Tensor:
    """``learned(z, **values)`` with each ``[n, 1]`` value laid along ``z``'s candidate
    axis ``dim`` (size 1 on every other axis) in ``z``'s dtype."""
    shape = [1] * z.dim()
    shape[dim] = -1
    return learned(z, **{k: v.to(z.dtype).view(shape) for k, v in values.items()})
