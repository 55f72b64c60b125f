"""PyTorch backend: the catalog's math as tensor functions and modules.

* :func:`functional` - ``spec -> (Tensor -> Tensor)``;
* :func:`get` - ``spec -> nn.Module`` (learnable entries carry parameters);
* :data:`BINDINGS` - how each catalog entry runs in torch (native op, actlab's
  implementation, the ``torch.nn`` classes that compute it);
* :func:`activation_sites` - every activation call of a model (module or functional), what
  it computes (recognised by behaviour), its role and the layer feeding it;
* :func:`swap_activations` - replace the activations of an existing model, by role.

A model's activation sites and swapping are imported on first use (PEP 562): training
the built-in models needs neither.
"""

from __future__ import annotations

from actlab._lazy import lazy_names
from actlab.backends.torch.bindings import BINDINGS, TorchBinding, module_spec
from actlab.backends.torch.functional import functional, implementation, native
from actlab.backends.torch.modules import ActivationModule, LearnableActivation, get
from actlab.backends.torch.recognize import Behaviour, recognize

__getattr__, _user_model_names = lazy_names(
    __name__,
    {
        "ActivationSite": "sites",
        "Left": "swap",
        "Replacement": "swap",
        "SwapReport": "swap",
        "activation_sites": "sites",
        "swap_activations": "swap",
    },
)
__all__ = [
    "BINDINGS",
    "ActivationModule",
    "Behaviour",
    "LearnableActivation",
    "TorchBinding",
    "functional",
    "get",
    "implementation",
    "module_spec",
    "native",
    "recognize",
    *_user_model_names,
]
