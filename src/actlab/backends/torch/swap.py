"""``swap_activations``: replace every activation module of a user's model."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from actlab.backends.torch.modules import ActivationModule, get
from actlab.catalog import Activation

ELEMENTWISE_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softplus,
    nn.Softsign,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.ReLU6,
    nn.PReLU,
    nn.LogSigmoid,
    nn.Hardtanh,
    nn.RReLU,
    nn.Tanhshrink,
    nn.Softshrink,
    nn.Hardshrink,
    nn.Threshold,
    ActivationModule,
)
"""Module types that ``swap_activations`` replaces. Softmax, LogSoftmax, Softmin and GLU
are left alone: they shape outputs (probabilities, gating), not hidden activations."""


@dataclass(frozen=True)
class Replacement:
    """One swapped module: its qualified name in the model, and both modules' reprs."""

    name: str
    old: str
    new: str


@dataclass
class SwapReport:
    """What :func:`swap_activations` did: the model it changed and each replacement."""

    model: nn.Module
    replaced: list[Replacement] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.replaced)

    def __str__(self) -> str:
        return "\n".join(f"{r.name}: {r.old} -> {r.new}" for r in self.replaced)


def _factory(
    spec_or_factory: str | Activation | Callable[[], nn.Module],
) -> Callable[[], nn.Module]:
    if isinstance(spec_or_factory, (str, Activation)):
        act = spec_or_factory
        get(act)  # validate the spec before touching the model
        return lambda: get(act)
    if callable(spec_or_factory):
        return spec_or_factory
    raise TypeError(
        "spec_or_factory must be a spec string, an actlab Activation or a callable returning "
        f"an nn.Module, got {type(spec_or_factory).__name__}"
    )


def swap_activations(
    model: nn.Module,
    spec_or_factory: str | Activation | Callable[[], nn.Module],
    *,
    inplace: bool = True,
) -> SwapReport:
    """Replace every activation *module* of ``model`` by a fresh module for the new spec.

    ``spec_or_factory`` is a spec (``"gelu"``, ``"elu(alpha=0.5)"``) or a zero-argument
    callable returning a module (``torch.nn.GELU``); each replaced position gets its own new
    module, so learnable activations (prelu) do not share parameters. Replaced types are
    :data:`ELEMENTWISE_ACTIVATIONS` (torch's elementwise activations and actlab's modules).
    Weights of every other module are untouched. With ``inplace=False`` a deep copy is
    changed and ``model`` is left as it was.

    Only modules registered as submodules can be seen: activations called functionally
    inside ``forward()`` (``F.relu(x)``, ``torch.tanh(x)``, ``x.sigmoid()``) are invisible
    to this function and keep running. Rewrite such a model to hold activation modules
    (``self.act = nn.ReLU()``) to make it swappable.

    Returns a :class:`SwapReport` with the qualified name, old and new module of each swap.
    Raises ``ValueError`` when the model holds no activation module.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    make = _factory(spec_or_factory)
    if isinstance(model, ELEMENTWISE_ACTIVATIONS):
        raise ValueError(
            f"the model is itself an activation ({type(model).__name__}); "
            "use actlab.torch.get(spec) to make a new one"
        )
    target = model if inplace else copy.deepcopy(model)
    found = [
        (name, module)
        for name, module in target.named_modules(remove_duplicate=False)
        if isinstance(module, ELEMENTWISE_ACTIVATIONS)
    ]
    if not found:
        raise ValueError(
            f"no activation modules found in {type(model).__name__}; activations called "
            "functionally inside forward() (F.relu, torch.tanh, ...) cannot be swapped: "
            "hold them as modules (self.act = nn.ReLU()) instead"
        )
    report = SwapReport(target)
    for name, old in found:
        parent_name, _, child = name.rpartition(".")
        parent = target.get_submodule(parent_name)
        new = make()
        setattr(parent, child, new)
        report.replaced.append(Replacement(name, repr(old), repr(new)))
    return report
