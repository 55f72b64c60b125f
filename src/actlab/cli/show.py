"""``actlab show SPEC``: one activation's card (or JSON), optionally measured against the
frameworks' own versions."""

from __future__ import annotations

import json

import click

from actlab.catalog import get
from actlab.catalog.propagation import signal_propagation
from actlab.cli.common import stdout_console
from actlab.cli.views import activation_panel


@click.command("show")
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
@click.option(
    "--frameworks",
    is_flag=True,
    help="Also measure how PyTorch's and Keras' own versions differ from the catalog.",
)
def command(spec: str, as_json: bool, frameworks: bool) -> None:
    """Formula, derivative, range, properties, signal propagation (the derived init gain),
    use cases and framework names of SPEC."""
    act = get(spec)
    info = act.info.to_dict()
    propagation = None if act.is_vector and not act.is_gated else signal_propagation(act)
    info["propagation"] = None if propagation is None else propagation.to_dict()
    diffs = None
    if frameworks:
        from actlab.backends.differences import framework_differences

        diffs = framework_differences(act)
        info["frameworks"] = diffs
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    stdout_console().print(activation_panel(act, diffs, propagation))
