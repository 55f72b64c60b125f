"""``torch.nn.Module`` wrappers: :func:`get` turns a spec into a module."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from actlab.backends.torch.functional import functional
from actlab.catalog import Activation
from actlab.catalog import get as get_activation


class ActivationModule(nn.Module):
    """Applies a catalog activation elementwise (over ``axis`` for a vector entry).

    Shape: any; the output has the input's shape and dtype. ``extra_repr`` is the spec,
    so ``print(model)`` shows e.g. ``ActivationModule(elu(alpha=0.5))``.

    >>> m = get("leaky_relu(alpha=0.2)")
    >>> m(torch.tensor([-1.0, 2.0]))
    tensor([-0.2000,  2.0000])
    """

    def __init__(self, spec: str | Activation) -> None:
        super().__init__()
        self.activation = get_activation(spec)
        self._fn = functional(self.activation)

    @property
    def spec(self) -> str:
        return self.activation.spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fn(x)

    def extra_repr(self) -> str:
        return self.spec


class PReLUModule(ActivationModule):
    """PReLU with one learnable slope ``weight``, initialised to the spec's ``alpha``:
    f(x) = x for x >= 0, weight * x for x < 0."""

    def __init__(self, spec: str | Activation) -> None:
        super().__init__(spec)
        self.weight = nn.Parameter(torch.tensor([float(self.activation.params["alpha"])]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.prelu(x, self.weight.to(x.dtype))

    def extra_repr(self) -> str:
        return f"{self.spec}, learned alpha={self.weight.item():.4g}"


_LEARNABLE: dict[str, type[ActivationModule]] = {"prelu": PReLUModule}


def get(spec: str | Activation) -> ActivationModule:
    """A fresh module for ``spec``; entries with learnable parameters carry them as
    ``nn.Parameter``. Raises :class:`actlab.SpecError` for an unknown or invalid spec."""
    act = get_activation(spec)
    cls = _LEARNABLE.get(act.name, ActivationModule)
    if cls is ActivationModule and any(p.learnable for p in act.definition.params):
        raise NotImplementedError(f"no torch module with learnable parameters for {act.name!r}")
    return cls(act)
