"""The stacked trainer: every candidate (activation x seed) trained at once.

One training step is one forward/backward pass of the stacked model over ``M`` minibatches
(one per candidate: all candidates of a seed share its batch order, a permutation per
epoch drawn from a generator seeded by ``(seed, epoch)``) and one stacked optimizer step.
The step's objective is the sum over candidates of each candidate's mean loss, so
each candidate's gradient is exactly its own.

A candidate whose step loss or gradient is NaN/inf is marked diverged at that step
(epoch and global step recorded, both counted from 1), is not updated by that step, and is
frozen from then on. Statuses, metrics and probes are gathered once per epoch; inside an
epoch the only value read back is, on CPU, whether every candidate is still active (to
skip the optimizer's masking; on an accelerator nothing is read back).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from actlab.catalog import Activation
from actlab.engine.candidates import Candidate, make_candidates
from actlab.engine.config import TrainConfig
from actlab.engine.metrics import TASKS, candidate_loss, evaluate
from actlab.engine.optim import StackedOptimizer
from actlab.engine.probes import PROBES, probe
from actlab.engine.results import EPOCH_PHASES, HISTORY_KEYS, CandidateResult, EpochReport
from actlab.engine.stacked import StackedCNN, StackedMLP, StackedNet

STATE_VERSION = 1
EVAL_BUDGET = 1 << 22
"""Values (per hidden layer, all candidates) one evaluation chunk may hold: 16 MB in
float32. Larger chunks fall out of cache; a CNN's validation pass on digits ran 1.7x
faster in chunks of 64 than in one chunk of 360 (BENCHMARKS.md)."""


def batch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The permutation of ``n`` training samples used by ``seed`` in ``epoch``."""
    key = int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0])
    return torch.randperm(n, generator=torch.Generator().manual_seed(key))


class _Data:
    """The splits as tensors: ``x`` float ``[N, F]``; ``y`` int64 ``[N]`` (classification)
    or float ``[N, K]`` (regression)."""

    def __init__(self, splits: Any, dtype: torch.dtype, device: str) -> None:
        missing = [
            a
            for a in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "task")
            if not hasattr(splits, a)
        ]
        if missing:
            raise TypeError(f"splits lacks {', '.join(missing)}")
        self.task = splits.task
        if self.task not in TASKS:
            raise ValueError(f"task={self.task!r} must be one of {TASKS}")
        self.image_shape = getattr(splits, "image_shape", None)
        parts = {}
        for part in ("train", "val", "test"):
            x = torch.as_tensor(np.asarray(getattr(splits, f"X_{part}")), dtype=dtype)
            y = torch.as_tensor(np.asarray(getattr(splits, f"y_{part}")))
            if x.dim() != 2 or x.shape[0] == 0:
                raise ValueError(f"X_{part} must be a non-empty [N, F] array, got {tuple(x.shape)}")
            if y.shape[0] != x.shape[0]:
                raise ValueError(f"y_{part} has {y.shape[0]} rows but X_{part} has {x.shape[0]}")
            if not torch.isfinite(x).all():
                raise ValueError(f"X_{part} contains NaN or inf")
            if self.task == "classification":
                if y.dim() != 1 or (y.is_floating_point() and not (y == y.round()).all()):
                    raise ValueError(f"y_{part} must hold integer class indices [N]")
                y = y.long()
            else:
                y = y.to(dtype).reshape(y.shape[0], -1)
            parts[part] = (x.to(device), y.to(device))
        self.train, self.val, self.test = parts["train"], parts["val"], parts["test"]
        self.n_features = self.train[0].shape[1]
        for part, (x, _) in parts.items():
            if x.shape[1] != self.n_features:
                raise ValueError(
                    f"X_{part} has {x.shape[1]} features but X_train has {self.n_features}"
                )
        if self.task == "classification":
            top = max(int(y.max()) for _, y in parts.values())
            low = min(int(y.min()) for _, y in parts.values())
            self.n_outputs = int(getattr(splits, "n_outputs", top + 1))
            if low < 0 or top >= self.n_outputs:
                raise ValueError(f"class labels span {low}..{top} but n_outputs={self.n_outputs}")
        else:
            self.n_outputs = self.train[1].shape[1]


class StackedTrainer:
    """Train ``candidates`` (or ``activations x seeds``, activation-major) on ``splits``.

    ``splits`` is any object with ``X_train, y_train, X_val, y_val, X_test, y_test`` (NumPy
    or torch arrays), ``task`` (``"classification"`` | ``"regression"``), optionally
    ``n_outputs`` and ``image_shape`` ``(C, H, W)`` (needed by the CNN). Explicit
    ``candidates`` carry their own init scheme (``config.init`` then is not consulted) and
    must be ordered activation-major; seeds must be >= 0.

    Attributes worth reading: ``candidates``, ``epochs_done``, ``finished``, ``history``
    (per candidate), ``net`` (the stacked model; ``net.params`` are ``[W0, b0, W1, ...]``).
    """

    def __init__(
        self,
        splits: Any,
        candidates: Sequence[Candidate] | None = None,
        *,
        activations: Sequence[str | Activation] | None = None,
        seeds: Sequence[int] = (0, 1, 2, 3, 4),
        config: TrainConfig | None = None,
    ) -> None:
        self.config = config or TrainConfig()
        cfg = self.config
        if candidates is None:
            if activations is None:
                raise ValueError("give either candidates or activations (and seeds)")
            candidates = make_candidates(activations, seeds, cfg.init)
        elif activations is not None:
            raise ValueError("give either candidates or activations, not both")
        self.candidates = list(candidates)
        bad_seeds = [c.seed for c in self.candidates if c.seed < 0]
        if bad_seeds:
            raise ValueError(f"seeds must be >= 0, got {bad_seeds[0]}")
        self.data = _Data(splits, cfg.dtype, cfg.device)
        self.net = self._build_net()
        for p in self.net.params:
            p.data = p.data.to(cfg.device)
        self.optimizer = self._build_optimizer()
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
        self.best_params: list[torch.Tensor] | None = None
        self.history: list[dict[str, list[Any]]] = [
            {k: [] for k in (*HISTORY_KEYS, *PROBES)} for _ in range(m)
        ]

    def _build_net(self) -> StackedNet:
        cfg, data = self.config, self.data
        if cfg.model == "mlp":
            return StackedMLP(
                self.candidates, data.n_features, cfg.hidden, data.n_outputs, cfg.dtype
            )
        shape = data.image_shape
        if shape is None or len(shape) != 3 or math.prod(shape) != data.n_features:
            raise ValueError(
                f"model='cnn' needs image_shape (C, H, W) with C*H*W = {data.n_features} "
                f"features, got image_shape={shape!r}"
            )
        return StackedCNN(
            self.candidates, tuple(int(s) for s in shape), cfg.channels, data.n_outputs, cfg.dtype
        )

    def _build_optimizer(self) -> StackedOptimizer:
        cfg = self.config
        return StackedOptimizer(
            self.net.params,
            cfg.optimizer,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
        )

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward(x)[0]

    @property
    def _chunk(self) -> int:
        """Samples per evaluation / probe chunk (see ``EVAL_BUDGET``)."""
        per_sample = len(self.candidates) * self.net.widest_layer
        return max(self.config.batch_size, EVAL_BUDGET // per_sample)

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return evaluate(self._forward, len(self.candidates), x, y, self.data.task, self._chunk)

    def _train_epoch(self, epoch: int) -> torch.Tensor:
        """One epoch of steps; returns the mean step loss per candidate ``[M]``."""
        x_train, y_train = self.data.train
        n, bs = x_train.shape[0], self.config.batch_size
        orders = torch.stack([batch_order(s, epoch, n) for s in self.seed_list])
        order = orders.to(x_train.device)[self._seed_row]
        loss_sum = torch.zeros(len(self.candidates), dtype=x_train.dtype, device=x_train.device)
        n_batches = 0
        for start in range(0, n, bs):
            idx = order[:, start : start + bs]
            out, _ = self.net.forward(x_train[idx])
            loss = candidate_loss(out, y_train[idx], self.data.task)
            grads = torch.autograd.grad(loss.sum(), self.net.params)
            gsum = sum(g.flatten(1).sum(1) for g in grads)
            finite = torch.isfinite(loss.detach()) & torch.isfinite(gsum)
            self.global_step += 1
            self.diverged_step.masked_fill_(self.active & ~finite, self.global_step)
            self.active &= finite
            self.optimizer.step(grads, None if self._all_active() else self.active)
            loss_sum += loss.detach()
            n_batches += 1
        return loss_sum / n_batches

    def _all_active(self) -> bool:
        """Whether no candidate is frozen, known without waiting: on CPU reading the mask
        costs nothing; on an accelerator it would stall the queue, so there the answer
        is always "no" (and the optimizer masks every step)."""
        return self.active.device.type == "cpu" and bool(self.active.all())

    def _early_stop(self, epoch: int, val_loss: torch.Tensor) -> None:
        patience = self.config.early_stopping
        if patience is None:
            return
        params = self.net.params
        if self.best_params is None:
            self.best_params = [p.detach().clone() for p in params]
        active = self.active.cpu()
        improved = active & (val_loss < self.best_val)
        self.best_val = torch.where(improved, val_loss, self.best_val)
        self.bad_epochs = torch.where(improved, 0, self.bad_epochs + 1)
        mask = improved.to(params[0].device)
        with torch.no_grad():
            for p, best in zip(params, self.best_params, strict=True):
                best.copy_(torch.where(mask.view(-1, *[1] * (p.dim() - 1)), p, best))
        for i in torch.nonzero(improved).flatten().tolist():
            self.best_epoch[i] = epoch
        stop = active & (self.bad_epochs >= patience)
        if stop.any():
            smask = stop.to(params[0].device)
            with torch.no_grad():
                for p, best in zip(params, self.best_params, strict=True):
                    p.copy_(torch.where(smask.view(-1, *[1] * (p.dim() - 1)), best, p))
            self.active &= ~smask
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
        probes = probe(self.net, *self._probe, self.data.task, self._chunk)
        probed = self._now()
        for i in torch.nonzero(self.diverged_step.cpu()).flatten().tolist():
            if self.diverged_epoch[i] is None:
                self.diverged_epoch[i] = epoch
        self._early_stop(epoch, val_loss)
        seconds = self._now() - started
        scalars = torch.stack([train_loss.double().cpu(), val_loss, val_metric]).tolist()
        per_layer = probes.double().cpu().permute(0, 2, 1).tolist()
        for i, hist in enumerate(self.history):
            on = bool(was_active[i])
            for k, key in enumerate(HISTORY_KEYS[:3]):
                hist[key].append(scalars[k][i] if on else math.nan)
            hist["epoch_time"].append(seconds)
            for k, key in enumerate(PROBES):
                layers = per_layer[k][i]
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
        return self.results()

    def results(self) -> list[CandidateResult]:
        """Every candidate's result with the current weights (test set evaluated now)."""
        test_loss, test_metric = self._evaluate(*self.data.test)
        step = self.diverged_step.cpu().tolist()
        history = self._history_copy()
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
                )
            )
        return out

    def _identity(self) -> dict[str, Any]:
        cfg = self.config.to_dict()
        cfg.pop("epochs")
        cfg.pop("device")
        return {
            "candidates": [(c.activation.spec, c.seed, c.init) for c in self.candidates],
            "config": cfg,
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly after the last finished epoch: a snapshot
        (nothing in it changes as training goes on)."""
        return {
            "version": STATE_VERSION,
            **self._identity(),
            "epochs_done": self.epochs_done,
            "global_step": self.global_step,
            "params": [p.detach().cpu().clone() for p in self.net.params],
            "optimizer": self.optimizer.state_dict(),
            "active": self.active.cpu().clone(),
            "diverged_step": self.diverged_step.cpu().clone(),
            "diverged_epoch": list(self.diverged_epoch),
            "stopped_epoch": list(self.stopped_epoch),
            "best_epoch": list(self.best_epoch),
            "best_val": self.best_val.clone(),
            "bad_epochs": self.bad_epochs.clone(),
            "best_params": None
            if self.best_params is None
            else [p.cpu().clone() for p in self.best_params],
            "history": self._history_copy(),
        }

    def _history_copy(self) -> list[dict[str, list[Any]]]:
        """The history, copied as deep as it can change: epochs are only ever appended, and
        an appended value (a float, or a fresh per-layer list) is never modified."""
        return [{key: list(values) for key, values in h.items()} for h in self.history]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` of a trainer with the same candidates and config
        (``epochs`` and ``device`` may differ)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(
                f"trainer state version {state.get('version')!r} is not {STATE_VERSION}"
            )
        mine = self._identity()
        for key in ("candidates", "config"):
            theirs = state[key] if key == "config" else [tuple(c) for c in state[key]]
            if theirs != mine[key]:
                raise ValueError(
                    f"trainer state was saved with {key} {theirs!r}, this trainer has {mine[key]!r}"
                )
        device = self.config.device
        with torch.no_grad():
            for p, saved in zip(self.net.params, state["params"], strict=True):
                p.copy_(saved)
        self.optimizer.load_state_dict(state["optimizer"])
        self.epochs_done = int(state["epochs_done"])
        self.global_step = int(state["global_step"])
        self.active = state["active"].to(device).clone()
        self.diverged_step = state["diverged_step"].to(device).clone()
        self.diverged_epoch = list(state["diverged_epoch"])
        self.stopped_epoch = list(state["stopped_epoch"])
        self.best_epoch = list(state["best_epoch"])
        self.best_val = state["best_val"].clone()
        self.bad_epochs = state["bad_epochs"].clone()
        best = state["best_params"]
        self.best_params = None if best is None else [p.to(device).clone() for p in best]
        self.history = copy.deepcopy(state["history"])
