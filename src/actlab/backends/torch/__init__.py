"""PyTorch backend: ``functional(spec)`` returns a callable on tensors with the catalog's math.

(First version: torch native ops for each catalog entry. The full backend with
memory-efficient autograd Functions, modules and ``swap_activations`` replaces this.)
"""

from actlab.backends.torch.functional import functional

__all__ = ["functional"]
