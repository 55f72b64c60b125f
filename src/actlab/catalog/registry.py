"""The registry: canonical names, aliases, and resolving a spec to an :class:`Activation`."""

from __future__ import annotations

import difflib
from types import MappingProxyType

from actlab.catalog.base import Activation, Definition, Preset
from actlab.catalog.errors import (
    DuplicateActivationError,
    UnknownActivationError,
    UnknownParameterError,
)
from actlab.catalog.spec import ParamValue, parse_raw, split_specs

_DEFINITIONS: dict[str, Definition] = {}
_ALIASES: dict[str, str] = {}
_PRESETS: dict[str, Preset] = {}


def register(definition: Definition) -> Definition:
    """Add a definition; its name, aliases and preset names must be new (lower case), and
    its defaults must satisfy its constraints."""
    presets = [p.name for p in definition.presets]
    for key in (definition.name, *definition.aliases, *presets):
        if key != key.lower():
            raise ValueError(f"catalog names are lower case: {key!r}")
        if key in _DEFINITIONS or key in _ALIASES:
            raise ValueError(f"name {key!r} is already registered")
    definition.check(definition.defaults())
    _DEFINITIONS[definition.name] = definition
    for alias in definition.aliases:
        _ALIASES[alias] = definition.name
    for preset in definition.presets:
        _ALIASES[preset.name] = definition.name
        _PRESETS[preset.name] = preset
    return definition


def names() -> list[str]:
    """Canonical names of every catalog entry, in catalog order."""
    return list(_DEFINITIONS)


def aliases() -> dict[str, str]:
    """Alias (or preset name) -> canonical name."""
    return dict(_ALIASES)


def definition(name: str) -> Definition:
    """The definition for a canonical name or alias (case-insensitive)."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _DEFINITIONS:
        known = [*_DEFINITIONS, *_ALIASES]
        raise UnknownActivationError(name, difflib.get_close_matches(key, known, n=3, cutoff=0.5))
    return _DEFINITIONS[key]


def build(name: str, params: dict[str, ParamValue] | None = None) -> Activation:
    """Bind parameters (by name or alias) to an activation, validating each value and the
    constraints between them. A preset name starts from the preset's parameters."""
    d = definition(name)
    preset = _PRESETS.get(name.strip().lower())
    values = d.defaults()
    given = {**(preset.params if preset else {}), **(params or {})}
    for key, value in given.items():
        p = d.param(key)
        if p is None:
            raise UnknownParameterError(d.name, key, [q.name for q in d.params])
        values[p.name] = p.validate(d.name, value)
    d.check(values)
    return Activation(d, MappingProxyType(values))


def get(spec: str | Activation) -> Activation:
    """Resolve a spec string such as ``"leaky_relu(alpha=0.2)"`` (or an Activation) to an
    :class:`Activation`. Raises a :class:`~actlab.catalog.errors.SpecError` subclass."""
    if isinstance(spec, Activation):
        return spec
    raw = parse_raw(spec)
    return build(raw.name, dict(raw.args))


def get_many(specs: str | list[str | Activation]) -> list[Activation]:
    """Resolve a comma-separated string or a list of specs; duplicates are an error."""
    items = split_specs(specs) if isinstance(specs, str) else list(specs)
    acts = [get(s) for s in items]
    seen: set[Activation] = set()
    for act in acts:
        if act in seen:
            raise DuplicateActivationError(act.spec)
        seen.add(act)
    return acts
