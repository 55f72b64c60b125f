"""Every script in ``benchmarks/`` runs to the end at a tiny size and prints its figures.

The scripts are how BENCHMARKS.md is measured; nothing else exercises them, so a renamed
engine attribute or a changed return type would otherwise break them silently. Nothing
here looks at a time: only that each script finishes and prints finite figures.
"""

from __future__ import annotations

import importlib.util
import math
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

RUNS = {
    "sweep.py": (
        ["--epochs", "1", "--seeds", "1", "--threads", "1"],
        ["stacked engine:", "its training steps:", "sequential"],
    ),
    "cnn.py": (
        ["--epochs", "2", "--seeds", "1", "--repeats", "1", "--threads", "1"],
        ["grouped conv, oneDNN (engine)", "engine: training steps", "engine: probes"],
    ),
    "catalog.py": (["gelu", "relu", "--numel", "256", "--repeats", "2"], ["| gelu |", "| relu |"]),
    "kernels.py": (
        ["relu", "gelu", "--numel", "4096", "--repeats", "1"],
        ["| relu |", "| gelu |"],
    ),
    "monitor.py": (
        [
            *("--models", "functional,llama", "--rounds", "2", "--block", "2", "--every", "4"),
            *("--replicates", "2"),
        ],
        ["| functional |", "| llama |", "95% t interval over replicates", "% [", "] |"],
    ),
    "monitor_fixed.py": (
        [
            *("--models", "functional,bert", "--rounds", "2", "--steps", "2"),
            *("--baseline", "../src/actlab/diagnose/monitor.py"),
        ],
        ["| functional |", "| bert |", "| this tree - plain |", "| baseline - this tree |"],
    ),
    "memory.py": (
        ["--only", "batch 1024", "--scale", "0.05", "--epochs", "1"],
        ["| mlp 40 x 128-128 batch 1024 |"],
    ),
    "csv_load.py": (["--rows", "3000"], ["| this tree |"]),
    "special.py": (["--rounds", "1"], ["| scipy |", "| ours |", "| ndtr, 170 points |"]),
    "checkpoint.py": (
        ["--hidden", "8", "--seeds", "1", "--repeats", "1"],
        ["| safetensors + JSON |", "| torch.save (pickle) |"],
    ),
    "optimizer.py": (
        ["--blocks", "1", "--block", "2", "--candidates", "3"],
        ["| optimizer step |", "| whole step |"],
    ),
    "learnable.py": (
        ["--rounds", "1", "--calls", "2", "--candidates", "2", "--width", "8", "--samples", "200"],
        ["| torch.where (plain autograd) |", "| ratio learned / fixed |"],
    ),
    "epochs.py": (
        ["--rounds", "1", "--seeds", "1", "--before", "../src"],
        ["| before |", "| this tree |", "epoch before / this tree", "difference"],
    ),
    "grid.py": (["--epochs", "1", "--seeds", "1", "--workers", "1"], ["| 1 |"]),
    "ffn_corpus.py": (
        [
            *("--seeds", "2", "--epochs", "1", "--chars", "3000", "--context", "16"),
            *("--d-model", "8", "--hidden", "12", "--blocks", "1", "--heads", "2"),
            *("--threads", "1"),
        ],
        ["| swiglu | 8 |", "| relu | 12 |", "Kendall tau"],
    ),
    "latency.py": (
        ["--repeats", "1", "--epochs", "1", "--seeds", "1"],
        ["| compare (after) |", "| plain loop |", "| actlab list |", "| actlab show selu |"],
    ),
    "user_model.py": (
        [
            *("--seeds", "1", "--rounds", "1", "--threads", "1", "--cnn-samples", "64"),
            *("--resnet-width", "2", "--resnet-samples", "16", "--resnet-rounds", "1"),
            *("--skip-mlp", "--profile", "--weight-grad", "2", "--floor", "1"),
        ],
        [
            "| conv 2 (16 -> 32) | grouped |",
            "| small CNN",
            "| stack | vmap |",
            "vmap's own rules",
            "ResNet-18-shaped",
            "profile of",
        ],
    ),
}
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\d+|nan|inf)(?![\w.])", re.IGNORECASE)


@pytest.mark.parametrize("script", sorted(RUNS))
def test_benchmark_script_runs_and_prints_finite_figures(script: str) -> None:
    args, expected = RUNS[script]
    done = subprocess.run(
        [sys.executable, script, *args],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for text in expected:
        assert text in done.stdout, f"{script} no longer prints {text!r}:\n{done.stdout}"
    figures = [
        float(n)
        for line in done.stdout.splitlines()
        if "|" in line or ":" in line
        for n in NUMBER.findall(line)
    ]
    assert figures, done.stdout
    assert all(math.isfinite(f) for f in figures), f"{script} printed a NaN or inf:\n{done.stdout}"


def test_every_benchmark_script_is_smoke_tested() -> None:
    assert sorted(RUNS) == sorted(p.name for p in BENCHMARKS.glob("*.py"))


def test_the_monitor_benchmarks_interval_covers_the_true_ratio_95_percent_of_the_time() -> None:
    """Simulation with a known truth: per-round ratios ``r * exp(noise)`` (log-normal
    noise, 8 rounds); the t interval on the mean log ratio holds ``r`` in about 95% of
    runs, and refuses fewer than 2 rounds."""
    spec = importlib.util.spec_from_file_location("monitor_benchmark", BENCHMARKS / "monitor.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    gen = random.Random(0)
    truth, trials, inside = 1.03, 2000, 0
    for _ in range(trials):
        ratios = [truth * math.exp(gen.gauss(0.0, 0.05)) for _ in range(8)]
        _, low, high = bench.log_ratio_interval(ratios)
        inside += low <= truth <= high
    assert 0.93 <= inside / trials <= 0.97
    with pytest.raises(ValueError, match="at least 2"):
        bench.log_ratio_interval([1.0])
