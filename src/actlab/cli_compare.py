"""CLI commands that train or time networks (import torch lazily)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Attach compare / report / bench to the main group."""
