"""Loading a large CSV file: time and peak memory of ``actlab.data.load``.

    python benchmarks/csv_load.py [--rows 1200000] [--before REV]

Writes a CSV of ``--rows`` rows (20 numeric columns printed with 6 decimals and a text
class label; 1,200,000 rows are about 232 MB) into a temporary directory, then loads it
in a fresh process per reader and prints the wall and CPU time, the peak RSS over the RSS after
the imports (``VmHWM``), and that peak as a multiple of the numeric data (the float64
features and target). ``--before REV`` also measures the CSV reader of git revision REV
(``src/actlab/data/csvfile.py`` there), in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FEATURES = 20
REPO = Path(__file__).resolve().parents[1]


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    header = ",".join([*(f"x{j}" for j in range(FEATURES)), "label"])
    with open(path, "w") as fh:
        fh.write(header + "\n")
        for start in range(0, rows, 50_000):
            n = min(50_000, rows - start)
            X = rng.normal(size=(n, FEATURES))
            labels = rng.integers(0, 3, size=n)
            lines = [
                ",".join(f"{v:.6f}" for v in row) + f",c{lab}\n"
                for row, lab in zip(X.tolist(), labels.tolist(), strict=True)
            ]
            fh.writelines(lines)


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(path: str, reader_file: str | None) -> None:
    """Load ``path`` once (with the reader in ``reader_file`` if given); print figures."""
    from actlab import data

    if reader_file:
        spec = importlib.util.spec_from_file_location("old_csvfile", reader_file)
        assert spec is not None and spec.loader is not None
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        sys.modules["actlab.data.load"].read_csv = old.read_csv  # type: ignore[attr-defined]
    base = _status("VmRSS:")
    start, cpu = time.perf_counter(), time.process_time()
    dataset = data.load(path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _status("VmHWM:") - base
    numeric = dataset.X.nbytes + dataset.n_samples * 8
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak, "numeric": numeric}))


def _measure(path: Path, reader_file: str | None) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", str(path)]
    if reader_file:
        argv += ["--reader-file", reader_file]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--before", metavar="REV", help="Also measure this revision's reader.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--reader-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.reader_file)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.csv"
        write_csv(path, args.rows)
        size = path.stat().st_size
        print(f"file: {args.rows} rows x {FEATURES + 1} columns, {size / 1e6:.1f} MB")
        readers = {"this tree": None}
        if args.before:
            old = Path(tmp) / "old_csvfile.py"
            old.write_text(
                subprocess.run(
                    ["git", "show", f"{args.before}:src/actlab/data/csvfile.py"],
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            readers = {args.before: str(old), **readers}
        print("| reader | wall s | CPU s | peak RSS MB | numeric data MB | peak / numeric |")
        print("|---|---|---|---|---|---|")
        for label, reader_file in readers.items():
            m = _measure(path, reader_file)
            print(
                f"| {label} | {m['seconds']:.1f} | {m['cpu']:.1f} | {m['peak'] / 1e6:.0f} | "
                f"{m['numeric'] / 1e6:.0f} | {m['peak'] / m['numeric']:.2f} |"
            )


if __name__ == "__main__":
    main()
