"""The ``actlab`` command line: list | show | plot | compare | report | sweep | diagnose | bench.

One module per command beside this one, each defining ``command`` (``list`` lives in
``listing``: a submodule named ``list`` would shadow the builtin here), and the console
views (``views``, ``summary``, ``progress``). Commands are imported when they run (or when
``--help`` lists them), and a command module imports what its work needs inside the
command itself: ``actlab list`` and ``actlab show`` load neither torch, scipy nor
matplotlib (``tests/test_cli_imports.py``).

Usage errors (bad option, unknown activation, malformed spec, bad data) exit with status
2 and one line on stderr; they never print a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import click

from actlab.catalog import SpecError
from actlab.store.errors import RunDirError

COMMANDS = {
    "list": "actlab.cli.listing",
    "show": "actlab.cli.show",
    "plot": "actlab.cli.plot",
    "compare": "actlab.cli.compare",
    "report": "actlab.cli.report",
    "sweep": "actlab.cli.sweep",
    "diagnose": "actlab.cli.diagnose",
    "bench": "actlab.cli.bench",
}
"""Command name -> the module whose ``command`` attribute implements it."""


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        return importlib.import_module(module).command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="actlab")
def cli() -> None:
    """Pick, use and understand neural-network activation functions with evidence."""


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point; returns the exit status."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="actlab", standalone_mode=False
        )
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("actlab: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"actlab: error: {exc.format_message()}", err=True)
        return 2
    except (SpecError, ValueError, FileNotFoundError, FileExistsError, RunDirError) as exc:
        click.echo(f"actlab: error: {exc}", err=True)
        return 2
    return result if isinstance(result, int) else 0
