"""``actlab list``: the catalog as a table (or JSON)."""

from __future__ import annotations

import json

import click

from actlab.catalog import get, names
from actlab.cli.common import stdout_console
from actlab.cli.views import catalog_table


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def command(as_json: bool) -> None:
    """The catalog: every activation with its range, properties and framework names."""
    acts = [get(name) for name in names()]
    if as_json:
        click.echo(json.dumps([a.info.to_dict() for a in acts], indent=2))
        return
    stdout_console().print(catalog_table(acts))
