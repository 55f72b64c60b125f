"""The sweep file: a TOML grid of datasets x model shapes x activations x seeds.

::

    datasets = ["iris", "moons(n=300, noise=0.2)"]   # embedded names/generators or files
    activations = ["relu", "tanh", "elu(alpha=0.5)"]
    seeds = 2                # n (seeds 0..n-1) or a list [0, 1, 2]
    epochs = 5
    [model]
    kind = "mlp"             # or "cnn" (image-shaped data; width = conv channels)
    depths = [1, 2]          # hidden layers (mlp) or conv layers (cnn)
    width = 16               # or a list of widths: every depth x width is one shape
    [optimizer]
    name = "adam"            # or "sgd"
    lr = 1e-3
    batch_size = 32
    momentum = 0.9           # sgd only
    weight_decay = 0.0

One *group* is one model shape on one dataset; it trains every activation x seed at once
as one stacked model (:func:`actlab.comparison.runner.run_comparison`). The grid has
``len(datasets) * len(depths) * len(widths)`` groups.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from actlab.comparison.config import MAX_SEED, CompareConfig
from actlab.store.run_dir import file_stem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport (same API)
    import tomli as tomllib

_TOP = ("datasets", "activations", "seeds", "epochs", "model", "optimizer")
_MODEL = ("kind", "depths", "width")
_OPTIMIZER = ("name", "lr", "batch_size", "momentum", "weight_decay")


MAX_GROUPS = 1000
MAX_SEEDS = 1000
MAX_EPOCHS = 100_000
MAX_DEPTH = 1024
MAX_WIDTH = 1 << 20
MAX_BATCH = 1 << 20
"""Upper limits of a grid: past them a sweep file is a mistake (``seeds = 100000000``
materialized a hundred million seeds), not an experiment; a model too large for memory
is refused later by its memory estimate."""


class GridError(ValueError):
    """A sweep file that cannot be run; the one-line message names the key and value."""


@dataclass(frozen=True)
class Group:
    """One unit of work: a model shape on a dataset, with its comparison config."""

    dataset: str
    shape: str
    depth: int
    width: int
    config: CompareConfig

    @property
    def key(self) -> str:
        """Directory name of the group: ``<dataset>__<shape>`` with unsafe characters as
        ``_``, shortened with a hash when too long for a file name."""
        return file_stem(f"{_slug(self.dataset)}__{self.shape}")


@dataclass(frozen=True)
class Grid:
    """A validated sweep grid (see the module docstring for the file format)."""

    datasets: tuple[str, ...]
    activations: tuple[str, ...]
    seeds: tuple[int, ...]
    epochs: int
    kind: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 0.0

    def groups(self) -> list[Group]:
        """Every dataset x depth x width, in grid order."""
        out = []
        for dataset in self.datasets:
            for depth in self.depths:
                for width in self.widths:
                    layers = (width,) * depth
                    config = CompareConfig(
                        data=dataset,
                        activations=self.activations,
                        seeds=self.seeds,
                        model=self.kind,
                        hidden=layers if self.kind == "mlp" else (8,),
                        channels=layers if self.kind == "cnn" else (16, 32),
                        epochs=self.epochs,
                        optimizer=self.optimizer,
                        lr=self.lr,
                        momentum=self.momentum,
                        weight_decay=self.weight_decay,
                        batch_size=self.batch_size,
                    )
                    shape = f"{self.kind}-depth{depth}-width{width}"
                    out.append(Group(dataset, shape, depth, width, config))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> Grid:
        """Rebuild from :meth:`to_dict` (as stored in a sweep directory's ``grid.json``)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in payload.items()})


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "data"


def _fail(key: str, value: object, problem: str) -> GridError:
    return GridError(f"{key}={value!r} {problem}")


def _unknown(where: str, payload: Mapping[str, Any], valid: tuple[str, ...]) -> None:
    for key in payload:
        if key not in valid:
            prefix = f"{where}." if where else ""
            raise GridError(
                f"unknown key {prefix}{key!r} in the sweep file; valid keys"
                f"{' in [' + where + ']' if where else ''}: {', '.join(valid)}"
            )


def _int(key: str, value: object, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(key, value, f"must be an integer >= {minimum}")
    if maximum is not None and value > maximum:
        raise _fail(key, value, f"exceeds the limit of {maximum}")
    return value


def _ints(key: str, value: object, minimum: int = 1, maximum: int | None = None) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _fail(key, value, "needs at least one value")
    if len(items) > MAX_GROUPS:
        raise GridError(f"{key} has {len(items)} values, more than the limit of {MAX_GROUPS}")
    return tuple(_int(key, v, minimum, maximum) for v in items)


def _strings(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(key, value, "must be a non-empty list of strings")
    if len(set(value)) != len(value):
        raise _fail(key, value, "has duplicates")
    return tuple(value)


def _number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, value, "must be a number")
    return float(value)


def _resolve_dataset(text: str, base: Path | None) -> str:
    """A relative file name is taken relative to the sweep file's folder when it is there."""
    if base is not None and not Path(text).is_absolute() and (base / text).is_file():
        return str((base / text).resolve())
    return text


def load_grid(source: str | Path | Mapping[str, Any]) -> Grid:
    """Read and validate a sweep file (a TOML path) or an already-parsed mapping.

    Raises :class:`GridError` naming the bad key and value: unknown keys (with the valid
    ones), wrong types, empty lists, duplicate entries, unknown activations or datasets.
    """
    base: Path | None = None
    if isinstance(source, Mapping):
        payload: Mapping[str, Any] = source
    else:
        path = Path(source)
        if not path.is_file():
            raise GridError(f"sweep file {str(path)!r} does not exist")
        try:
            payload = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise GridError(f"{path} is not valid TOML: {exc}") from None
        base = path.parent
    _unknown("", payload, _TOP)
    for required in ("datasets", "activations"):
        if required not in payload:
            raise GridError(f"the sweep file needs {required!r} (a list of strings)")
    model = payload.get("model", {})
    optimizer = payload.get("optimizer", {})
    for name, table in (("model", model), ("optimizer", optimizer)):
        if not isinstance(table, Mapping):
            raise _fail(name, table, "must be a table ([" + name + "])")
    _unknown("model", model, _MODEL)
    _unknown("optimizer", optimizer, _OPTIMIZER)

    datasets = tuple(_resolve_dataset(d, base) for d in _strings("datasets", payload["datasets"]))
    activations = _strings("activations", payload["activations"])
    seeds_value = payload.get("seeds", 3)
    if isinstance(seeds_value, list):
        if len(seeds_value) > MAX_SEEDS:
            raise GridError(
                f"seeds has {len(seeds_value)} values, more than the limit of {MAX_SEEDS}"
            )
        seeds = _ints("seeds", seeds_value, minimum=0, maximum=MAX_SEED)
        if len(set(seeds)) != len(seeds):
            raise _fail("seeds", seeds_value, "has duplicates")
    else:
        seeds = tuple(range(_int("seeds", seeds_value, maximum=MAX_SEEDS)))
    kind = model.get("kind", "mlp")
    if kind not in ("mlp", "cnn"):
        raise _fail("model.kind", kind, "must be 'mlp' or 'cnn'")
    grid_args = {
        "datasets": datasets,
        "activations": activations,
        "seeds": seeds,
        "epochs": _int("epochs", payload.get("epochs", 10), maximum=MAX_EPOCHS),
        "kind": kind,
        "depths": _ints("model.depths", model.get("depths", [2]), maximum=MAX_DEPTH),
        "widths": _ints("model.width", model.get("width", 64), maximum=MAX_WIDTH),
        "optimizer": optimizer.get("name", "adam"),
        "lr": _number("optimizer.lr", optimizer.get("lr", 1e-3)),
        "batch_size": _int(
            "optimizer.batch_size", optimizer.get("batch_size", 64), maximum=MAX_BATCH
        ),
        "momentum": _number("optimizer.momentum", optimizer.get("momentum", 0.9)),
        "weight_decay": _number("optimizer.weight_decay", optimizer.get("weight_decay", 0.0)),
    }
    n_groups = len(datasets) * len(grid_args["depths"]) * len(grid_args["widths"])
    if n_groups > MAX_GROUPS:
        raise GridError(
            f"the grid has {n_groups} groups (datasets x depths x widths), more than the "
            f"limit of {MAX_GROUPS}; split it into several sweeps"
        )
    grid = Grid(**grid_args)
    _check_semantics(grid)
    return grid


def _check_semantics(grid: Grid) -> None:
    """Errors a group would only hit later: bad activations, datasets, optimizer values."""
    from actlab import data
    from actlab.catalog.errors import SpecError

    try:
        groups = grid.groups()
    except SpecError as exc:
        raise GridError(f"activations: {exc}") from None
    except ValueError as exc:
        message = str(exc)
        key = message.split("=", 1)[0]
        section = "optimizer." if key in ("lr", "momentum", "weight_decay") else ""
        key = "optimizer.name" if key == "optimizer" else section + key
        raise GridError(f"{key}{message[len(message.split('=', 1)[0]) :]}") from None
    keys = [g.key for g in groups]
    if len(set(keys)) != len(keys):
        raise _fail("datasets", list(grid.datasets), "holds names that collide as directories")
    for i, dataset in enumerate(grid.datasets):
        try:
            data.load(dataset)
        except (ValueError, OSError) as exc:
            raise GridError(f"datasets[{i}]={dataset!r}: {exc}") from None
