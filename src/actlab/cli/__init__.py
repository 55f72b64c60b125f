"""The ``actlab`` command line: list | show | plot | compare | report | sweep | diagnose | bench.

One module per command beside this one, each defining ``command`` (``list`` lives in
``listing``: a submodule named ``list`` would shadow the builtin here), and the console
views (``views``, ``summary``, ``progress``). Commands are imported when they run (or when
``--help`` lists them), and a command module imports what its work needs inside the
command itself: ``actlab list`` and ``actlab show`` load neither torch, scipy nor
matplotlib (``tests/test_cli_imports.py``).

Usage errors (bad option, unknown activation, malformed spec, bad data, a damaged or
locked run directory, a file that cannot be read or written) exit with status 2 and one
line on stderr; they never print a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import click

from actlab.cli.collector import OWN_PROCESS, before_exit
from actlab.store.interrupt import (
    EXIT_TERMINATED,
    exit_status,
    received,
    signal_exit_status,
    terminate_like_interrupt,
)

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
    """Console-script entry point; returns the exit status. SIGTERM is handled like
    Ctrl-C (finished work is saved); either one, even during start-up, ends with one line
    and status 130 (143 for SIGTERM), never a traceback.

    Without ``argv`` (the process's own command line) the command is the process's own,
    and the garbage collector is set for that (:mod:`actlab.cli.collector`)."""
    restore = terminate_like_interrupt()
    try:
        code = _run(argv)
    except KeyboardInterrupt as exc:
        click.echo(f"actlab: {_stopped(exc)}", err=True)
        return exit_status(exc)
    finally:
        restore()
        before_exit(argv is None)
    signals = received()
    if signals and code == 0:
        # the interrupt was raised where something swallowed it; the command went on
        status = signal_exit_status(signals[0])
        word = "terminated" if status == EXIT_TERMINATED else "interrupted"
        click.echo(
            f"actlab: {word} (the signal came where it could not stop the command, "
            "which finished; what it wrote is complete)",
            err=True,
        )
        return status
    return code


ERROR_LIMIT = 500
"""Characters of an error message shown (a 1 MB spec was echoed whole)."""


def _stopped(interrupt: KeyboardInterrupt) -> str:
    return "terminated" if exit_status(interrupt) == EXIT_TERMINATED else "interrupted"


def _error(message: object) -> int:
    from actlab.store.errors import one_line

    click.echo(f"actlab: error: {one_line(message, ERROR_LIMIT)}", err=True)
    return 2


def _run(argv: Sequence[str] | None) -> int:
    from actlab.catalog import SpecError  # start-up work, inside main's Ctrl-C handling
    from actlab.store.errors import RunDirError

    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="actlab",
            standalone_mode=False,
            obj={OWN_PROCESS: argv is None},
        )
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort as exc:
        cause = exc.__cause__
        if isinstance(cause, KeyboardInterrupt):
            click.echo(f"actlab: {_stopped(cause)}", err=True)
            return exit_status(cause)
        return _error(f"unexpected end of input ({cause!r})")
    except click.ClickException as exc:
        return _error(exc.format_message())
    except (SpecError, ValueError, FileNotFoundError, FileExistsError, RunDirError) as exc:
        return _error(exc)
    except OSError as exc:  # permissions, a full disk, a name too long: the file and why
        return _error(f"{exc.filename}: {exc.strerror}" if exc.filename else exc)
    return result if isinstance(result, int) else 0
