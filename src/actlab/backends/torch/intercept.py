"""Reach activation sites at run time: per-call dispatch of a module called several times,
and functional calls inside a module's ``forward``.

Calls are counted from the start of each forward pass of the root model (its pre-hook
resets the counters, see :func:`reset_on_forward`), the way :mod:`actlab.backends.torch.sites`
numbers them; a forward pass of a submodule alone keeps counting modulo the calls per
forward pass. Everything that must survive ``copy.deepcopy``, ``.to(device)`` and
``state_dict`` lives in modules registered in the model; hooks are ``functools.partial``
objects of module-level functions, so a deep copy of the model gets hooks on its own copies.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.hooks import RemovableHandle

from actlab.backends.torch.trace import ACTIVATION_FUNCTIONS, INPLACE_FUNCTIONS, caller

Handler = Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any], int], Any]
"""``handler(func, args, kwargs, site)``: runs in place of an intercepted call."""


class CallSites(nn.Module):
    """Stands in for a module called ``len(calls)`` times per forward pass: the ``k``-th
    call runs ``calls[k]`` (a replacement, or the original module for calls left alone)."""

    def __init__(self, calls: list[nn.Module]) -> None:
        super().__init__()
        self.calls = nn.ModuleList(calls)
        self.counter = 0

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        k = self.counter % len(self.calls)
        self.counter += 1
        return self.calls[k](*args, **kwargs)

    def reset(self) -> None:
        self.counter = 0


class _Mode(TorchFunctionMode):
    """Sends the activation calls made by ``owner``'s own methods to ``router``."""

    def __init__(self, router: CallRouter, owner: nn.Module) -> None:
        super().__init__()
        self.router = router
        self.owner = owner

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        name = ACTIVATION_FUNCTIONS.get(func)
        if name is not None and name in self.router.per_forward:
            module, _ = caller(sys._getframe(1))
            if module is self.owner:
                site = self.router.site_of(name)
                if site is not None:
                    return self.router.handle(func, args, kwargs, site)
        return func(*args, **kwargs)


class CallRouter:
    """Activation calls inside the ``forward`` of one module (its *owner*).

    ``sites[(function, k)] = site``: the ``k``-th call of ``function`` per forward pass is
    ``site``; ``per_forward[function]``: how many calls of it one forward pass makes.
    ``handle(func, args, kwargs, site)`` runs in place of each listed call, while a mode
    entered by :meth:`enter` is active (the owner's forward pass, see :func:`route`).
    """

    def __init__(
        self, sites: dict[tuple[str, int], int], per_forward: dict[str, int], handle: Handler
    ) -> None:
        self.sites = dict(sites)
        self.per_forward = dict(per_forward)
        self.handle = handle
        self.counts: dict[str, int] = {}
        self._modes: list[_Mode] = []

    def site_of(self, function: str) -> int | None:
        k = self.counts.get(function, 0)
        self.counts[function] = k + 1
        return self.sites.get((function, k % self.per_forward[function]))

    def reset(self) -> None:
        self.counts.clear()

    def enter(self, owner: nn.Module) -> None:
        mode = _Mode(self, owner)
        mode.__enter__()
        self._modes.append(mode)

    def exit(self) -> None:
        if self._modes:
            self._modes.pop().__exit__(None, None, None)

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles carry no active mode."""
        return {k: v for k, v in self.__dict__.items() if k != "_modes"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._modes = []


def _enter(router: CallRouter, module: nn.Module, args: tuple[Any, ...]) -> None:
    router.enter(module)


def _exit(router: CallRouter, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
    router.exit()


def route(owner: nn.Module, router: CallRouter) -> list[RemovableHandle]:
    """Activate ``router`` during ``owner``'s forward passes (also when one raises)."""
    return [
        owner.register_forward_pre_hook(functools.partial(_enter, router)),
        owner.register_forward_hook(functools.partial(_exit, router), always_call=True),
    ]


class ReplacedCalls(nn.Module):
    """Replacement modules for activation calls in its parent's ``forward`` (registered in
    the parent, so they move, copy and save with the model); ``router`` runs them.
    ``names``: the replaced sites' names."""

    def __init__(
        self,
        sites: dict[tuple[str, int], int],
        per_forward: dict[str, int],
        replacements: list[nn.Module],
        names: list[str],
    ) -> None:
        super().__init__()
        self.replacements = nn.ModuleList(replacements)
        self.names = list(names)
        self.router = CallRouter(sites, per_forward, self._run)

    def _run(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], site: int
    ) -> Any:
        return replace_call(self.replacements[site], func, args, kwargs)

    def reset(self) -> None:
        self.router.reset()


def _reset(counters: list[nn.Module], module: nn.Module, args: tuple[Any, ...]) -> None:
    for c in counters:
        c.reset()  # type: ignore[operator]


def reset_on_forward(model: nn.Module, counters: list[nn.Module]) -> RemovableHandle:
    """Reset the call counters of ``counters`` at the start of each forward pass of
    ``model``."""
    return model.register_forward_pre_hook(functools.partial(_reset, counters))


def replace_call(
    replacement: nn.Module, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Run ``replacement`` in place of the activation call ``func(*args, **kwargs)``; an
    in-place call (``relu_``, ``inplace=True``) writes the result into its input."""
    x = args[0] if args and isinstance(args[0], torch.Tensor) else kwargs["input"]
    if func in INPLACE_FUNCTIONS or kwargs.get("inplace") or (len(args) > 1 and args[-1] is True):
        return x.copy_(replacement(x.clone()))
    return replacement(x)
