"""The trainer: every candidate (activation x seed) trained at once, whatever the model.

The candidates live in one or more *stacks* (:mod:`actlab.engine.stack`: the engine's
MLP or CNN, or a user's network) that step in lockstep. One training step is, for each
stack, one forward/backward pass over its candidates' minibatches (all candidates of a
seed share its batch order: a permutation per epoch, epochs counted from 1, drawn from a
generator seeded by ``(seed, epoch)``; see :func:`batch_order`) and one stacked optimizer
step. A stack's objective is the sum over its candidates of each candidate's mean loss,
so each candidate's gradient is exactly its own.

A candidate whose step loss or gradient is NaN/inf is marked diverged at that step
(epoch and global step recorded, both counted from 1), is not updated by that step, and is
frozen from then on (its buffers, e.g. batch norm statistics, too). Statuses, metrics and probes are gathered once per epoch; inside an
epoch the only value read back is, on CPU, whether every candidate is still active (to
skip the optimizer's masking; on an accelerator nothing is read back).

On the CPU, building a trainer sets glibc's malloc to keep freed blocks in the process
(:mod:`actlab.engine.allocator`: a stack frees and allocates the same large blocks every
step), and :meth:`StackedTrainer.run` hands the free memory back when it ends.

The trainer's state (:meth:`StackedTrainer.state_dict`) is plain data: nested dicts,
lists, strings, numbers, ``None`` and tensors, nothing else.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from actlab.catalog import Activation
from actlab.engine.allocator import keep_freed_memory, release_freed_memory
from actlab.engine.candidates import Candidate, make_candidates, shape_groups
from actlab.engine.config import TrainConfig
from actlab.engine.data import TrainData
from actlab.engine.ffn import StackedFFN
from actlab.engine.metrics import candidate_loss, evaluate
from actlab.engine.optim import StackedOptimizer, candidate_mask
from actlab.engine.probes import PROBES, probe
from actlab.engine.results import EPOCH_PHASES, HISTORY_KEYS, CandidateResult, EpochReport
from actlab.engine.stack import Stack, Training
from actlab.engine.stacked import StackedCNN, StackedMLP

STATE_VERSION = 2
EVAL_BUDGET = 1 << 22
"""Values (per hidden layer, all candidates) one evaluation chunk may hold: 16 MB in
float32. Larger chunks fall out of cache; a CNN's validation pass on digits ran 1.7x
faster in chunks of 64 than in one chunk of 360 (BENCHMARKS.md)."""


def batch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The permutation of ``n`` training samples used by ``seed`` in ``epoch``."""
    key = int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0])
    return torch.randperm(n, generator=torch.Generator().manual_seed(key))


def _rows(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``t[idx]`` for an index ``idx [M, B]`` into ``t``'s first axis, as one
    ``index_select`` of the flattened index (indexing with the 2-D index itself took ~5x
    as long on the CPU: 110 us against 20 us for the digits' batches of 40 x 64)."""
    return t.index_select(0, idx.reshape(-1)).view(*idx.shape, *t.shape[1:])


class StackSource(Protocol):
    """Builds the stacks of a user's model (:class:`actlab.engine.user_stack.UserModel`)."""

    def build(
        self, candidates: Sequence[Candidate], data: TrainData, config: TrainConfig
    ) -> list[Stack]: ...


USER_MODEL_INIT = "model"
"""The ``init`` of a user model's candidates: the model's own (how: the run records it)."""


class StackedTrainer:
    """Train ``candidates`` (or ``activations x seeds``, activation-major) on ``splits``.

    ``splits``: see :class:`~actlab.engine.data.TrainData`. ``model``: ``None`` for the
    engine's own MLP / CNN (``config.model``), or a :class:`StackSource` such as
    :class:`~actlab.engine.user_stack.UserModel`. Explicit ``candidates`` carry their own
    init scheme (``config.init`` then is not consulted) and must be ordered
    activation-major; seeds must be >= 0.

    Attributes worth reading: ``candidates``, ``stacks`` (each covering a contiguous span
    of ``candidates``), ``epochs_done``, ``finished``, ``history`` (per candidate), and
    ``net``, the stack when there is only one (``net.params`` of the MLP are
    ``[W0, b0, W1, ...]``).
    """

    def __init__(
        self,
        splits: Any,
        candidates: Sequence[Candidate] | None = None,
        *,
        activations: Sequence[str | Activation] | None = None,
        seeds: Sequence[int] = (0, 1, 2, 3, 4),
        config: TrainConfig | None = None,
        model: StackSource | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        cfg = self.config
        if candidates is None:
            if activations is None:
                raise ValueError("give either candidates or activations (and seeds)")
            init = cfg.init if model is None else USER_MODEL_INIT
            candidates = make_candidates(activations, seeds, init)
        elif activations is not None:
            raise ValueError("give either candidates or activations, not both")
        self.candidates = list(candidates)
        bad_seeds = [c.seed for c in self.candidates if c.seed < 0]
        if bad_seeds:
            raise ValueError(f"seeds must be >= 0, got {bad_seeds[0]}")
        self.data = TrainData(splits, cfg.dtype, cfg.device)
        if self.data.train[0].device.type == "cpu":
            keep_freed_memory()
        self.stacks = (
            self._build_stacks() if model is None else model.build(self.candidates, self.data, cfg)
        )
        self.spans: list[tuple[int, int]] = []
        start = 0
        for stack in self.stacks:
            self.spans.append((start, start + len(stack)))
            start += len(stack)
        if [c for s in self.stacks for c in s.candidates] != self.candidates:
            raise ValueError("the stacks must hold the candidates, in order")
        self.optimizers = [self._build_optimizer(s) for s in self.stacks]
        m = len(self.candidates)
        self.seed_list = sorted({c.seed for c in self.candidates})
        self._seed_row = torch.tensor(
            [self.seed_list.index(c.seed) for c in self.candidates], device=cfg.device
        )
        x_train, y_train = self.data.train
        self._probe = (x_train[: cfg.probe_size], y_train[: cfg.probe_size])
        self.epochs_done = 0
        self.global_step = 0
        self.active = torch.ones(m, dtype=torch.bool, device=cfg.device)
        self.diverged_step = torch.zeros(m, dtype=torch.long, device=cfg.device)
        self.diverged_epoch: list[int | None] = [None] * m
        self.stopped_epoch: list[int | None] = [None] * m
        self.best_epoch: list[int | None] = [None] * m
        self.best_val = torch.full((m,), math.inf, dtype=torch.float64)
        self.bad_epochs = torch.zeros(m, dtype=torch.long)
        self.best_state: list[list[torch.Tensor]] | None = None
        self.history: list[dict[str, list[Any]]] = [
            {k: [] for k in (*HISTORY_KEYS, *PROBES)} for _ in range(m)
        ]

    def _build_stacks(self) -> list[Stack]:
        """The engine's own model: one stack per run of candidates that share their layer
        shapes (a gated activation's layers differ from a plain one's,
        :func:`actlab.engine.candidates.shape_groups`)."""
        cfg = self.config
        if cfg.model == "cnn":
            return [self._cnn()]
        return [
            self._dense_stack(group, widths)
            for widths, group in shape_groups(self.candidates, cfg.hidden, cfg.match)
        ]

    def _dense_stack(self, candidates: list[Candidate], widths: tuple[int, ...]) -> Stack:
        cfg, data = self.config, self.data
        if cfg.model == "mlp":
            return StackedMLP(
                candidates, data.n_features, widths, data.n_outputs, cfg.dtype, cfg.device
            )
        x_train = data.train[0]
        tokens = not x_train.is_floating_point()
        if tokens and len(data.sample_shape) != 1:
            raise ValueError(
                f"model='ffn' takes token sequences [N, T] or float features; got integer "
                f"samples of shape {list(data.sample_shape)}"
            )
        vocabulary = None
        if tokens:
            vocabulary = 1 + max(int(x.max()) for x, _ in (data.train, data.val, data.test))
        return StackedFFN(
            candidates,
            n_inputs=data.n_features,
            n_outputs=data.n_outputs,
            widths=widths,
            d_model=cfg.d_model,
            heads=cfg.heads,
            vocabulary=vocabulary,
            dtype=cfg.dtype,
            device=cfg.device,
        )

    def _cnn(self) -> Stack:
        cfg, data = self.config, self.data
        gated = sorted(
            {c.activation.spec for c in self.candidates if c.activation.width_factor > 1}
        )
        if gated:
            raise ValueError(
                f"{', '.join(gated)} is gated (value and gate halves): model='cnn' does not "
                "take gated activations; use model='mlp' or 'ffn'"
            )
        shape = data.image_shape
        if shape is None or len(shape) != 3 or math.prod(shape) != data.n_features:
            raise ValueError(
                f"model='cnn' needs image_shape (C, H, W) with C*H*W = {data.n_features} "
                f"features, got image_shape={shape!r}"
            )
        return StackedCNN(
            self.candidates,
            (shape[0], shape[1], shape[2]),
            cfg.channels,
            data.n_outputs,
            cfg.dtype,
            cfg.device,
        )

    def _build_optimizer(self, stack: Stack) -> StackedOptimizer:
        cfg = self.config
        return StackedOptimizer(
            stack.trained,
            cfg.optimizer,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            rows=stack.trained_rows,
        )

    @property
    def net(self) -> Stack:
        """The only stack (the engine's MLP or CNN, or a user model in one stack)."""
        if len(self.stacks) != 1:
            raise AttributeError(f"this trainer has {len(self.stacks)} stacks; read .stacks")
        return self.stacks[0]

    def training(self) -> list[Training]:
        """How each stack trains (recorded in results.json)."""
        return [s.training() for s in self.stacks]

    def _chunk(self, stack: Stack) -> int:
        """Samples per evaluation / probe chunk (see ``EVAL_BUDGET``)."""
        per_sample = len(stack) * stack.values_per_sample
        return max(self.config.batch_size, EVAL_BUDGET // max(per_sample, 1))

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss [M], metric [M])`` of every candidate on ``x``, ``y``, in eval mode."""
        losses, metrics = [], []
        for stack in self.stacks:
            stack.train(False)
            try:
                loss, metric = evaluate(
                    lambda xb, stack=stack: stack.forward(xb)[0],
                    len(stack),
                    x,
                    y,
                    self.data.task,
                    self._chunk(stack),
                )
            finally:
                stack.train(True)
            losses.append(loss)
            metrics.append(metric)
        return torch.cat(losses).cpu(), torch.cat(metrics).cpu()

    def _probes(self) -> list[torch.Tensor]:
        """Per stack, ``[len(PROBES), sites, M_stack]`` on the probe batch, in eval mode."""
        out = []
        for stack in self.stacks:
            stack.train(False)
            try:
                out.append(probe(stack, *self._probe, self.data.task, self._chunk(stack)))
            finally:
                stack.train(True)
        return out

    def _train_epoch(self, epoch: int) -> torch.Tensor:
        """One epoch of steps; returns each candidate's training loss ``[M]``, the mean over
        the epoch's samples of the loss at the step that saw them."""
        x_train, y_train = self.data.train
        n, bs = x_train.shape[0], self.config.batch_size
        orders = torch.stack([batch_order(s, epoch, n) for s in self.seed_list])
        order = orders.to(x_train.device)[self._seed_row]
        loss_sum = torch.zeros(len(self.candidates), dtype=torch.float64, device=x_train.device)
        if x_train.device.type == "mps":  # no float64 there
            loss_sum = loss_sum.float()
        for start in range(0, n, bs):
            idx = order[:, start : start + bs]
            xb, yb = _rows(x_train, idx), _rows(y_train, idx)
            self.global_step += 1
            for k, (a, b) in enumerate(self.spans):
                loss = self._step(k, xb[a:b], yb[a:b])
                loss_sum[a:b] += loss.to(loss_sum.dtype) * idx.shape[1]
        return loss_sum / n

    def _step(self, k: int, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """One training step of stack ``k``; returns its candidates' losses."""
        stack, (a, b) = self.stacks[k], self.spans[k]
        active = self.active[a:b]
        before = [t.clone() for t in stack.buffers]
        out, _ = stack.forward(xb)
        loss = candidate_loss(out, yb, self.data.task)
        grads = torch.autograd.grad(loss.sum(), stack.trained, materialize_grads=True)
        gsum = torch.zeros_like(loss.detach())
        for g, (start, stop) in zip(grads, stack.trained_rows, strict=True):
            gsum[start:stop] += g.flatten(1).sum(1)
        finite = torch.isfinite(loss.detach()) & torch.isfinite(gsum)
        self.diverged_step[a:b].masked_fill_(active & ~finite, self.global_step)
        active &= finite
        everyone = self._all_active(active)
        self.optimizers[k].step(grads, None if everyone else active)
        if before and not everyone:
            with torch.no_grad():
                for now, then in zip(stack.buffers, before, strict=True):
                    now.copy_(torch.where(candidate_mask(active, now), now, then))
        return loss.detach()

    def _all_active(self, active: torch.Tensor) -> bool:
        """Whether no candidate of ``active`` is frozen, known without waiting: on CPU
        reading the mask costs nothing; on an accelerator it would stall the queue, so
        there the answer is always "no" (and the optimizer masks every step)."""
        return active.device.type == "cpu" and bool(active.all())

    def _state_tensors(self) -> list[list[torch.Tensor]]:
        """Per stack, everything early stopping restores: trained tensors and buffers."""
        return [[*s.trained, *s.buffers] for s in self.stacks]

    def _early_stop(self, epoch: int, val_loss: torch.Tensor) -> None:
        patience = self.config.early_stopping
        if patience is None:
            return
        state = self._state_tensors()
        if self.best_state is None:
            self.best_state = [[t.detach().clone() for t in ts] for ts in state]
        active = self.active.cpu()
        improved = active & (val_loss < self.best_val)
        self.best_val = torch.where(improved, val_loss, self.best_val)
        self.bad_epochs = torch.where(improved, 0, self.bad_epochs + 1)
        stop = active & (self.bad_epochs >= patience)
        device = self.active.device
        with torch.no_grad():
            for stack, (a, b), now, best in zip(
                self.stacks, self.spans, state, self.best_state, strict=True
            ):
                keep, restore = improved[a:b].to(device), stop[a:b].to(device)
                rows = [*stack.trained_rows, *[(0, len(stack))] * len(stack.buffers)]
                for t, saved, (start, end) in zip(now, best, rows, strict=True):
                    kept, restored = keep[start:end], restore[start:end]
                    saved.copy_(torch.where(candidate_mask(kept, t), t, saved))
                    t.copy_(torch.where(candidate_mask(restored, t), saved, t))
        for i in torch.nonzero(improved).flatten().tolist():
            self.best_epoch[i] = epoch
        if stop.any():
            self.active &= ~stop.to(device)
            for i in torch.nonzero(stop).flatten().tolist():
                self.stopped_epoch[i] = epoch

    def _now(self) -> float:
        """A phase boundary: wall clock, after the queued work on an accelerator is done
        (without the wait, an asynchronous device would charge one phase's work to the
        next)."""
        if self.active.device.type == "cuda":
            torch.cuda.synchronize(self.active.device)
        return time.perf_counter()

    def _epoch(self) -> EpochReport:
        started = self._now()
        epoch = self.epochs_done + 1
        was_active = self.active.cpu()
        train_loss = self._train_epoch(epoch)
        trained = self._now()
        val_loss, val_metric = self._evaluate(*self.data.val)
        validated = self._now()
        probes = self._probes()
        probed = self._now()
        for i in torch.nonzero(self.diverged_step.cpu()).flatten().tolist():
            if self.diverged_epoch[i] is None:
                self.diverged_epoch[i] = epoch
        self._early_stop(epoch, val_loss)
        seconds = self._now() - started
        scalars = torch.stack([train_loss.double().cpu(), val_loss, val_metric]).tolist()
        per_layer = [
            row
            for stack_probes in probes
            for row in stack_probes.double().cpu().permute(2, 0, 1).tolist()
        ]
        for i, hist in enumerate(self.history):
            on = bool(was_active[i])
            for k, key in enumerate(HISTORY_KEYS[:3]):
                hist[key].append(scalars[k][i] if on else math.nan)
            hist["epoch_time"].append(seconds)
            for k, key in enumerate(PROBES):
                layers = per_layer[i][k]
                hist[key].append(layers if on else [math.nan] * len(layers))
        self.epochs_done = epoch
        return EpochReport(
            epoch=epoch,
            epochs=self.config.epochs,
            seconds=seconds,
            best=self._best(scalars[2], was_active.tolist()),
            diverged=sum(e is not None for e in self.diverged_epoch),
            stopped=sum(e is not None for e in self.stopped_epoch),
            val_metric=[
                v if on else math.nan for v, on in zip(scalars[2], was_active.tolist(), strict=True)
            ],
            phases=dict(
                zip(
                    EPOCH_PHASES,
                    (trained - started, validated - trained, probed - validated),
                    strict=True,
                )
            ),
        )

    def _best(self, metric: list[float], active: list[bool]) -> tuple[str, float] | None:
        by_activation: dict[str, list[float]] = {}
        for c, v, on in zip(self.candidates, metric, active, strict=True):
            if on and math.isfinite(v):
                by_activation.setdefault(c.activation.spec, []).append(v)
        if not by_activation:
            return None
        means = {s: sum(v) / len(v) for s, v in by_activation.items()}
        spec = max(means, key=means.__getitem__)
        return spec, means[spec]

    @property
    def finished(self) -> bool:
        """All epochs ran, or every candidate is frozen."""
        return self.epochs_done >= self.config.epochs or not bool(self.active.any())

    def run(self, on_epoch: Callable[[EpochReport], None] | None = None) -> list[CandidateResult]:
        """Train the remaining epochs (calling ``on_epoch`` after each, when the trainer's
        state is that of a finished epoch) and return every candidate's result."""
        while not self.finished:
            report = self._epoch()
            if on_epoch is not None:
                on_epoch(report)
        results = self.results()
        release_freed_memory()
        return results

    def results(self) -> list[CandidateResult]:
        """Every candidate's result with the current weights (test set evaluated now)."""
        test_loss, test_metric = self._evaluate(*self.data.test)
        step = self.diverged_step.cpu().tolist()
        history = self._history_copy()
        stack_of = [
            (s, i - a)
            for s, (a, b) in zip(self.stacks, self.spans, strict=True)
            for i in range(a, b)
        ]
        learned = [v for s in self.stacks for v in s.learned()]
        out = []
        for i, c in enumerate(self.candidates):
            diverged = step[i] > 0
            out.append(
                CandidateResult(
                    activation=c.activation.spec,
                    seed=c.seed,
                    init=c.init,
                    status="diverged" if diverged else "ok",
                    diverged_epoch=self.diverged_epoch[i],
                    diverged_step=step[i] if diverged else None,
                    stopped_epoch=self.stopped_epoch[i],
                    best_epoch=self.best_epoch[i],
                    test_metric=math.nan if diverged else float(test_metric[i]),
                    test_loss=math.nan if diverged else float(test_loss[i]),
                    history=history[i],
                    widths=list(stack_of[i][0].hidden_widths),
                    parameters=stack_of[i][0].parameter_count(stack_of[i][1]),
                    learned=learned[i],
                )
            )
        return out

    def _identity(self) -> dict[str, Any]:
        cfg = self.config.to_dict()
        cfg.pop("epochs")
        cfg.pop("device")
        return {
            "candidates": [[c.activation.spec, c.seed, c.init] for c in self.candidates],
            "config": cfg,
            "stacks": [[[name, list(shape)] for name, shape in s.signature()] for s in self.stacks],
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly after the last finished epoch: a snapshot
        (nothing in it changes as training goes on), of plain data and tensors only. The
        global RNG state is part of it (dropout in a user's model draws from it)."""
        return {
            "version": STATE_VERSION,
            **self._identity(),
            "epochs_done": self.epochs_done,
            "global_step": self.global_step,
            "params": [[p.detach().cpu().clone() for p in s.trained] for s in self.stacks],
            "buffers": [[b.detach().cpu().clone() for b in s.buffers] for s in self.stacks],
            "optimizers": [o.state_dict() for o in self.optimizers],
            "active": self.active.cpu().clone(),
            "diverged_step": self.diverged_step.cpu().clone(),
            "diverged_epoch": list(self.diverged_epoch),
            "stopped_epoch": list(self.stopped_epoch),
            "best_epoch": list(self.best_epoch),
            "best_val": self.best_val.clone(),
            "bad_epochs": self.bad_epochs.clone(),
            "best_state": None
            if self.best_state is None
            else [[t.cpu().clone() for t in ts] for ts in self.best_state],
            "rng": torch.get_rng_state(),
            "history": self._history_copy(),
        }

    def _history_copy(self) -> list[dict[str, list[Any]]]:
        """The history, copied as deep as it can change: epochs are only ever appended, and
        an appended value (a float, or a fresh per-layer list) is never modified."""
        return [{key: list(values) for key, values in h.items()} for h in self.history]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` of a trainer with the same candidates, config and
        model (``epochs`` and ``device`` may differ)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(
                f"trainer state version {state.get('version')!r} is not {STATE_VERSION}"
            )
        mine = self._identity()
        for key in ("candidates", "config"):
            theirs = [list(c) for c in state[key]] if key == "candidates" else state[key]
            if theirs != mine[key]:
                raise ValueError(
                    f"trainer state was saved with {key} {theirs!r}, this trainer has {mine[key]!r}"
                )
        stored = [[[n, list(shape)] for n, shape in s] for s in state["stacks"]]
        if stored != mine["stacks"]:
            raise ValueError(signature_difference(stored, mine["stacks"]))
        device = self.config.device
        with torch.no_grad():
            for s, params, buffers in zip(
                self.stacks, state["params"], state["buffers"], strict=True
            ):
                for p, saved in zip([*s.trained, *s.buffers], [*params, *buffers], strict=True):
                    p.copy_(saved)
        for o, saved in zip(self.optimizers, state["optimizers"], strict=True):
            o.load_state_dict(saved)
        self.epochs_done = int(state["epochs_done"])
        self.global_step = int(state["global_step"])
        self.active = state["active"].to(device).clone()
        self.diverged_step = state["diverged_step"].to(device).clone()
        self.diverged_epoch = list(state["diverged_epoch"])
        self.stopped_epoch = list(state["stopped_epoch"])
        self.best_epoch = list(state["best_epoch"])
        self.best_val = state["best_val"].clone()
        self.bad_epochs = state["bad_epochs"].clone()
        best = state["best_state"]
        self.best_state = (
            None if best is None else [[t.to(device).clone() for t in ts] for ts in best]
        )
        torch.set_rng_state(state["rng"])
        self.history = copy.deepcopy(state["history"])


def signature_difference(stored: list[Any], mine: list[Any]) -> str:
    """One line naming the first parameter that differs between a stored run and now."""
    theirs = {n: s for stack in stored for n, s in stack}
    ours = {n: s for stack in mine for n, s in stack}
    for name, shape in ours.items():
        if name not in theirs:
            return f"the model differs from the stored run: it has {name!r}, the run does not"
        if theirs[name] != shape:
            return (
                f"the model differs from the stored run: {name!r} has shape {shape} here "
                f"and {theirs[name]} in the run"
            )
    for name in theirs:
        if name not in ours:
            return f"the model differs from the stored run: the run has {name!r}, it does not"
    return "the model differs from the stored run: its stacks are laid out differently"
