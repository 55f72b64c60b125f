"""``actlab.compare``: train the same network with every candidate activation and several
seeds side by side, monitor them, rank them and recommend one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actlab.catalog import Activation
from actlab.comparison.config import (
    ARTICLE_SEVEN,
    DEFAULT_ACTIVATIONS,
    CompareConfig,
    hidden_widths,
)
from actlab.comparison.result import CompareResult
from actlab.comparison.runner import Progress, run_comparison


def compare(
    data: Any = "digits",
    activations: Sequence[str | Activation] | str = DEFAULT_ACTIVATIONS,
    seeds: int | Sequence[int] = 5,
    *,
    epochs: int = 30,
    hidden: Sequence[int] = (128, 128),
    channels: Sequence[int] = (16, 32),
    depth: int | None = None,
    width: int | None = None,
    depths: Sequence[int] = (),
    model: Any = "mlp",
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    batch_size: int = 64,
    early_stopping: int | None = None,
    init: str = "auto",
    target: str | None = None,
    task: str | None = None,
    impute: bool = False,
    split_seed: int = 0,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> CompareResult:
    """Train one network per activation x seed (all at once, in one stacked model).

    ``data``: an embedded dataset name or generator spec (``"digits"``, ``"moons(n=500)"``),
    a CSV/NPZ/NPY path (``target=`` names a CSV's label column), or ``(X, y)`` arrays.
    ``activations``: spec strings (or a comma-separated string). ``seeds``: how many (0..n-1)
    or which. ``model``: ``"mlp"``, ``"cnn"`` (image-shaped data, ``channels`` conv
    widths), or your own ``nn.Module`` / a factory returning one: its activation modules
    are swapped for each candidate (:mod:`actlab.comparison.user_model`); ``data`` may then
    also be a ``DataLoader`` of ``(x, y)`` batches. ``hidden`` widths, or ``depth`` x
    ``width``; ``depths`` trains several depths (of ``width`` or ``hidden[0]``) as separate
    groups. ``out``: a run directory to record
    into (resumable with :func:`resume`).
    """
    if isinstance(activations, str):
        from actlab.catalog.spec import split_specs

        activations = split_specs(activations)
    seed_list = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
    source = None if isinstance(data, str | Path) else _materialize(data)
    user_model = None if isinstance(model, str) else model
    if user_model is not None:
        model = "user"
    config = CompareConfig(
        data=str(data) if source is None else "in-memory arrays",
        target=target,
        task=task,
        impute=impute,
        activations=tuple(a.spec if isinstance(a, Activation) else a for a in activations),
        seeds=seed_list,
        model=model,
        hidden=hidden_widths(hidden, depth, width),
        channels=tuple(channels),
        depths=tuple(depths),
        epochs=epochs,
        optimizer=optimizer,
        lr=lr,
        momentum=momentum,
        weight_decay=weight_decay,
        batch_size=batch_size,
        early_stopping=early_stopping,
        init=init,
        split_seed=split_seed,
    )
    return run_comparison(config, out, data_source=source, user_model=user_model, progress=progress)


def _materialize(data: Any) -> Any:
    """A ``torch.utils.data.DataLoader`` (or any iterable of ``(x, y)`` batches that is not
    an array pair) becomes ``(X, y)`` arrays; anything else is passed on unchanged."""
    import torch

    if isinstance(data, torch.utils.data.DataLoader):
        xs, ys = [], []
        for batch in data:
            if not isinstance(batch, list | tuple) or len(batch) != 2:
                raise ValueError("a DataLoader passed as data must yield (x, y) batches")
            xs.append(torch.as_tensor(batch[0]).reshape(len(batch[0]), -1).numpy())
            ys.append(torch.as_tensor(batch[1]).numpy())
        import numpy as np

        return np.concatenate(xs), np.concatenate(ys)
    return data


def resume(run_dir: str | Path, *, progress: Progress | None = None) -> CompareResult:
    """Finish an interrupted run directory without redoing finished work."""
    return run_comparison(CompareConfig(), run_dir, resume=True, progress=progress)


def load(run_dir: str | Path) -> CompareResult:
    """Read a finished (or partial) run directory without training."""
    from actlab.store import RunDir

    run = RunDir(run_dir)
    run.read_config()
    results = run.read_results()
    if results is None:
        raise FileNotFoundError(
            f"{run_dir} has no results.json yet; resume it with `actlab compare --resume {run_dir}`"
        )
    return CompareResult.from_dict(results, path=Path(run_dir))


__all__ = [
    "ARTICLE_SEVEN",
    "DEFAULT_ACTIVATIONS",
    "CompareConfig",
    "CompareResult",
    "compare",
    "load",
    "resume",
]
