"""Spec strings: ``name`` or ``name(key=value, ...)``.

A spec names an activation and, optionally, some of its parameters::

    relu
    leaky_relu(alpha=0.2)
    ELU( alpha = 5e-1 )
    swish(beta=1.5)

Values are numbers (integers, decimals, scientific notation, an optional sign) or the
words ``true`` / ``false``. The text is tokenized and parsed by hand: nothing is ever
``eval``-ed. This module only knows the *syntax*; resolving names and validating values
against the catalog is :mod:`actlab.catalog.registry`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from actlab.catalog.errors import SpecSyntaxError

ParamValue = float | int | bool

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SPACE = re.compile(r"\s*")
_LONGEST_INT = 300
"""Digits (with sign) read as an exact integer; Python refuses ``int()`` of over 4300."""


@dataclass(frozen=True)
class RawSpec:
    """The syntax tree of a spec string: a name and ``key=value`` pairs in written order."""

    name: str
    args: tuple[tuple[str, ParamValue], ...] = field(default=())


class _Cursor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        m = _SPACE.match(self.text, self.pos)
        assert m is not None
        self.pos = m.end()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def fail(self, expected: str) -> SpecSyntaxError:
        found = repr(self.peek()) if self.peek() else "end of text"
        return SpecSyntaxError(self.text, self.pos, f"expected {expected}, found {found}")

    def expect(self, char: str) -> None:
        self.skip_space()
        if self.peek() != char:
            raise self.fail(repr(char))
        self.pos += 1

    def ident(self, what: str) -> str:
        self.skip_space()
        m = _IDENT.match(self.text, self.pos)
        if m is None:
            raise self.fail(what)
        self.pos = m.end()
        return m.group()

    def value(self) -> ParamValue:
        self.skip_space()
        word = _IDENT.match(self.text, self.pos)
        if word is not None:
            lowered = word.group().lower()
            if lowered in ("true", "false"):
                self.pos = word.end()
                return lowered == "true"
            raise SpecSyntaxError(self.text, self.pos, f"expected a number, found {word.group()!r}")
        m = _NUMBER.match(self.text, self.pos)
        if m is None:
            raise self.fail("a number")
        self.pos = m.end()
        token = m.group()
        if re.fullmatch(r"[+-]?\d+", token) and len(token) <= _LONGEST_INT:
            return int(token)
        return float(token)  # a longer integer is a float (inf beyond 1.8e308), not a crash


def parse_raw(text: str) -> RawSpec:
    """Parse one spec string into a :class:`RawSpec` (syntax only).

    Raises :class:`SpecSyntaxError` naming the position of the first problem.
    """
    if not isinstance(text, str):
        raise TypeError(f"a spec must be a string, got {type(text).__name__}")
    cur = _Cursor(text)
    cur.skip_space()
    if not cur.peek():
        raise SpecSyntaxError(text, cur.pos, "empty spec; expected an activation name")
    name = cur.ident("an activation name")
    args: list[tuple[str, ParamValue]] = []
    cur.skip_space()
    if cur.peek() == "(":
        cur.pos += 1
        cur.skip_space()
        seen: set[str] = set()
        while cur.peek() != ")":
            key_pos = cur.pos
            key = cur.ident("a parameter name or ')'")
            if key.lower() in seen:
                raise SpecSyntaxError(text, key_pos, f"parameter {key!r} given twice")
            seen.add(key.lower())
            cur.expect("=")
            args.append((key, cur.value()))
            cur.skip_space()
            if cur.peek() == ",":
                cur.pos += 1
                cur.skip_space()
            elif cur.peek() != ")":
                raise cur.fail("',' or ')'")
        cur.pos += 1
    cur.skip_space()
    if cur.peek():
        raise cur.fail("end of spec")
    return RawSpec(name, tuple(args))


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs at top-level commas.

    ``"relu,elu(alpha=0.5, ),gelu"`` -> ``["relu", "elu(alpha=0.5, )", "gelu"]``.
    Commas inside parentheses belong to a spec. Unbalanced parentheses raise.
    """
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SpecSyntaxError(text, i, "unbalanced ')'")
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if depth != 0:
        raise SpecSyntaxError(text, len(text), "missing ')'")
    parts.append(text[start:].strip())
    empty = [i for i, p in enumerate(parts) if not p]
    if empty:
        raise SpecSyntaxError(text, 0, f"empty entry at list position {empty[0] + 1}")
    return parts


def format_value(value: ParamValue) -> str:
    """Shortest text that parses back to exactly ``value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
