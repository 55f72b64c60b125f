"""``actlab compare``: train every activation x seed side by side, rank them, write the run
directory and its report."""

from __future__ import annotations

import os
import webbrowser
from pathlib import Path
from typing import Any

import click

from actlab.cli.collector import own_process, paused_for_imports
from actlab.cli.common import (
    CliUsageError,
    margin_option,
    parse_ints,
    stderr_console,
    stdout_console,
)
from actlab.cli.progress import RichProgress, group_cost
from actlab.cli.summary import print_summary, write_report
from actlab.comparison.config import DEFAULT_ACTIVATIONS

console = stderr_console
MAX_THREADS = 4 * (os.cpu_count() or 1)
"""More threads than this only oversubscribes the cores (100000 failed deep in OpenMP)."""


@click.command("compare")
@click.option(
    "--data",
    default="digits",
    show_default=True,
    help="Embedded dataset or generator spec (digits, iris, wine, breast_cancer, "
    "diabetes, moons(n=500, noise=0.2), circles, xor, spirals), the text corpus for "
    "next-character prediction with --model ffn (text, text(context=64, chars=200000)), "
    "or a CSV/NPZ/NPY file.",
)
@click.option("--target", help="CSV column holding the label.")
@click.option(
    "--task",
    type=click.Choice(["classification", "regression"]),
    help="Override the inferred task.",
)
@click.option("--impute", is_flag=True, help="Replace NaN/inf features by training medians.")
@click.option(
    "--activations",
    default=",".join(DEFAULT_ACTIVATIONS),
    show_default=True,
    help='Comma-separated specs, e.g. "relu,elu(alpha=0.5),gelu".',
)
@click.option(
    "--seeds",
    default="5",
    show_default=True,
    help="Seeds per activation (paired: same init and batches per seed), or 'auto': "
    "start with 5 and add 5 at a time until every candidate is resolved against the "
    "leader or --max-seeds is reached (group-sequential O'Brien-Fleming boundaries).",
)
@click.option(
    "--max-seeds",
    type=int,
    help="Budget of --seeds auto [default: 30; at least 3].",
)
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--hidden", default="128,128", show_default=True, help="Hidden widths.")
@click.option("--depth", type=click.IntRange(min=1), help="Shorthand: DEPTH layers of WIDTH.")
@click.option("--width", type=click.IntRange(min=1), help="Width for --depth / --depths.")
@click.option("--depths", help="Several depths in one sweep, e.g. 2,8,16.")
@click.option(
    "--model",
    type=click.Choice(["mlp", "cnn", "ffn"]),
    default="mlp",
    show_default=True,
    help="cnn needs image-shaped data (digits is 1x8x8); ffn: transformer-style pre-norm "
    "residual blocks whose FFN uses the activation (--hidden: each block's FFN width).",
)
@click.option("--d-model", default=64, show_default=True, type=click.IntRange(min=1),
              help="ffn: the residual stream's width.")  # fmt: skip
@click.option("--heads", default=4, show_default=True, type=click.IntRange(min=1),
              help="ffn: attention heads (on token sequences).")  # fmt: skip
@click.option(
    "--match",
    type=click.Choice(["params", "width"]),
    default="params",
    show_default=True,
    help="Gated activations (swiglu, geglu, ...): params gives their layers round(2/3) the "
    "plain width (LLaMA's rule, about the same parameters); width the same width.",
)
@click.option("--channels", default="16,32", show_default=True, help="CNN convolution widths.")
@click.option(
    "--device",
    help="Where to train: auto, cpu, cuda, cuda:N or mps [default: auto, an accelerator "
    "where there is one; on --resume, the run's own].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=MAX_THREADS),
    help="PyTorch CPU threads [default: torch's choice].",
)
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True)
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--momentum", default=0.9, show_default=True, type=float)
@click.option("--weight-decay", default=0.0, show_default=True, type=float)
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--early-stopping",
    type=click.IntRange(min=1),
    help="Stop a candidate after this many epochs without validation gain.",
)
@click.option(
    "--init",
    type=click.Choice(["auto", "he", "lecun", "glorot"]),
    default="auto",
    show_default=True,
    help="auto: the gain derived for each activation (He for relu, LeCun for selu).",
)
@click.option(
    "--out", type=click.Path(file_okay=False), help="Run directory [default: runs/<timestamp>]."
)
@click.option(
    "--resume",
    type=click.Path(exists=True, file_okay=False),
    help="Finish an interrupted run directory.",
)
@margin_option
@click.option("--json", "as_json", is_flag=True, help="Print results.json instead of tables.")
@click.option("--open", "open_report", is_flag=True, help="Open report.html in a browser.")
def command(**opts: Any) -> int:
    """Train every activation x seed side by side and rank them (the main job)."""
    with paused_for_imports(own_process()):  # torch
        from actlab.comparison import CompareConfig
        from actlab.comparison.runner import run_comparison
        from actlab.store.run_dir import default_run_path

    if opts["resume"]:
        from actlab.store import RunDir

        out = Path(opts["resume"])
        config = CompareConfig.of_run(RunDir(out))
    else:
        from actlab.catalog.spec import split_specs
        from actlab.comparison.config import hidden_widths

        hidden = hidden_widths(parse_ints(opts["hidden"], "--hidden"), opts["depth"], opts["width"])
        seeds, auto = parse_seeds(opts["seeds"], opts["max_seeds"])

        config = CompareConfig(
            data=opts["data"],
            target=opts["target"],
            task=opts["task"],
            impute=opts["impute"],
            activations=tuple(split_specs(opts["activations"])),
            seeds=seeds,
            auto_seeds=auto,
            model=opts["model"],
            hidden=hidden,
            channels=parse_ints(opts["channels"], "--channels"),
            depths=parse_ints(opts["depths"], "--depths"),
            d_model=opts["d_model"],
            heads=opts["heads"],
            match=opts["match"],
            epochs=opts["epochs"],
            optimizer=opts["optimizer"],
            lr=opts["lr"],
            momentum=opts["momentum"],
            weight_decay=opts["weight_decay"],
            batch_size=opts["batch_size"],
            early_stopping=opts["early_stopping"],
            init=opts["init"],
            margin=opts["margin"],
            device=opts["device"] or "auto",
        )
        out = Path(opts["out"]) if opts["out"] else default_run_path()
    if opts["threads"]:
        import torch

        torch.set_num_threads(opts["threads"])
    plan = {g: (config.epochs, group_cost(w)) for g, w in config.groups().items()}
    from actlab.comparison.result import metric_of

    metric = metric_of(config.data, config.task)
    try:
        with RichProgress(plan, metric) as bar:
            result = run_comparison(  # the report is written below, once
                config,
                out,
                resume=bool(opts["resume"]),
                device=opts["device"],
                progress=bar,
                report=False,
            )
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: the runner kept every epoch
        from actlab.store.interrupt import exit_status

        console.print(
            f"[yellow]interrupted[/yellow]: finished work is saved in {out}; "
            f"continue with `actlab compare --resume {out}`"
        )
        return exit_status(stop)
    if opts["resume"] and opts["margin"] is not None:  # re-judge the finished run
        from actlab.analysis import AnalysisSettings
        from actlab.store import RunDir

        result.settings = AnalysisSettings(margin=opts["margin"])
        RunDir(out).write_results(result.to_dict())
    report = write_report(result)
    if opts["as_json"]:
        click.echo(result.to_json())
    else:
        print_summary(result)
        if report is not None:
            stdout_console().print(f"report: {report}")
    if opts["open_report"] and report is not None:
        webbrowser.open(report.resolve().as_uri())
    return 0


def parse_seeds(text: str, max_seeds: int | None) -> tuple[tuple[int, ...], Any]:
    """``--seeds N`` or ``--seeds auto [--max-seeds M]``: the first seeds to train, and
    the :class:`~actlab.comparison.config.AutoSeeds` of an auto run (None otherwise)."""
    from actlab.comparison import auto_seeds

    if text.strip().lower() == "auto":
        try:
            auto = auto_seeds("auto", max_seeds)
        except ValueError as e:
            raise CliUsageError(str(e)) from None
        return tuple(range(auto.start)), auto
    if max_seeds is not None:
        raise CliUsageError("--max-seeds applies only to --seeds auto")
    try:
        n = int(text)
    except ValueError:
        raise CliUsageError(f"--seeds takes a positive integer or 'auto', got {text!r}") from None
    if n < 1:
        raise CliUsageError(f"--seeds must be at least 1, got {n}")
    return tuple(range(n)), None
