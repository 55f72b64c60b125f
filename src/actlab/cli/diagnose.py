"""``actlab diagnose --demo NAME``: the built-in demonstrations of what goes wrong in training."""

from __future__ import annotations

from pathlib import Path

import click

from actlab.cli.common import stdout_console


@click.command("diagnose")
@click.option("--demo", "demo", help="Run a built-in demonstration (see --list).")
@click.option("--list", "list_demos", is_flag=True, help="List the demonstrations.")
@click.option(
    "--out",
    default="runs/diagnose",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the HTML reports go.",
)
def command(demo: str | None, list_demos: bool, out: str) -> int:
    """Watch activations train and say what is wrong (built-in demonstrations).

    In your own PyTorch code: ``with actlab.monitor(model) as mon: ...`` then
    ``mon.findings`` / ``mon.report(path)``; in Keras: ``actlab.keras.Monitor``.
    """
    from actlab.diagnose import demo_names, run_demo

    if list_demos or demo is None:
        stdout_console().print("demos: " + ", ".join(demo_names()))
        if demo is None and not list_demos:
            stdout_console().print("run one with: actlab diagnose --demo NAME")
        return 0
    if demo not in demo_names():
        raise click.UsageError(f"unknown demo {demo!r}; choose from {', '.join(demo_names())}")
    result = run_demo(demo, Path(out))
    con = stdout_console()
    con.print(f"[bold]{demo}[/bold]: {result.description}")
    con.print(f"trained {result.steps} steps, test accuracy {result.accuracy:.4f}")
    if result.contrast is not None:
        con.print(
            f"contrast, {result.contrast.label}: same seed, batches and steps, test accuracy "
            f"{result.contrast.accuracy:.4f}"
        )
    if not result.findings:
        con.print("no findings")
    for f in result.findings:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity, "cyan")
        con.print(f"[{colour}]{f.kind}[/{colour}]: {f.message}")
        con.print(f"  advice: {f.advice}")
    con.print(f"report: {result.report}")
    return 0
