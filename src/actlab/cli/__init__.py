"""The ``actlab`` command line: list | show | plot | compare | report | bench | diagnose | sweep.

One module per command family beside this one (``catalog`` here, ``compare``, ``sweep``)
and the console views (``views``).

Usage errors (bad option, unknown activation, malformed spec, bad data) exit with status
2 and one line on stderr; they never print a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click
from rich.console import Console

from actlab.catalog import SpecError, get, get_many, names
from actlab.cli.views import activation_panel, catalog_table
from actlab.store.errors import RunDirError

console = Console(width=None if sys.stdout.isatty() else 140)


class CliUsageError(click.UsageError):
    """A usage error whose message is already complete."""


def _parse_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(part) for part in text.split(","))
    except ValueError:
        raise CliUsageError(f"--range must be two numbers like -6,6, got {text!r}") from None
    if not lo < hi:
        raise CliUsageError(f"--range needs low < high, got {text!r}")
    return lo, hi


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="actlab")
def cli() -> None:
    """Pick, use and understand neural-network activation functions with evidence."""


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def list_cmd(as_json: bool) -> None:
    """The catalog: every activation with its range, properties and framework names."""
    acts = [get(name) for name in names()]
    if as_json:
        click.echo(json.dumps([a.info.to_dict() for a in acts], indent=2))
        return
    console.print(catalog_table(acts))


@cli.command()
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
@click.option(
    "--frameworks",
    is_flag=True,
    help="Also measure how PyTorch's and Keras' own versions differ from the catalog.",
)
def show(spec: str, as_json: bool, frameworks: bool) -> None:
    """Formula, derivative, range, properties, use cases and framework names of SPEC."""
    act = get(spec)
    info = act.info.to_dict()
    diffs = None
    if frameworks:
        from actlab.backends.differences import framework_differences

        diffs = framework_differences(act)
        info["frameworks"] = diffs
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    console.print(activation_panel(act, diffs))


@cli.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("--derivative", is_flag=True, help="Add a panel with the analytic derivatives.")
@click.option("--range", "xrange", default="-6,6", show_default=True, help="x interval, lo,hi.")
@click.option("-o", "--output", required=True, help="Output file, .png or .svg.")
def plot(specs: Sequence[str], derivative: bool, xrange: str, output: str) -> None:
    """Plot one or more activations (SPEC... or a comma-separated list) to a file."""
    from actlab.report.function_plot import save_function_plot

    if not output.lower().endswith((".png", ".svg")):
        raise CliUsageError(f"-o must name a .png or .svg file, got {output!r}")
    acts = get_many([s for text in specs for s in _split(text)])
    path = save_function_plot(acts, output, derivative=derivative, xrange=_parse_range(xrange))
    console.print(f"wrote {path}")


def _split(text: str) -> list[str]:
    from actlab.catalog.spec import split_specs

    return split_specs(text)


def _register_optional_commands() -> None:
    """Commands whose modules import torch are registered lazily to keep `list` fast."""
    from actlab.cli import compare as cli_compare
    from actlab.cli import sweep as cli_sweep

    cli_compare.register(cli)
    cli_compare.register_tools(cli)
    cli_sweep.register_sweep(cli)


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point; returns the exit status."""
    _register_optional_commands()
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
