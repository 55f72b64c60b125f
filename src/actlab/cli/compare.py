"""CLI commands that train or time networks: compare, report, bench (torch imported lazily)."""

from __future__ import annotations

import math
import sys
import webbrowser
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from actlab.comparison.config import DEFAULT_ACTIVATIONS

console = Console(stderr=True)


def _ints(text: str | None, option: str) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.UsageError(f"{option} takes comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in values):
        raise click.UsageError(f"{option} values must be positive, got {text!r}")
    return values


class RichProgress:
    """Progress over all epochs of all groups: epoch, ETA and the best so far. A live bar
    on a terminal; on a pipe or log file (no live display) one plain line per tenth of
    each group's epochs instead."""

    LOG_LINES = 10

    def __init__(self, total_epochs: int, metric: str) -> None:
        self.metric = metric
        self.live = console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[best]}"),
            console=console,
            transient=False,
        )
        self.task = self.bar.add_task("training", total=total_epochs, best="")
        self.group_epochs = 0
        self.started = False

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started and self.live:
            self.bar.__exit__(*exc)

    def group_started(self, group: str, total_epochs: int, done_epochs: int) -> None:
        if not self.started and self.live:  # shown once training starts, not while data loads
            self.bar.__enter__()
        self.started = True
        self.group_epochs = total_epochs
        self.bar.update(self.task, description=group, advance=done_epochs)

    def epoch_done(self, group: str, epoch: int, summary: dict[str, Any]) -> None:
        best = summary.get("best")
        text = ""
        if best:
            text = f"best val {self.metric} {best[1]:.4f} ({best[0]})"
        self.bar.update(self.task, advance=1, best=text)
        every = max(1, -(-self.group_epochs // self.LOG_LINES))
        if not self.live and (epoch % every == 0 or epoch == self.group_epochs):
            console.print(f"{group}: epoch {epoch}/{self.group_epochs} {text}".rstrip())


def ranking_table(result: Any, group: str) -> Table:
    """The closing table: mean +- 95% CI of the test metric per activation, and more."""
    ranking = result.ranking(group)
    metric = ranking.metric
    title = (
        f"{group}: ranked by validation {metric}, {ranking.n_seeds} seeds "
        f"({ranking.method} vs best, {ranking.level:.0%} CI)"
    )
    table = Table(title=title, header_style="bold")
    for col, justify in (
        ("#", "right"),
        ("activation", "left"),
        (f"val {metric}", "right"),
        (f"test {metric} (mean +- 95% CI)", "right"),
        ("tied w/ best", "left"),
        ("cost vs relu", "right"),
        ("grad first/last", "right"),
        ("dead", "right"),
        ("diverged", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]

    def pm(s: Any) -> str:
        if not math.isfinite(s.mean):
            return "-"
        return (
            f"{s.mean:.4f} +- {s.half_width:.4f}"
            if math.isfinite(s.half_width)
            else f"{s.mean:.4f}"
        )

    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None or not math.isfinite(v) else format(v, fmt)

    for r in ranking.rows:
        if r.rank == 1:
            tied = "best"
        elif r.tied_with_best:
            tied = f"yes (p={r.versus_best.p_value:.2g})" if r.versus_best else "yes"
        else:
            tied = f"no (p={r.versus_best.p_value:.2g})" if r.versus_best else "no"
        table.add_row(
            str(r.rank),
            r.activation,
            f"{r.val.mean:.4f}" if math.isfinite(r.val.mean) else "-",
            pm(r.test),
            tied,
            num(r.cost, ".2f") + "x" if r.cost else "-",
            num(r.gradient_ratio, ".3g"),
            num(r.dead_fraction, ".0%"),
            f"[red]{r.diverged}[/red]" if r.diverged else "0",
        )
    times = [
        t
        for c in result.candidates
        if c.get("group") == group
        for t in c["history"].get("epoch_time", [])[:1]
    ]
    if times:
        table.caption = (
            f"one stacked epoch (all {len(ranking.rows)} activations x "
            f"{ranking.n_seeds} seeds together): {sum(times) / len(times):.3f} s"
        )
    return table


def _print_summary(result: Any) -> None:
    out = Console(width=None if sys.stdout.isatty() else 140)
    for group in result.group_names():
        out.print(ranking_table(result, group))
        rec = result.recommendation(group)
        out.print("[bold green]Recommendation:[/bold green] " + " ".join(rec.reasons))
        for w in rec.warnings:
            out.print(f"[yellow]warning:[/yellow] {w}")
    if result.path is not None:
        out.print(f"run directory: {result.path}")


def _write_report(result: Any) -> Path | None:
    if result.path is None:
        return None
    try:
        from actlab.report.html import write_report
    except ImportError:  # pragma: no cover - the report module ships with the package
        return None
    return write_report(result, Path(result.path) / "report.html")


def register(group: click.Group) -> None:
    """Attach compare / report / bench to the main group."""

    @group.command()
    @click.option(
        "--data",
        default="digits",
        show_default=True,
        help="Embedded dataset or generator spec (digits, iris, wine, breast_cancer, "
        "diabetes, moons(n=500, noise=0.2), circles, xor, spirals), or a CSV/NPZ/NPY file.",
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
        default=5,
        show_default=True,
        type=click.IntRange(min=1),
        help="Seeds per activation (paired: same init and batches per seed).",
    )
    @click.option("--epochs", default=30, show_default=True, type=click.IntRange(min=1))
    @click.option("--hidden", default="128,128", show_default=True, help="Hidden widths.")
    @click.option("--depth", type=click.IntRange(min=1), help="Shorthand: DEPTH layers of WIDTH.")
    @click.option("--width", type=click.IntRange(min=1), help="Width for --depth / --depths.")
    @click.option("--depths", help="Several depths in one sweep, e.g. 2,8,16.")
    @click.option(
        "--model",
        type=click.Choice(["mlp", "cnn"]),
        default="mlp",
        show_default=True,
        help="cnn needs image-shaped data (digits is 1x8x8).",
    )
    @click.option("--channels", default="16,32", show_default=True, help="CNN convolution widths.")
    @click.option(
        "--threads",
        type=click.IntRange(min=1),
        help="PyTorch CPU threads [default: torch's choice].",
    )
    @click.option(
        "--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True
    )
    @click.option(
        "--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True)
    )
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
        help="auto: LeCun for selu, He for ReLU family, Glorot else.",
    )
    @click.option(
        "--out", type=click.Path(file_okay=False), help="Run directory [default: runs/<timestamp>]."
    )
    @click.option(
        "--resume",
        type=click.Path(exists=True, file_okay=False),
        help="Finish an interrupted run directory.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print results.json instead of tables.")
    @click.option("--open", "open_report", is_flag=True, help="Open report.html in a browser.")
    def compare(**opts: Any) -> int:
        """Train every activation x seed side by side and rank them (the main job)."""
        from actlab.comparison import CompareConfig
        from actlab.comparison.runner import run_comparison
        from actlab.store.run_dir import default_run_path

        if opts["resume"]:
            from actlab.store import RunDir

            out = Path(opts["resume"])
            config = CompareConfig.from_dict(RunDir(out).read_config())
        else:
            from actlab.catalog.spec import split_specs
            from actlab.comparison.config import hidden_widths

            hidden = hidden_widths(_ints(opts["hidden"], "--hidden"), opts["depth"], opts["width"])

            config = CompareConfig(
                data=opts["data"],
                target=opts["target"],
                task=opts["task"],
                impute=opts["impute"],
                activations=tuple(split_specs(opts["activations"])),
                seeds=tuple(range(opts["seeds"])),
                model=opts["model"],
                hidden=hidden,
                depths=_ints(opts["depths"], "--depths"),
                epochs=opts["epochs"],
                optimizer=opts["optimizer"],
                lr=opts["lr"],
                momentum=opts["momentum"],
                weight_decay=opts["weight_decay"],
                batch_size=opts["batch_size"],
                early_stopping=opts["early_stopping"],
                init=opts["init"],
            )
            out = Path(opts["out"]) if opts["out"] else default_run_path()
        if opts["threads"]:
            import torch

            torch.set_num_threads(opts["threads"])
        total = config.epochs * len(config.groups())
        metric = "accuracy" if config.task != "regression" else "r2"
        try:
            with RichProgress(total, metric) as bar:
                result = run_comparison(config, out, resume=bool(opts["resume"]), progress=bar)
        except KeyboardInterrupt:
            console.print(
                f"[yellow]interrupted[/yellow]: finished work is saved in {out}; "
                f"continue with `actlab compare --resume {out}`"
            )
            return 130
        report = _write_report(result)
        if opts["as_json"]:
            click.echo(result.to_json())
        else:
            _print_summary(result)
            if report is not None:
                Console().print(f"report: {report}")
        if opts["open_report"] and report is not None:
            webbrowser.open(report.resolve().as_uri())
        return 0

    @group.command("report")
    @click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
    @click.option("--open", "open_report", is_flag=True, help="Open it in a browser.")
    def report_cmd(run_dir: str, open_report: bool) -> int:
        """Re-analyse RUN_DIR and regenerate its report.html, without training."""
        from actlab.comparison import load

        result = load(run_dir)
        _print_summary(result)
        report = _write_report(result)
        if report is not None:
            Console().print(f"report: {report}")
            if open_report:
                webbrowser.open(report.resolve().as_uri())
        return 0


def register_tools(group: click.Group) -> None:
    """Attach bench and diagnose to the main group."""

    @group.command()
    @click.argument("specs", nargs=-1)
    @click.option(
        "--numel",
        default=1 << 24,
        show_default=True,
        type=click.IntRange(min=1),
        help="Elements per tensor (float32).",
    )
    @click.option("--repeats", default=5, show_default=True, type=click.IntRange(min=1))
    @click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
    def bench(specs: tuple[str, ...], numel: int, repeats: int, as_json: bool) -> int:
        """Throughput of each activation (actlab vs torch native vs a memory copy), GB/s."""
        import json as _json

        from actlab.bench import bench_kernels
        from actlab.catalog import get_many
        from actlab.catalog.spec import split_specs

        chosen = [a.spec for a in get_many([s for t in specs for s in split_specs(t)])] or None
        records = bench_kernels(chosen, numel=numel, repeats=repeats)
        if as_json:
            click.echo(_json.dumps(records, indent=1))
            return 0
        table = Table(
            title=f"forward / forward+backward throughput, {numel} float32 elements",
            header_style="bold",
        )
        for col in ("activation", "implementation", "forward GB/s", "fwd+bwd GB/s"):
            table.add_column(
                col, justify="left" if col in ("activation", "implementation") else "right"
            )
        for r in records:
            table.add_row(
                r["spec"],
                r["impl"],
                f"{r['forward_gbps']:.2f}",
                f"{r['fwd_bwd_gbps']:.2f}" if r.get("fwd_bwd_gbps") else "-",
            )
        Console().print(table)
        return 0

    @group.command()
    @click.option("--demo", "demo", help="Run a built-in demonstration (see --list).")
    @click.option("--list", "list_demos", is_flag=True, help="List the demonstrations.")
    @click.option(
        "--out",
        default="runs/diagnose",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Where the HTML reports go.",
    )
    def diagnose(demo: str | None, list_demos: bool, out: str) -> int:
        """Watch activations train and say what is wrong (built-in demonstrations).

        In your own PyTorch code: ``with actlab.monitor(model) as mon: ...`` then
        ``mon.findings`` / ``mon.report(path)``; in Keras: ``actlab.keras.Monitor``.
        """
        from actlab.diagnose import demo_names, run_demo

        if list_demos or demo is None:
            Console().print("demos: " + ", ".join(demo_names()))
            if demo is None and not list_demos:
                Console().print("run one with: actlab diagnose --demo NAME")
            return 0
        if demo not in demo_names():
            raise click.UsageError(f"unknown demo {demo!r}; choose from {', '.join(demo_names())}")
        result = run_demo(demo, Path(out))
        con = Console(width=None if sys.stdout.isatty() else 140)
        con.print(f"[bold]{demo}[/bold]: {result.description}")
        con.print(f"trained {result.steps} steps, test accuracy {result.accuracy:.4f}")
        if not result.findings:
            con.print("no findings")
        for f in result.findings:
            colour = {"error": "red", "warning": "yellow"}.get(f.severity, "cyan")
            con.print(f"[{colour}]{f.kind}[/{colour}]: {f.message}")
            con.print(f"  advice: {f.advice}")
        con.print(f"report: {result.report}")
        return 0
