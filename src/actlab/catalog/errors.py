"""Errors raised for bad activation specs. All are ``ValueError`` subclasses with a
one-line message that names the problem and how to fix it."""

from __future__ import annotations


class SpecError(ValueError):
    """Any problem with an activation spec."""


class SpecSyntaxError(SpecError):
    """The text is not ``name`` or ``name(key=value, ...)``."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        self.text = text
        self.position = position
        self.problem = problem
        super().__init__(f"malformed spec {text!r}: {problem} at position {position}")


class UnknownActivationError(SpecError):
    """No activation or alias has this name."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown activation {name!r}{hint} (see `actlab list`)")


class UnknownParameterError(SpecError):
    """The activation has no parameter of this name."""

    def __init__(self, activation: str, param: str, valid: list[str]) -> None:
        self.activation = activation
        self.param = param
        self.valid = valid
        what = f"valid: {', '.join(valid)}" if valid else "it takes no parameters"
        super().__init__(f"{activation} has no parameter {param!r} ({what})")


class InvalidParameterError(SpecError):
    """A parameter value is outside what the activation allows."""

    def __init__(self, activation: str, param: str, value: object, reason: str) -> None:
        self.activation = activation
        self.param = param
        self.value = value
        self.reason = reason
        super().__init__(f"{activation}: {param}={value!r} is not allowed: {reason}")


class DuplicateActivationError(SpecError):
    """A list of specs names the same activation twice (``relu,ReLU``, ``elu,elu(alpha=1)``)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        super().__init__(f"activation {spec!r} is listed twice")
