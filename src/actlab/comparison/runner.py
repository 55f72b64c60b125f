"""Run a comparison: load and split the data once, train each model-shape group with the
one trainer (:class:`actlab.engine.StackedTrainer`: the engine's MLP / CNN, or the user's
own network), checkpoint as epochs finish (:mod:`actlab.store.checkpointer`: at most
``CHECKPOINT_OVERHEAD`` of the time, and every finished epoch when interrupted), write
results as groups finish, write ``report.html``, resume.

Everything that can be checked is checked before the run directory is created: the data,
the device, the model (it takes the data, its output fits the task, it has activations to
swap). Resuming (``actlab compare --resume DIR``) skips finished groups, restarts an
unfinished group from its last checkpointed epoch (bit-for-bit the same continuation),
trains the seeds a group does not have yet (:func:`extend_seeds`), and measures nothing
twice.

``--seeds auto`` (``config.auto_seeds``): when every group has its seeds, the verdicts are
looked at (:class:`actlab.analysis.Design`'s looks); while a group has a candidate not
resolved and the budget allows, the next look's seeds are written to config.json and
trained as one more stacked run per unresolved group. A group whose candidates are all
resolved stops. Resuming continues the look config.json names.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from actlab.comparison.config import CompareConfig
from actlab.comparison.cost import activation_costs
from actlab.comparison.inputs import Prepared, digest
from actlab.comparison.result import CompareResult
from actlab.engine.memory import MemoryEstimate, check_fits, estimate_training
from actlab.engine.results import CandidateResult
from actlab.store import RunDir, environment, write_json_atomic
from actlab.store.checkpointer import Checkpointer

USER_GROUP = "user-model"


class Progress(Protocol):
    """What the runner tells the outside world (the CLI's progress bar). ``group`` names
    what trains: a group, or ``"GROUP +seeds A-B"`` for seeds added to it later."""

    def group_started(self, group: str, total_epochs: int, done_epochs: int) -> None: ...

    def epoch_done(self, group: str, epoch: int, summary: dict[str, Any]) -> None: ...

    def look_done(self, look: LookDone) -> None:
        """``--seeds auto``: the verdicts were looked at (see :class:`LookDone`)."""


@dataclass(frozen=True)
class LookDone:
    """One look of ``--seeds auto``: its seed count, how many candidates of each group are
    still not resolved against their leader (out of ``compared``), and the seed count of the
    next look (None: the run stops, every candidate resolved or the budget reached)."""

    seeds: int
    unresolved: dict[str, int]
    compared: int
    next_look: int | None
    max_seeds: int


@dataclass
class _Silent:
    def group_started(self, group: str, total_epochs: int, done_epochs: int) -> None:
        pass

    def epoch_done(self, group: str, epoch: int, summary: dict[str, Any]) -> None:
        pass

    def look_done(self, look: LookDone) -> None:
        pass


def _load_splits(config: CompareConfig, source: Any = None):
    from actlab import data
    from actlab.data import text

    if config.data_digest is not None and source is None:
        raise ValueError(
            f"this run trained on in-memory data ({config.data}), which a run directory "
            "does not store: pass the same data= again to resume it"
        )
    if isinstance(source, Prepared):  # already split (a DataLoader's samples, as they are)
        return source.dataset, source.splits
    if source is None and text.is_text(config.data):
        if config.model != "ffn":
            raise ValueError(
                f"{config.data} is next-character prediction over token ids: it needs --model ffn"
            )
        return text.load_text(
            config.data, val_fraction=config.val_fraction, test_fraction=config.test_fraction
        )
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


def _groups(config: CompareConfig) -> dict[str, tuple[int, ...]]:
    return {USER_GROUP: ()} if config.model == "user" else config.groups()


def _trainer(
    config: CompareConfig,
    splits: Any,
    layers: tuple[int, ...],
    seeds: Sequence[int],
    device: str,
    user_model: Any,
):
    from actlab.engine import StackedTrainer, TrainConfig

    shape: dict[str, Any] = {}
    if config.model == "cnn":
        shape = {"channels": layers, "model": "cnn", "init": config.init}
    elif config.model == "mlp":
        shape = {"hidden": layers, "init": config.init, "match": config.match}
    elif config.model == "ffn":
        shape = {
            "hidden": layers,
            "model": "ffn",
            "init": config.init,
            "match": config.match,
            "d_model": config.d_model,
            "heads": config.heads,
        }
    train_config = TrainConfig(
        **shape,
        optimizer=config.optimizer,
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        batch_size=config.batch_size,
        epochs=config.epochs,
        early_stopping=config.early_stopping,
        device=device,
    )
    return StackedTrainer(
        splits,
        activations=list(config.activations),
        seeds=list(seeds),
        config=train_config,
        model=user_model,
    )


def _missing_seeds(config: CompareConfig, group: str, candidates: list[CandidateResult]) -> list:
    """The seeds of ``config`` that ``group`` has no results for yet."""
    done = {c.seed for c in candidates if c.group == group}
    return [s for s in config.seeds if s not in done]


def _todo(config: CompareConfig, result: CompareResult) -> dict[str, list[int]]:
    """The seeds each group still has to train: those of ``config`` it has no results for,
    except that under ``--seeds auto`` a group whose every candidate is resolved has
    stopped (its sequential test is over) and trains no more."""
    todo = {}
    for group in _groups(config):
        has_results = any(c.group == group for c in result.candidates)
        stopped = (
            config.auto_seeds is not None
            and has_results
            and result.analyse(group).verdicts.stopped == "resolved"
        )
        todo[group] = [] if stopped else _missing_seeds(config, group, result.candidates)
    return todo


def _next_look(
    config: CompareConfig, result: CompareResult, run: RunDir | None, progress: Progress
) -> CompareConfig | None:
    """``--seeds auto`` after a look: tell ``progress`` how many candidates are unresolved;
    return the config with the next look's seeds (recorded in config.json first, so that
    an interruption resumes into the same look), or None when the run stops."""
    auto = config.auto_seeds
    if auto is None:
        return None
    n = len(config.seeds)
    unresolved = {
        g: len(result.analyse(g).verdicts.unresolved)
        for g in _groups(config)
        if any(c.group == g for c in result.candidates)
    }
    upcoming = auto.design().next_look(n) if any(unresolved.values()) else None
    if upcoming is not None:
        first = max(config.seeds) + 1
        seeds = (*config.seeds, *range(first, first + upcoming - n))
        config = dataclasses.replace(config, seeds=seeds)
        result.config = config.to_dict()
        if run is not None:
            write_json_atomic(run.config_path, result.config)
    compared = len(config.activations) - 1
    progress.look_done(LookDone(n, unresolved, compared, upcoming, auto.max_seeds))
    return config if upcoming is not None else None


def _group_record(config: CompareConfig, group: str, layers: tuple, trainer: Any) -> dict:
    """How a group trained (results.json ``groups``): shape, device, and each stack's
    kind (stacked / vmap / one at a time, with the reason)."""
    record: dict[str, Any] = {"status": "running", "model": config.model}
    if config.model == "cnn":
        record["channels"] = list(layers)
    elif config.model in ("mlp", "ffn"):
        record["hidden"] = list(layers)
        record["match"] = config.match
        if config.model == "ffn":
            record["d_model"] = config.d_model
            record["heads"] = config.heads
    else:
        stack = trainer.stacks[0]
        record["layers"] = stack.site_names
        record["input_shape"] = list(stack.input_shape)
        record["left"] = [
            {"site": x.name, "role": x.role, "computes": x.spec, "why": x.reason}
            for x in stack.swap.left
        ]
    record["epochs"] = config.epochs
    record["device"] = trainer.config.device
    record["training"] = [t.to_dict() for t in trainer.training()]
    return record


def _holding_the_lock(run: Callable[..., CompareResult]) -> Callable[..., CompareResult]:
    """``run(config, out, ...)`` with ``out``'s writer lock held throughout: a second
    process training into the same directory gets a one-line RunLockedError."""

    @functools.wraps(run)
    def locked(config: CompareConfig, out: str | Path | None = None, **options: Any):
        if out is None:
            return run(config, out, **options)
        run_dir = RunDir(out)
        with run_dir.lock():
            run_dir.remove_leftovers()  # of a writer killed mid-write
            return run(config, out, **options)

    return locked


def memory_estimates(config: CompareConfig, splits: Any) -> dict[str, MemoryEstimate]:
    """Each built-in group's estimated peak memory (:mod:`actlab.engine.memory`; with a
    gated activation in the run, every layer counted at twice its width: an upper bound)."""
    from actlab.catalog import get_many

    factor = max(a.width_factor for a in get_many(list(config.activations)))
    x_parts = [np.asarray(x) for x in (splits.X_train, splits.X_val, splits.X_test)]
    tokens = config.model == "ffn" and not np.issubdtype(x_parts[0].dtype, np.floating)
    vocabulary = 1 + max(int(x.max()) for x in x_parts) if tokens else None
    return {
        group: estimate_training(
            model=config.model,
            layers=layers,
            n_candidates=len(config.activations) * len(config.seeds),
            n_features=splits.n_features,
            n_outputs=splits.n_outputs,
            n_samples=len(splits.X_train) + len(splits.X_val) + len(splits.X_test),
            batch_size=config.batch_size,
            optimizer=config.optimizer,
            momentum=config.momentum,
            early_stopping=config.early_stopping,
            image_shape=splits.image_shape,
            width_factor=factor,
            d_model=config.d_model,
            heads=config.heads,
            vocabulary=vocabulary,
        )
        for group, layers in config.groups().items()
    }


def _check_memory(config: CompareConfig, splits: Any) -> None:
    """Refuse, with the estimate, a built-in model that cannot fit, before anything is
    allocated (a user's model is checked by building it)."""
    if config.model == "user":
        return
    n_candidates = len(config.activations) * len(config.seeds)
    for group, estimate in memory_estimates(config, splits).items():
        check_fits(estimate, f"group {group} ({n_candidates} candidates)")


@_holding_the_lock
def run_comparison(
    config: CompareConfig,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    data_source: Any = None,
    user_model: Any = None,
    device: str | None = None,
    progress: Progress | None = None,
    on_group_done: Callable[[CompareResult], None] | None = None,
    report: bool = True,
) -> CompareResult:
    """Train every candidate of ``config``; with ``out``, record everything in that run
    directory (and continue it when ``resume`` is true), ending with its ``report.html``
    (unless ``report`` is false).

    ``data_source`` overrides ``config.data`` with in-memory data (arrays, a Dataset, or
    ready splits); ``user_model`` (an :class:`actlab.engine.UserModel`) trains the user's
    own network; a resumed run that trained either needs them again. ``device`` overrides
    ``config.device`` for this call (a resumed run may continue on another device)."""
    from actlab.engine import resolve_device

    progress = progress or _Silent()
    run = RunDir(out) if out is not None else None
    previous: CompareResult | None = None
    if run is not None and resume:
        config = CompareConfig.of_run(run)
        stored = run.read_results()
        previous = None if stored is None else CompareResult.from_dict(stored, run.path)
        env = run.read_environment()
    elif run is not None:
        run.ensure_new()
        env = None
    else:
        env = environment()
    if config.model == "user" and user_model is None:
        raise ValueError(
            f"{out} trained a user model ({(config.user_model or {}).get('name', '?')}), "
            "which a run directory does not store: resume it with "
            "actlab.compare(model=<the same model or factory>, resume=DIR)"
        )
    _check_data(config, data_source)
    chosen = resolve_device(device or config.device)
    # Bad data, a bad device or a model that does not fit fail here, before anything is
    # written.
    dataset, splits = _load_splits(config, data_source)
    _check_memory(config, splits)
    groups = _groups(config)
    data_summary = {**dataset.summary(), "splits": splits.summary()}
    candidates = list(previous.candidates) if previous else []
    probe = CompareResult(config.to_dict(), data_summary, {}, candidates, {}, {})
    todo = _todo(config, probe)
    trainers = {}
    first = next((g for g in groups if todo[g]), None)
    if first is not None:
        trainers[first] = _trainer(config, splits, groups[first], todo[first], chosen, user_model)
        if config.model == "user":
            config = _same_model(config, trainers[first])
            for t in trainers[first].training():
                if t.kind == "one at a time":
                    warnings.warn(
                        f"model={(config.user_model or {}).get('name')}: its candidates train "
                        f"one at a time: {t.reason}",
                        UserWarning,
                        stacklevel=3,
                    )
    if run is not None and not resume:
        env = environment()
        run.create(config.to_dict(), env)
    costs = (
        previous.costs
        if previous and previous.costs
        else activation_costs(list(config.activations))
    )
    result = CompareResult(
        config=config.to_dict(),
        data=data_summary,
        environment=env or {},
        candidates=candidates,
        groups=dict(previous.groups) if previous else {},
        costs=costs,
        path=run.path if run else None,
    )
    written = False  # results.json holds ``result`` as it is now (each group writes it)
    while True:
        for group, layers in groups.items():
            if not todo[group]:
                if run is not None:  # left by a kill between its results and its removal
                    run.drop_checkpoint(group)
                continue
            trainer = trainers.pop(group, None) or _trainer(
                config, splits, layers, todo[group], chosen, user_model
            )
            _train_group(config, group, layers, trainer, run, result, progress)
            written = True
            if on_group_done is not None:
                on_group_done(result)
        extended = _next_look(config, result, run, progress)
        if extended is None:
            break
        config = extended  # a look adds seeds only to groups that then train
        todo = _todo(config, result)
    if run is not None:
        if not written:  # nothing trained (a finished run resumed)
            run.write_results(result.to_dict())
        if report:
            from actlab.report.html import write_report

            write_report(result, run.report_path)
    return result


def _train_group(
    config: CompareConfig,
    group: str,
    layers: tuple[int, ...],
    trainer: Any,
    run: RunDir | None,
    result: CompareResult,
    progress: Progress,
) -> None:
    """Train one group's missing candidates (from its checkpoint when there is one), add
    them to ``result`` and, with a run directory, write results.json (the whole
    ``result``, its analysis included) before the group's checkpoint is dropped."""
    if run is not None:
        run.restore_checkpoint(group, trainer.load_state_dict)
    earlier = result.groups.get(group, {}).get("training", [])
    record = _group_record(config, group, layers, trainer)
    record["training"] = earlier + record["training"]
    result.groups[group] = record
    seeds = sorted({c.seed for c in trainer.candidates})
    label = group if seeds[0] == min(config.seeds) else f"{group} +seeds {seeds[0]}-{seeds[-1]}"
    progress.group_started(label, config.epochs, trainer.epochs_done)
    checkpoints = Checkpointer(run, group) if run is not None else None
    metric = result.metric

    def on_epoch(report: Any) -> None:
        if checkpoints is not None:
            checkpoints.epoch_done(trainer.state_dict(), last=trainer.finished)
        progress.epoch_done(label, trainer.epochs_done, {"best": _best(trainer, report, metric)})

    try:
        outcomes = trainer.run(on_epoch=on_epoch)
        from actlab.analysis.stats import BPC, bits_per_character

        per_character = result.metric == BPC
        result.candidates.extend(
            dataclasses.replace(
                o,
                group=group,
                test_bpc=bits_per_character(o.test_loss) if per_character else None,
            )
            for o in outcomes
        )
        record["status"] = "done"
        record["candidates"] = sum(c.group == group for c in result.candidates)
        if run is not None:
            run.write_results(result.to_dict())
    except BaseException:
        if checkpoints is not None:  # keep every finished epoch (Ctrl-C, an error)
            checkpoints.flush()
        raise
    if run is not None:
        run.drop_checkpoint(group)


def _best(trainer: Any, report: Any, metric: str) -> tuple[str, float] | None:
    """The epoch's best activation for the progress line: the trainer's (highest mean
    validation metric) unless the ranked metric is bits per character, then the lowest
    mean validation bits per character (from each active candidate's validation loss)."""
    from actlab.analysis.stats import BPC, bits_per_character

    if metric != BPC:
        return report.best
    by_activation: dict[str, list[float]] = {}
    for c, hist in zip(trainer.candidates, trainer.history, strict=True):
        loss = hist["val_loss"][-1] if hist["val_loss"] else float("nan")
        if np.isfinite(loss):
            by_activation.setdefault(c.activation.spec, []).append(bits_per_character(loss))
    if not by_activation:
        return None
    means = {a: sum(v) / len(v) for a, v in by_activation.items()}
    spec = min(means, key=means.__getitem__)
    return spec, means[spec]


def _same_model(config: CompareConfig, trainer: Any) -> CompareConfig:
    """``config`` recording the user model's parameter names and shapes; a resumed run
    refuses (one line, naming the first difference) a model whose parameters differ."""
    from actlab.engine.trainer import signature_difference

    mine = [[name, list(shape)] for name, shape in trainer.stacks[0].signature()]
    described = dict(config.user_model or {})
    stored = described.get("parameters")
    if stored is not None and stored != mine:
        raise ValueError(signature_difference([stored], [mine]))
    described["parameters"] = mine
    return dataclasses.replace(config, user_model=described)


def _check_data(config: CompareConfig, data_source: Any) -> None:
    """A resumed run on in-memory data gets the same data back (same digest)."""
    if config.data_digest is None or data_source is None:
        return
    if digest(data_source) != config.data_digest:
        raise ValueError(
            "data= differs from the data this run trained on (its fingerprint does not "
            "match): resume with the same data"
        )


def extend_seeds(
    run_dir: str | Path,
    seeds: Sequence[int],
    *,
    data_source: Any = None,
    user_model: Any = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> CompareResult:
    """Add ``seeds`` to a run and train them with the same paired design (seed ``s``'s
    initial weights and batch order do not depend on which other seeds train), then
    re-analyse: the results equal a run that had every seed from the start."""
    run = RunDir(run_dir)
    config = CompareConfig.from_dict(run.read_config())
    added = tuple(int(s) for s in seeds if int(s) not in config.seeds)
    if added:
        config = dataclasses.replace(config, seeds=(*config.seeds, *added))
        write_json_atomic(run.config_path, config.to_dict())
    return run_comparison(
        config,
        run_dir,
        resume=True,
        data_source=data_source,
        user_model=user_model,
        device=device,
        progress=progress,
    )
