"""``actlab bench``: forward and forward+backward throughput of each activation."""

from __future__ import annotations

import json

import click
from rich.table import Table

from actlab.cli.common import stdout_console


@click.command("bench")
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
def command(specs: tuple[str, ...], numel: int, repeats: int, as_json: bool) -> int:
    """Throughput of each activation (actlab vs torch native vs a memory copy), GB/s."""
    from actlab.bench import bench_kernels
    from actlab.catalog import get_many
    from actlab.catalog.spec import split_specs

    chosen = [a.spec for a in get_many([s for t in specs for s in split_specs(t)])] or None
    records = bench_kernels(chosen, numel=numel, repeats=repeats)
    if as_json:
        click.echo(json.dumps(records, indent=1))
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
    stdout_console().print(table)
    return 0
