"""Find the parts of a PyTorch model a monitor watches, and their activations' math.

* activation modules: torch's elementwise activations and actlab's own modules
  (:data:`ELEMENTWISE_ACTIVATIONS`);
* weight layers: ``nn.Linear`` and ``nn.Conv1d/2d/3d`` (and their transposed forms);
* the *feeder* of an activation: the nearest weight layer before it in module order;
* :class:`ActivationMath`: the derivative ``f'(z)`` and ``max |f'|`` of an activation module,
  from the catalog when the module maps to a catalog entry, otherwise by autograd through the
  module's own ``forward`` (``max |f'|`` then estimated on a grid over [-20, 20]).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

import actlab
from actlab.backends.torch import ActivationModule, PReLUModule
from actlab.catalog import Activation
from actlab.diagnose.findings import SELU_INIT_TOLERANCE
from actlab.diagnose.records import Structure

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

WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, _ConvNd)
"""Layers whose weight gradient is recorded and whose outputs feed activations."""

PASS_THROUGH: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    _BatchNorm,
    nn.Flatten,
    nn.Unflatten,
    nn.Identity,
)
"""Modules that do not count as a non-linearity between two weight layers (all are affine
maps of their input for a fixed mask / fixed batch statistics)."""

PLAIN_DROPOUT: tuple[type[nn.Module], ...] = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
"""Dropout that breaks SELU's self-normalization (alpha-dropout keeps mean and variance)."""

_TORCH_TO_CATALOG: dict[type[nn.Module], Callable[[nn.Module], str]] = {
    nn.ReLU: lambda m: "relu",
    nn.LeakyReLU: lambda m: f"leaky_relu(alpha={m.negative_slope!r})",
    nn.ELU: lambda m: f"elu(alpha={m.alpha!r})",
    nn.SELU: lambda m: "selu",
    nn.CELU: lambda m: f"celu(alpha={m.alpha!r})",
    nn.GELU: lambda m: "gelu" if m.approximate == "none" else "gelu_tanh",
    nn.SiLU: lambda m: "silu",
    nn.Mish: lambda m: "mish",
    nn.Tanh: lambda m: "tanh",
    nn.Sigmoid: lambda m: "sigmoid",
    nn.Softplus: lambda m: f"softplus(beta={float(m.beta)!r})",
    nn.Softsign: lambda m: "softsign",
    nn.Hardswish: lambda m: "hard_swish",
    nn.Hardsigmoid: lambda m: "hard_sigmoid",
    nn.ReLU6: lambda m: "relu6",
    nn.LogSigmoid: lambda m: "log_sigmoid",
}


def is_activation(module: nn.Module) -> bool:
    """Whether ``module`` is an elementwise activation module the monitor watches."""
    return isinstance(module, ELEMENTWISE_ACTIVATIONS)


def catalog_activation(module: nn.Module) -> Activation | None:
    """The catalog entry computing the same function as ``module``, or ``None`` (learnable
    or unlisted activations, whose derivative then comes from autograd)."""
    if isinstance(module, PReLUModule):
        return None
    if isinstance(module, ActivationModule):
        return module.activation
    to_spec = _TORCH_TO_CATALOG.get(type(module))
    return actlab.get(to_spec(module)) if to_spec else None


class ActivationMath:
    """``f'(z)`` and ``max |f'|`` of an elementwise activation ``fn`` (see the module
    docstring); ``catalog`` is the catalog entry computing the same function, if any."""

    def __init__(
        self,
        fn: Callable[[torch.Tensor], torch.Tensor],
        catalog: Activation | None,
        name: str,
    ) -> None:
        self.fn = fn
        self.catalog = catalog
        self.name = catalog.spec if catalog else name
        if catalog is not None:
            self.max_derivative = catalog.max_derivative
            info = catalog.info.properties
            self.bounded = bool(info.bounded_above and info.bounded_below)
        else:
            grid = torch.linspace(-20.0, 20.0, 4001)
            self.max_derivative = float(np.abs(self._autograd(grid)).max())
            if not self.max_derivative > 0 or not math.isfinite(self.max_derivative):
                raise ValueError(
                    f"cannot monitor activation {name!r}: its derivative on [-20, 20] has "
                    f"maximum {self.max_derivative} (is it elementwise?)"
                )
            with torch.no_grad():
                values = fn(grid)
            self.bounded = bool(values[0] == values[1] and values[-1] == values[-2])

    def _autograd(self, z: torch.Tensor) -> np.ndarray:
        x = z.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(self.fn(x).sum(), x)
        return grad.detach().cpu().numpy()

    def derivative(self, z: torch.Tensor) -> np.ndarray:
        """``f'(z)`` elementwise, as a NumPy array of ``z``'s shape."""
        if self.catalog is not None:
            return np.asarray(self.catalog.derivative(z.detach().cpu().numpy()))
        return self._autograd(z)


def module_math(module: nn.Module) -> ActivationMath:
    """:class:`ActivationMath` of an activation module; autograd goes through the module's
    ``forward`` (not ``__call__``, so the monitor's own hooks do not fire)."""
    return ActivationMath(module.forward, catalog_activation(module), type(module).__name__)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every linear/conv layer with a weight, in module order."""
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, WEIGHT_LAYERS) and isinstance(getattr(m, "weight", None), torch.Tensor)
    ]


def activations_with_feeders(model: nn.Module) -> list[tuple[str, nn.Module, str | None]]:
    """``(name, activation module, feeder name)`` in module order; the feeder is the nearest
    linear/conv layer registered before the activation (``None`` when there is none)."""
    found: list[tuple[str, nn.Module, str | None]] = []
    feeder: str | None = None
    for name, m in model.named_modules():
        if isinstance(m, WEIGHT_LAYERS):
            feeder = name
        elif is_activation(m) and m is not model:
            found.append((name, m, feeder))
    return found


def init_scale(weight: torch.Tensor) -> float:
    """``std(W) * sqrt(fan_in)``: 1 for LeCun-normal init, ~0.577 for PyTorch's default
    (uniform with bound 1/sqrt(fan_in)), ~1.41 for He init."""
    fan_in = weight[0].numel()
    return float(weight.detach().float().std()) * math.sqrt(fan_in)


def static_structure(
    model: nn.Module, activations: list[tuple[str, nn.Module, str | None]]
) -> Structure:
    """The SELU-related parts of :class:`Structure` (``linear_pairs`` are found in the
    forward pass by the monitor)."""
    selu = [
        (name, feeder)
        for name, m, feeder in activations
        if (c := catalog_activation(m)) is not None and c.name == "selu"
    ]
    if not selu:
        return Structure()
    modules = dict(model.named_modules())
    return Structure(
        selu_bad_init={
            name: f"std(W)*sqrt(fan_in) = {scale:.2f} in {feeder}, LeCun-normal gives 1"
            for name, feeder in selu
            if feeder is not None
            and abs((scale := init_scale(modules[feeder].weight)) - 1.0) > SELU_INIT_TOLERANCE
        },
        plain_dropout=tuple(n for n, m in model.named_modules() if isinstance(m, PLAIN_DROPOUT)),
        batchnorm=tuple(n for n, m in model.named_modules() if isinstance(m, _BatchNorm)),
    )


def unit_axis(feeder: nn.Module | None, ndim: int) -> int:
    """The axis of units in an activation fed by ``feeder``: the last one after a linear
    layer, the channel axis (1) after a convolution or when unknown."""
    if ndim <= 1:
        return 0
    return ndim - 1 if isinstance(feeder, nn.Linear) else 1
