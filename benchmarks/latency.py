"""What a user waits for: the default ``actlab compare`` as a whole process, against its own
training phase and against the plain sequential PyTorch loop, and the catalog commands.

    python benchmarks/latency.py [--repeats 7] [--epochs 30] [--seeds 5] [--before SRC]

Each repeat runs, one after another (so a slow spell of the shared machine hits them
alike): ``actlab compare --out TMP`` (fresh process, whole command: imports, data, cost
measurement, training, checkpoints, results.json, report.html and the tables);
the plain loop a user would write for the same experiment (``--plain-loop``: digits from
scikit-learn standardized, one ``nn.Sequential`` per activation x seed, ``torch.optim.Adam``
lr 1e-3, a shuffling ``DataLoader`` of batch 64, a validation pass per epoch, the test set
at the end); ``actlab list`` and ``actlab show selu``; and with ``--before`` the same
compare on another source tree (``PYTHONPATH=SRC``, e.g. a ``git worktree`` of the
previous commit) for a before/after in the same run.

Every child process loads actlab from bytecode, as an installed package does: a private
``PYTHONPYCACHEPREFIX`` (``PYTHONDONTWRITEBYTECODE`` dropped), filled by ``compileall``
before the first timing (with no bytecode each run recompiles actlab's source, ~0.1-0.2 s).

From each compare run's directory: the training phase (the sum of the stacked epochs'
times in results.json), and the report's generation time, re-timed in a fresh process
(``write_report`` on the loaded run: the analysis and the page, imports excluded). Prints medians with the spread
(min-max) and the machine's load average while it ran.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "selu", "identity")
REPORT_TIMER = """
import sys, time
import scipy.special  # the analysis' import (lazy on the compare path)
from actlab.comparison import load
from actlab.report.html import write_report
result = load(sys.argv[1])
start = time.perf_counter()
write_report(result, sys.argv[1] + "/report-timed.html")
print(time.perf_counter() - start)
"""


def plain_loop(epochs: int, seeds: int) -> None:
    """The experiment as a PyTorch user would write it, one model at a time."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    modules = {
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "softplus": nn.Softplus,
        "elu": nn.ELU,
        "selu": nn.SELU,
        "identity": nn.Identity,
    }
    x, y = load_digits(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.4, stratify=y, random_state=0
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0
    )
    scaler = StandardScaler().fit(x_train)

    def tensors(a, b):
        return torch.tensor(scaler.transform(a), dtype=torch.float32), torch.tensor(b)

    train, val, test = tensors(x_train, y_train), tensors(x_val, y_val), tensors(x_test, y_test)
    results = {}
    for name, act in modules.items():
        for seed in range(seeds):
            torch.manual_seed(seed)
            model = nn.Sequential(
                nn.Linear(64, 128), act(), nn.Linear(128, 128), act(), nn.Linear(128, 10)
            )
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            loader = DataLoader(TensorDataset(*train), batch_size=64, shuffle=True)
            for _ in range(epochs):
                model.train()
                for xb, yb in loader:
                    opt.zero_grad()
                    nn.functional.cross_entropy(model(xb), yb).backward()
                    opt.step()
                model.eval()
                with torch.no_grad():
                    nn.functional.cross_entropy(model(val[0]), val[1])
            with torch.no_grad():
                results[(name, seed)] = float((model(test[0]).argmax(1) == test[1]).float().mean())
    print(json.dumps({"test_accuracy_mean": statistics.fmean(results.values())}))


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds of ``cmd`` and the 1-minute load average when it ended."""
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return wall, os.getloadavg()[0]


def _training_seconds(run: Path) -> float:
    """The training phase: per group, the sum of its stacked epochs' times."""
    results = json.loads((run / "results.json").read_text())
    seen: dict[str, float] = {}
    for c in results["candidates"]:
        seen.setdefault(c["group"], sum(t for t in c["history"]["epoch_time"] if t))
    return sum(seen.values())


COMPILE = "import actlab, compileall, os; compileall.compile_dir(os.path.dirname(actlab.__file__), quiet=1)"


def _env(src: str | None, pycache: str) -> dict[str, str]:
    """The child's environment: ``src`` first on the path, bytecode kept in ``pycache``."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    if src is not None:
        env["PYTHONPATH"] = src
    return env


def _spread(values: list[float], fmt: str = ".2f") -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return format(med, fmt)
    return f"{med:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--before", help="another source tree (its src/) to compare against")
    parser.add_argument("--plain-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_loop:
        plain_loop(args.epochs, args.seeds)
        return
    py = sys.executable
    shape = ["--epochs", str(args.epochs), "--seeds", str(args.seeds)]
    variants = {"after": None} if args.before is None else {"before": args.before, "after": None}
    rows: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        pycache = str(Path(tmp) / "pycache")
        for src in variants.values():
            subprocess.run([py, "-c", COMPILE], env=_env(src, pycache), check=True)
        for r in range(args.repeats):
            for name, src in variants.items():
                run = Path(tmp) / f"{name}-{r}"
                wall, load = _timed(
                    [py, "-m", "actlab.cli", "compare", "--out", str(run), *shape],
                    _env(src, pycache),
                )
                training = _training_seconds(run)
                done = subprocess.run(
                    [py, "-c", REPORT_TIMER, str(run)],
                    capture_output=True,
                    text=True,
                    env=_env(src, pycache),
                    check=True,
                )
                row = rows[f"compare ({name})"]
                row["wall"].append(wall)
                row["training"].append(training)
                row["report"].append(float(done.stdout.strip()))
                loads.append(load)
            wall, load = _timed([py, __file__, "--plain-loop", *shape], _env(None, pycache))
            rows["plain loop"]["wall"].append(wall)
            loads.append(load)
            for cmd in (["list"], ["show", "selu"]):
                wall, _ = _timed([py, "-m", "actlab.cli", *cmd], _env(None, pycache))
                rows[f"actlab {' '.join(cmd)}"]["wall"].append(wall)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.repeats} repeats, "
        f"{args.epochs} epochs x {args.seeds} seeds x {len(ACTIVATIONS)} activations"
    )
    print(f"load average (1 min) at the end of each run: {_spread(loads, '.1f')}")
    print(
        "| command | wall s | training s | training share | wall / training | report s | plain loop / wall (paired) |"
    )
    print("|---|---|---|---|---|---|---|")
    plain = rows["plain loop"]["wall"]
    for name, row in rows.items():
        wall = row["wall"]
        if "training" in row:
            share = [t / w for t, w in zip(row["training"], wall, strict=True)]
            ratio = [w / t for t, w in zip(row["training"], wall, strict=True)]
            speedup = [p / w for p, w in zip(plain, wall, strict=True)]
            print(
                f"| {name} | {_spread(wall)} | {_spread(row['training'])} | "
                f"{_spread(share, '.0%')} | {_spread(ratio)}x | {_spread(row['report'], '.3f')} | "
                f"{_spread(speedup)}x |"
            )
        else:
            print(f"| {name} | {_spread(wall, '.3f')} | - | - | - | - | - |")


if __name__ == "__main__":
    main()
