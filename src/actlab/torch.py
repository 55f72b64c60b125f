"""actlab for PyTorch users: every catalog entry as a module or a tensor function.

>>> import actlab.torch
>>> layer = actlab.torch.get("elu(alpha=0.5)")          # an nn.Module
>>> f = actlab.torch.functional("gelu")                 # Tensor -> Tensor
>>> report = actlab.torch.swap_activations(model, "silu")  # doctest: +SKIP
"""

from actlab.backends.torch import (
    ActivationModule,
    Replacement,
    SwapReport,
    functional,
    get,
    swap_activations,
)

__all__ = ["ActivationModule", "Replacement", "SwapReport", "functional", "get", "swap_activations"]
