"""``actlab report RUN_DIR``: re-analyse a run directory and rewrite its results.json and
report.html."""

from __future__ import annotations

import webbrowser

import click

from actlab.cli.common import margin_option, stdout_console
from actlab.cli.summary import print_summary, write_report


@click.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@margin_option
@click.option("--open", "open_report", is_flag=True, help="Open it in a browser.")
def command(run_dir: str, margin: float | None, open_report: bool) -> int:
    """Re-analyse RUN_DIR (its results.json and report.html), without training.

    --margin re-judges with another margin than the run's own; results.json and the
    report then record that margin. An older results.json is rewritten in the current
    schema."""
    from actlab.analysis import AnalysisSettings
    from actlab.comparison import load
    from actlab.store import RunDir

    result = load(run_dir)
    if margin is not None:
        result.settings = AnalysisSettings(margin=margin)
    if result.candidates:
        RunDir(run_dir).write_results(result.to_dict())
    print_summary(result)
    report = write_report(result)
    if report is not None:
        stdout_console().print(f"report: {report}")
        if open_report:
            webbrowser.open(report.resolve().as_uri())
    return 0
