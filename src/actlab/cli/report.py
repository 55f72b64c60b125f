"""``actlab report RUN_DIR``: re-analyse a run directory and rewrite its report.html."""

from __future__ import annotations

import webbrowser

import click

from actlab.cli.common import stdout_console
from actlab.cli.summary import print_summary, write_report


@click.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--open", "open_report", is_flag=True, help="Open it in a browser.")
def command(run_dir: str, open_report: bool) -> int:
    """Re-analyse RUN_DIR and regenerate its report.html, without training."""
    from actlab.comparison import load

    result = load(run_dir)
    print_summary(result)
    report = write_report(result)
    if report is not None:
        stdout_console().print(f"report: {report}")
        if open_report:
            webbrowser.open(report.resolve().as_uri())
    return 0
