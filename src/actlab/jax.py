"""actlab for JAX users (``pip install actlab[jax]``): every catalog entry as a pure
function of a JAX array, jit-able and vmap-able, with the catalog's analytic derivative
(``jax.custom_jvp``) where autodiff of the formula would lose accuracy.

>>> import jax, jax.numpy as jnp, actlab.jax
>>> f = actlab.jax.get("gelu")                 # exact GELU (jax.nn.gelu defaults to tanh)
>>> jax.jit(jax.vmap(jax.grad(f)))(jnp.linspace(-3.0, 3.0, 7)).shape
(7,)
>>> apply, params = actlab.jax.functional("prelu(alpha=0.1)")   # for Flax / Equinox
>>> sorted(params)
['alpha']

Float64 needs ``jax.config.update("jax_enable_x64", True)``, as everywhere in JAX.
"""

from __future__ import annotations

try:
    import jax  # noqa: F401
except ModuleNotFoundError as exc:
    if (exc.name or "").split(".")[0] not in ("jax", "jaxlib"):
        raise
    raise ImportError("actlab.jax needs JAX: pip install actlab[jax]") from exc

from actlab.backends.jax import functional, get, native

__all__ = ["functional", "get", "native"]
