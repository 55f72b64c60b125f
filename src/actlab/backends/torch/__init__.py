"""PyTorch backend: the catalog's math as tensor functions and modules.

* :func:`functional` - ``spec -> (Tensor -> Tensor)``;
* :func:`get` - ``spec -> nn.Module`` (learnable entries carry parameters);
* :data:`BINDINGS` - how each catalog entry runs in torch (native op, actlab's
  implementation, the ``torch.nn`` classes that compute it);
* :func:`activation_sites` - every activation call of a model (module or functional), what
  it computes (recognised by behaviour), its role and the layer feeding it;
* :func:`swap_activations` - replace the activations of an existing model, by role.
"""

from actlab.backends.torch.bindings import BINDINGS, TorchBinding, module_spec
from actlab.backends.torch.functional import functional, implementation, native
from actlab.backends.torch.modules import ActivationModule, LearnableActivation, get
from actlab.backends.torch.recognize import Behaviour, recognize
from actlab.backends.torch.sites import ActivationSite, activation_sites
from actlab.backends.torch.swap import Left, Replacement, SwapReport, swap_activations

__all__ = [
    "BINDINGS",
    "ActivationModule",
    "ActivationSite",
    "Behaviour",
    "LearnableActivation",
    "Left",
    "Replacement",
    "SwapReport",
    "TorchBinding",
    "activation_sites",
    "functional",
    "get",
    "implementation",
    "module_spec",
    "native",
    "recognize",
    "swap_activations",
]
