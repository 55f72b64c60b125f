"""``swap_activations``: replace the activations of a user's model that play a chosen role.

The model runs once on an example input, traced (:mod:`actlab.backends.torch.sites`):
every activation call is found, whatever its class, and whether it is a module or a
functional call, with what it computes and its role (``hidden``, ``gate``, ``output``).
The selected sites are replaced where they run:

* a module called once: the module, in every slot that holds it;
* a module called several times per forward (torchvision's ``BasicBlock.relu``): a
  :class:`~actlab.backends.torch.intercept.CallSites` module that runs one module per call
  (the original for calls left alone);
* a function held as an attribute (``nn.TransformerEncoderLayer(activation="relu")``): the
  attribute becomes the new module. A module with ``activation_relu_or_gelu`` (the
  transformer layers' fused eval-mode fast path, which ignores any swapped module) has it
  set to 0, so the fast path is off and eval-mode ``no_grad`` outputs equal grad-mode ones;
* a functional call in some module's ``forward`` (``F.relu(x)``): the call is intercepted
  during that module's forward pass (a ``TorchFunctionMode`` active only then) and the
  new module runs instead; in-place calls write into their input as before.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from actlab.backends.torch.intercept import CallSites, ReplacedCalls, reset_on_forward, route
from actlab.backends.torch.modules import get
from actlab.backends.torch.sites import ROLES, ActivationSite, Role, activation_sites
from actlab.catalog import Activation

Selector = str | Callable[[ActivationSite], bool]
Replacement_ = str | Activation | Callable[[ActivationSite], nn.Module] | type[nn.Module]


@dataclass(frozen=True)
class Replacement:
    """One replaced site: its name, role, what it computed and the new module's repr."""

    name: str
    role: Role
    old: str
    new: str


@dataclass(frozen=True)
class Left:
    """One site left as it was, and why."""

    name: str
    role: Role
    spec: str
    reason: str


@dataclass
class SwapReport:
    """What :func:`swap_activations` did: the model it changed, each replacement, each
    site left alone (with the reason), and every site found."""

    model: nn.Module
    replaced: list[Replacement] = field(default_factory=list)
    left: list[Left] = field(default_factory=list)
    sites: list[ActivationSite] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.replaced)

    def __str__(self) -> str:
        lines = [f"replaced {len(self.replaced)}:"]
        lines += [f"  {r.name} ({r.role}): {r.old} -> {r.new}" for r in self.replaced]
        if self.left:
            lines.append(f"left {len(self.left)}:")
            lines += [f"  {x.name} ({x.role}, {x.spec}): {x.reason}" for x in self.left]
        return "\n".join(lines)


def _factory(replacement: Replacement_) -> Callable[[ActivationSite], nn.Module]:
    if isinstance(replacement, (str, Activation)):
        act = replacement
        get(act)  # validate the spec before touching the model
        return lambda site: get(act)
    if isinstance(replacement, type) and issubclass(replacement, nn.Module):
        cls = replacement
        return lambda site: cls()
    if callable(replacement):
        make = replacement

        def checked(site: ActivationSite) -> nn.Module:
            module = make(site)
            if not isinstance(module, nn.Module):
                raise TypeError(
                    f"the replacement callable must return an nn.Module for {site.name}, "
                    f"got {type(module).__name__}"
                )
            return module

        return checked
    raise TypeError(
        "replacement must be a spec string, an actlab Activation, an nn.Module class or a "
        f"callable taking an ActivationSite and returning an nn.Module, got "
        f"{type(replacement).__name__}"
    )


def _matcher(
    selectors: Selector | Iterable[Selector] | None, what: str
) -> Callable[[ActivationSite], bool]:
    """A predicate from names (a site's name, with or without its ``#k`` call suffix, its
    module's name, or a glob pattern of these) and predicates."""
    if selectors is None:
        return lambda site: False
    items = [selectors] if isinstance(selectors, str) or callable(selectors) else list(selectors)
    for item in items:
        if not (isinstance(item, str) or callable(item)):
            raise TypeError(f"{what} takes site names or predicates, got {type(item).__name__}")

    def matches(site: ActivationSite) -> bool:
        for item in items:
            if isinstance(item, str):
                names = (site.name, site.name.partition("#")[0], site.module)
                if any(fnmatch.fnmatchcase(n, item) for n in names):
                    return True
            elif item(site):
                return True
        return False

    return matches


def example_inputs(model: nn.Module) -> tuple[Any, ...]:
    """A small example batch for ``model``, made from its first layer: token ids for an
    ``nn.Embedding``, ``(2, in_features)`` for an ``nn.Linear``, ``(2, C, 32, ...)`` for a
    convolution. Raises ``ValueError`` when there is no such layer."""
    for module in model.modules():
        param = next(module.parameters(recurse=False), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        if isinstance(module, nn.Embedding):
            return (torch.randint(0, module.num_embeddings, (2, 8), device=device),)
        if isinstance(module, nn.Linear):
            return (torch.randn(2, module.in_features, device=device, dtype=dtype),)
        if isinstance(module, nn.modules.conv._ConvNd):
            dims = len(module.kernel_size)
            return (torch.randn(2, module.in_channels, *([32] * dims), device=device, dtype=dtype),)
    raise ValueError(f"cannot make an example input for {type(model).__name__}; pass example=(...)")


def _as_call(example: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(example, dict):
        return (), example
    if isinstance(example, tuple):
        return example, {}
    return (example,), {}


def find_sites(model: nn.Module, example: Any = None) -> list[ActivationSite]:
    """:func:`activation_sites` of ``model`` on ``example`` (a tensor, a tuple of positional
    arguments or a dict of keyword arguments); without one, on :func:`example_inputs`."""
    if example is None:
        args, kwargs = example_inputs(model), {}
        try:
            return activation_sites(model, *args, **kwargs)
        except Exception as exc:
            raise ValueError(
                f"{type(model).__name__} does not run on a made-up example input "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                "pass example=(...)"
            ) from exc
    args, kwargs = _as_call(example)
    return activation_sites(model, *args, **kwargs)


def _why_left(
    site: ActivationSite, selected_role: bool, excluded: bool, included: bool
) -> str | None:
    if not site.elementwise:
        return "not elementwise: not swappable"
    if excluded:
        return "excluded"
    if included:
        return None
    if not selected_role:
        return f"role {site.role}"
    if site.behaviour.kind == "unknown":
        return "unknown elementwise: matches no catalog entry (include it by name to swap it)"
    return None


def swap_activations(
    model: nn.Module,
    replacement: Replacement_,
    *,
    roles: Sequence[Role] = ("hidden",),
    include: Selector | Iterable[Selector] | None = None,
    exclude: Selector | Iterable[Selector] | None = None,
    example: Any = None,
    inplace: bool = True,
) -> SwapReport:
    """Replace the activations of ``model`` that play one of ``roles`` (see the module
    docstring for how each kind of site is reached).

    ``replacement``: a spec (``"gelu"``, ``"elu(alpha=0.5)"``), an ``nn.Module`` class, or a
    callable taking the :class:`ActivationSite` and returning a module; each site gets
    its own new module (learnable activations do not share parameters).
    ``roles``: ``"hidden"`` (default), ``"gate"``, ``"output"``. ``include`` / ``exclude``:
    site names, module names, glob patterns of them, or predicates on the site (or a
    list of these); ``include`` adds sites whatever their role (also an unknown
    elementwise one), ``exclude`` removes sites. Sites that are not elementwise (softmax,
    GLU) are never replaced. ``example``: an input to trace with (a tensor, a tuple of
    positional arguments, or a dict of keyword arguments); by default one is made from the
    first layer. ``inplace=False`` changes a deep copy and leaves ``model`` alone.

    Returns a :class:`SwapReport` (replaced, left and why, all sites). Raises ``ValueError``
    when no site is selected (the model is then unchanged), ``TypeError`` for a bad
    argument, :class:`actlab.SpecError` for a bad spec.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    make = _factory(replacement)
    unknown = [r for r in roles if r not in ROLES]
    if isinstance(roles, str) or unknown:
        raise ValueError(f"roles must be a sequence of {', '.join(ROLES)}; got {roles!r}")
    included, excluded = _matcher(include, "include"), _matcher(exclude, "exclude")
    target = model if inplace else copy.deepcopy(model)
    sites = find_sites(target, example)
    report = SwapReport(target, sites=sites)
    chosen: list[ActivationSite] = []
    for site in sites:
        why = _why_left(site, site.role in roles, excluded(site), included(site))
        if why is None:
            chosen.append(site)
        else:
            report.left.append(Left(site.name, site.role, site.spec, why))
    if not chosen:
        found = "; ".join(f"{x.name}: {x.reason}" for x in report.left) or "none found"
        raise ValueError(
            f"no activation of {type(model).__name__} to swap for roles {tuple(roles)} ({found})"
        )
    new = {site.name: make(site) for site in chosen}
    _install(target, sites, chosen, new)
    report.replaced = [
        Replacement(site.name, site.role, site.spec, repr(new[site.name])) for site in chosen
    ]
    return report


def _slots(model: nn.Module, module: nn.Module) -> list[tuple[nn.Module, str]]:
    """Every (parent, attribute) holding ``module``."""
    return [
        (parent, name)
        for parent in model.modules()
        for name, child in parent._modules.items()  # named_children() skips repeats
        if child is module
    ]


def _fast_path_off(owner: nn.Module) -> None:
    if hasattr(owner, "activation_relu_or_gelu"):
        owner.activation_relu_or_gelu = 0


def _install(
    model: nn.Module,
    sites: list[ActivationSite],
    chosen: list[ActivationSite],
    new: dict[str, nn.Module],
) -> None:
    """Put the new modules where the chosen sites run."""
    modules = dict(model.named_modules())
    chosen_names = {s.name for s in chosen}
    counters: list[nn.Module] = []
    by_target: dict[tuple[str, str, str | None], list[ActivationSite]] = {}
    for site in sites:
        by_target.setdefault((site.kind, site.module, site.attribute), []).append(site)
    for (kind, module_name, attribute), group in by_target.items():
        picked = [s for s in group if s.name in chosen_names]
        if not picked:
            continue
        owner = modules[module_name]
        if kind == "function":
            continue  # below, one router per owner
        per_call = [new.get(s.name) for s in sorted(group, key=lambda s: s.call)]
        original = owner if kind == "module" else getattr(owner, attribute or "")
        if len(per_call) == 1:
            replacement: nn.Module = per_call[0]  # type: ignore[assignment]
        else:
            keep = original if isinstance(original, nn.Module) else _Function(original)
            replacement = CallSites([m if m is not None else keep for m in per_call])
            counters.append(replacement)
        if kind == "module":
            for parent, slot in _slots(model, owner):
                setattr(parent, slot, replacement)
                _fast_path_off(parent)
        else:
            setattr(owner, attribute or "", replacement)
            _fast_path_off(owner)
    functional: dict[str, list[ActivationSite]] = {}
    for site in chosen:
        if site.kind == "function":
            functional.setdefault(site.module, []).append(site)
    for owner_name, picked in functional.items():
        owner = modules[owner_name]
        per_forward = {
            s.function or "": s.calls
            for s in sites
            if s.kind == "function" and s.module == owner_name
        }
        replaced = ReplacedCalls(
            {(s.function or "", s.call): i for i, s in enumerate(picked)},
            per_forward,
            [new[s.name] for s in picked],
            [s.name for s in picked],
        )
        name = "actlab_calls"
        while hasattr(owner, name):
            name += "_"
        owner.add_module(name, replaced)
        route(owner, replaced.router)
        counters.append(replaced)
    if counters:
        reset_on_forward(model, counters)


class _Function(nn.Module):
    """A plain function as a module (a call left alone beside replaced ones)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)
