"""PyTorch backend: the catalog's math as tensor functions and modules.

* :func:`functional` - ``spec -> (Tensor -> Tensor)``;
* :func:`get` - ``spec -> nn.Module`` (learnable entries carry parameters);
* :func:`swap_activations` - replace the activation modules of an existing model.
"""

from actlab.backends.torch.functional import functional, implementation, native
from actlab.backends.torch.modules import ActivationModule, PReLUModule, get
from actlab.backends.torch.swap import (
    ELEMENTWISE_ACTIVATIONS,
    Replacement,
    SwapReport,
    swap_activations,
)

__all__ = [
    "ELEMENTWISE_ACTIVATIONS",
    "ActivationModule",
    "PReLUModule",
    "Replacement",
    "SwapReport",
    "functional",
    "get",
    "implementation",
    "native",
    "swap_activations",
]
