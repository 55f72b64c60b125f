"""actlab for PyTorch users: every catalog entry as a module or a tensor function, and the
activations of your own model found, classified and swapped.

>>> import actlab.torch
>>> layer = actlab.torch.get("elu(alpha=0.5)")          # an nn.Module
>>> f = actlab.torch.functional("gelu")                 # Tensor -> Tensor
>>> sites = actlab.torch.activation_sites(model, x)      # doctest: +SKIP
>>> report = actlab.torch.swap_activations(model, "silu", example=x)  # doctest: +SKIP
"""

from actlab.backends.torch import (
    ActivationModule,
    ActivationSite,
    Left,
    Replacement,
    SwapReport,
    activation_sites,
    functional,
    get,
    swap_activations,
)

__all__ = [
    "ActivationModule",
    "ActivationSite",
    "Left",
    "Replacement",
    "SwapReport",
    "activation_sites",
    "functional",
    "get",
    "swap_activations",
]
