"""What several commands share: the consoles, the usage error and option parsers."""

from __future__ import annotations

import sys

import click
from rich.console import Console


class CliUsageError(click.UsageError):
    """A usage error whose message is already complete."""


def stdout_console() -> Console:
    """The console for a command's output: the terminal's width, or 140 columns in a pipe."""
    return Console(width=None if sys.stdout.isatty() else 140)


stderr_console = Console(stderr=True)
"""Progress and notes that are not the command's output."""


def parse_ints(text: str | None, option: str) -> tuple[int, ...]:
    """Comma-separated positive integers (``--hidden 128,64``); empty gives ``()``."""
    if not text:
        return ()
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.UsageError(f"{option} takes comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in values):
        raise click.UsageError(f"{option} values must be positive, got {text!r}")
    return values


margin_option = click.option(
    "--margin",
    type=click.FloatRange(min=0),
    help="Practical margin of the verdicts, in the metric's units (0.01 = 1 point of "
    "accuracy, or 0.01 bits per character on text): 'worse' needs the leader ahead by more, 'equivalent' a difference within "
    "it. [default: the larger of 0.005 and one evaluation sample's worth]",
)
"""``--margin`` of ``compare`` and ``report``."""
