"""``torch.nn.Module`` wrappers: :func:`get` turns a spec into a module."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from actlab.backends.torch.bindings import TensorFn, binding
from actlab.backends.torch.functional import functional
from actlab.catalog import Activation, Param, build
from actlab.catalog import get as get_activation


class ActivationModule(nn.Module):
    """Applies a catalog activation elementwise (along ``axis`` for a vector or gated
    entry; a gated one halves that axis).

    Shape: any; the output has the input's shape (half the axis for a gated entry) and
    dtype. ``extra_repr`` is the spec, so ``print(model)`` shows e.g.
    ``ActivationModule(elu(alpha=0.5))``. An entry that behaves differently in training
    (rrelu's random slopes) follows ``module.train()`` / ``module.eval()``.

    >>> m = get("leaky_relu(alpha=0.2)")
    >>> m(torch.tensor([-1.0, 2.0]))
    tensor([-0.2000,  2.0000])
    """

    def __init__(self, spec: str | Activation) -> None:
        super().__init__()
        self.activation = get_activation(spec)
        self._fn = functional(self.activation)
        training = binding(self.activation).training
        self._training_fn: TensorFn | None = (
            None if training is None else training(self.activation.params)
        )

    @property
    def spec(self) -> str:
        return self.activation.spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self._training_fn is not None:
            return self._training_fn(x)
        return self._fn(x)

    def extra_repr(self) -> str:
        return self.spec


def learnable_params(act: Activation) -> list[Param]:
    """The entry's learnable parameters, in definition order."""
    return [p for p in act.definition.params if p.learnable]


def initial_raw(act: Activation, p: Param) -> float:
    """The stored value that starts learnable ``p`` at ``act``'s value: the value itself,
    or for one kept above a bound (``Param.learn_above``) ``raw = softplus^-1(value -
    bound) = log(expm1(value - bound))``."""
    value = float(act.params[p.name])
    if p.learn_above is None:
        return value
    return math.log(math.expm1(value - p.lower_bound(act.params)))


def constrained(act: Activation, p: Param, raw: torch.Tensor) -> torch.Tensor:
    """The value the function uses from stored ``raw`` (differentiable): ``raw``, or
    ``bound + softplus(raw)`` for a parameter kept above a bound."""
    if p.learn_above is None:
        return raw
    return F.softplus(raw) + p.lower_bound(act.params)


class LearnableActivation(ActivationModule):
    """An entry with learnable parameters (prelu's slope, star_relu's scale and bias,
    xielu's alphas, snake's frequency): each is an ``nn.Parameter`` of shape ``(1,)``
    (shared by all units, as ``torch.nn.PReLU``'s default), initialised to the spec's value.
    A parameter the catalog keeps above a bound while learning (``Param.learn_above``:
    xielu's alpha_p > 0, alpha_n > beta) is stored as ``<name>_raw`` with value
    ``bound + softplus(raw)``, as Hugging Face's XIELUActivation does. :meth:`values` gives
    the values the function uses and :attr:`current` the activation with them."""

    def __init__(self, spec: str | Activation) -> None:
        super().__init__(spec)
        act = self.activation
        learned = binding(act).learned
        assert learned is not None, act.name
        self._names = act.learnable
        self._fixed = {k: v for k, v in act.params.items() if k not in self._names}
        self._learned_fn = learned(self._fixed)
        for p in learnable_params(act):
            self.register_parameter(
                self.parameter_name(p.name), nn.Parameter(torch.tensor([initial_raw(act, p)]))
            )

    def parameter_name(self, name: str) -> str:
        """The attribute of the ``nn.Parameter`` storing ``name`` (``<name>_raw`` for a
        bounded one)."""
        p = self.activation.definition.param(name)
        return f"{name}_raw" if p is not None and p.learn_above is not None else name

    def values(self) -> dict[str, torch.Tensor]:
        """The parameters as the function uses them (``bound + softplus(raw)`` for a
        bounded one), differentiable."""
        act = self.activation
        return {
            p.name: constrained(act, p, getattr(self, self.parameter_name(p.name)))
            for p in learnable_params(act)
        }

    def learned(self) -> dict[str, float]:
        with torch.no_grad():
            return {k: float(v.reshape(-1)[0]) for k, v in self.values().items()}

    @property
    def current(self) -> Activation:
        """The catalog activation with the parameters' current values (raises
        :class:`actlab.SpecError` if training has taken one outside the catalog's bounds)."""
        return build(self.activation.name, {**self._fixed, **self.learned()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {k: v.to(x.dtype) for k, v in self.values().items()}
        return self._learned_fn(x, **values)

    def extra_repr(self) -> str:
        learned = ", ".join(f"{k}={v:.4g}" for k, v in self.learned().items())
        return f"{self.spec}, learned {learned}"


def get(spec: str | Activation) -> ActivationModule:
    """A fresh module for ``spec``; entries with learnable parameters carry them as
    ``nn.Parameter``. Raises :class:`actlab.SpecError` for an unknown or invalid spec."""
    act = get_activation(spec)
    return LearnableActivation(act) if act.learnable else ActivationModule(act)
