"""Run a comparison: load and split the data once, train each model-shape group as one
stacked model, checkpoint as epochs finish (:mod:`actlab.store.checkpointer`: at most ~5%
of the time, and every finished epoch when interrupted), write results as groups finish,
resume.

Resuming (``actlab compare --resume DIR``) skips finished groups, restarts an unfinished
group from its last checkpointed epoch (bit-for-bit the same continuation), and measures
nothing twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from actlab.comparison.config import CompareConfig
from actlab.comparison.cost import activation_costs
from actlab.comparison.result import CompareResult
from actlab.comparison.user_model import GROUP, train_user_model
from actlab.engine.memory import check_fits, estimate_training
from actlab.store import RunDir, environment
from actlab.store.checkpointer import Checkpointer


class Progress(Protocol):
    """What the runner tells the outside world (the CLI's progress bar)."""

    def group_started(self, group: str, total_epochs: int, done_epochs: int) -> None: ...

    def epoch_done(self, group: str, epoch: int, summary: dict[str, Any]) -> None: ...


@dataclass
class _Silent:
    def group_started(self, group: str, total_epochs: int, done_epochs: int) -> None:
        pass

    def epoch_done(self, group: str, epoch: int, summary: dict[str, Any]) -> None:
        pass


def _load_splits(config: CompareConfig, source: Any = None):
    from actlab import data

    dataset = data.load(
        source if source is not None else config.data,
        target=config.target,
        task=config.task,
        impute=config.impute,
    )
    splits = data.split(
        dataset,
        seed=config.split_seed,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
    )
    if config.model == "cnn" and splits.image_shape is None:
        raise ValueError(
            f"--model cnn needs image-shaped data; {dataset.name} has flat features "
            "(use --model mlp)"
        )
    return dataset, splits


def _trainer(config: CompareConfig, splits: Any, hidden: tuple[int, ...]):
    from actlab.engine import StackedTrainer, TrainConfig

    layers = {"channels": hidden} if config.model == "cnn" else {"hidden": hidden}
    train_config = TrainConfig(
        **layers,
        model=config.model,
        optimizer=config.optimizer,
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        batch_size=config.batch_size,
        epochs=config.epochs,
        early_stopping=config.early_stopping,
        init=config.init,
    )
    return StackedTrainer(
        splits,
        activations=list(config.activations),
        seeds=list(config.seeds),
        config=train_config,
    )


def _holding_the_lock(run: Callable[..., CompareResult]) -> Callable[..., CompareResult]:
    """``run(config, out, ...)`` with ``out``'s writer lock held throughout: a second
    process training into the same directory gets a one-line RunLockedError."""

    @functools.wraps(run)
    def locked(config: CompareConfig, out: str | Path | None = None, **options: Any):
        if out is None:
            return run(config, out, **options)
        with RunDir(out).lock():
            return run(config, out, **options)

    return locked


def _check_memory(config: CompareConfig, splits: Any) -> None:
    """Refuse, with the estimate, a model that cannot fit, before anything is allocated."""
    n_candidates = len(config.activations) * len(config.seeds)
    for group, layers in config.groups().items():
        estimate = estimate_training(
            model=config.model,
            layers=layers,
            n_candidates=n_candidates,
            n_features=splits.n_features,
            n_outputs=splits.n_outputs,
            n_samples=len(splits.X_train) + len(splits.X_val) + len(splits.X_test),
            batch_size=config.batch_size,
            optimizer=config.optimizer,
            momentum=config.momentum,
            early_stopping=config.early_stopping,
            image_shape=splits.image_shape,
        )
        check_fits(estimate, f"group {group} ({n_candidates} candidates)")


@_holding_the_lock
def run_comparison(
    config: CompareConfig,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    data_source: Any = None,
    user_model: Any = None,
    progress: Progress | None = None,
    on_group_done: Callable[[CompareResult], None] | None = None,
) -> CompareResult:
    """Train every candidate of ``config``; with ``out``, record everything in that run
    directory (and continue it when ``resume`` is true). ``data_source`` overrides
    ``config.data`` with in-memory data (arrays or a Dataset); ``user_model`` (an
    ``nn.Module`` or a factory returning one) trains the user's own model instead of the
    stacked MLP/CNN (see :mod:`actlab.comparison.user_model`)."""
    progress = progress or _Silent()
    run = RunDir(out) if out is not None else None
    previous: dict[str, Any] = {}
    if run is not None and resume:
        config = CompareConfig.from_dict(run.read_config())
        if config.model == "user":
            raise ValueError(
                f"{run.path} trained a user-supplied model, which a run directory "
                "cannot restore; rerun actlab.compare(model=...) instead"
            )
        previous = run.read_results() or {}
        env = run.read_environment()
        dataset, splits = _load_splits(config, data_source)
        _check_memory(config, splits)
    else:
        if run is not None:
            run.ensure_new()
        # Bad data and models too large fail here, before anything is written.
        dataset, splits = _load_splits(config, data_source)
        if user_model is None:
            _check_memory(config, splits)
        env = environment()
        if run is not None:
            run.create(config.to_dict(), env)
    costs = previous.get("costs") or activation_costs(list(config.activations))
    result = CompareResult(
        config=config.to_dict(),
        data={**dataset.summary(), "splits": splits.summary()},
        environment=env,
        candidates=list(previous.get("candidates", [])),
        groups=dict(previous.get("groups", {})),
        costs=costs,
        path=run.path if run else None,
    )
    if user_model is not None:
        progress.group_started(
            GROUP, config.epochs * len(config.activations) * len(config.seeds), 0
        )
        result.candidates = train_user_model(
            user_model,
            splits,
            config.activations,
            config.seeds,
            epochs=config.epochs,
            optimizer=config.optimizer,
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            batch_size=config.batch_size,
            on_epoch=lambda spec, epoch, summary: progress.epoch_done(GROUP, epoch, summary),
        )
        result.groups = {
            GROUP: {
                "status": "done",
                "model": "user",
                "epochs": config.epochs,
                "candidates": len(result.candidates),
            }
        }
        if run is not None:
            run.write_results(result.to_dict())
        return result
    for group, hidden in config.groups().items():
        if result.groups.get(group, {}).get("status") == "done":
            continue
        trainer = _trainer(config, splits, hidden)
        if run is not None:
            run.restore_checkpoint(group, trainer.load_state_dict)
        progress.group_started(group, config.epochs, trainer.epochs_done)
        checkpoints = Checkpointer(run, group) if run is not None else None

        def on_epoch(
            report: Any,
            group: str = group,
            trainer: Any = trainer,
            checkpoints: Checkpointer | None = checkpoints,
        ) -> None:
            if checkpoints is not None:
                checkpoints.epoch_done(trainer.state_dict())
            progress.epoch_done(group, trainer.epochs_done, {"best": report.best})

        try:
            outcomes = trainer.run(on_epoch=on_epoch)
        except BaseException:
            if checkpoints is not None:  # keep every finished epoch (Ctrl-C, an error)
                checkpoints.flush()
            raise
        result.candidates.extend({"group": group, **o.to_dict()} for o in outcomes)
        result.groups[group] = {
            "status": "done",
            ("channels" if config.model == "cnn" else "hidden"): list(hidden),
            "model": config.model,
            "epochs": config.epochs,
            "candidates": len(outcomes),
        }
        if run is not None:
            run.write_results(result.to_dict())
            run.drop_checkpoint(group)
        if on_group_done is not None:
            on_group_done(result)
    if run is not None:
        run.write_results(result.to_dict())
    return result
