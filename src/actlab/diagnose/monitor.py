"""``monitor(model, every=N)``: watch the activations of a PyTorch model in the user's own loop.

>>> with monitor(model, every=10) as mon:            # doctest: +SKIP
...     for x, y in loader:
...         opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
>>> mon.summary(); mon.report("diagnose.html"); mon.findings   # doctest: +SKIP

**Steps** are forward passes of the whole model in train mode (``model.training`` true):
the first is step 0. Forward passes in eval mode are neither counted nor recorded. A loop
that calls the model more than once per optimizer step counts each call.

**Every step**, the model's output and the weight gradient of the linear/conv layer nearest
the input are screened for NaN/inf (any NaN, and any inf that is not squashed by a bounded
activation, reaches them). Both screens run together when that gradient arrives, the end
of the step's backward pass, while the weights are still those of the forward pass (one
interruption of the user's step instead of two). A forward pass that cannot be followed
by one (under ``torch.no_grad()``, or when the first weight takes no gradient) has its
output screened at once; one that could but is not (no ``backward()``) is screened when
the next forward pass starts or the ``with`` block ends, so a NaN it produced is then
located with the weights of that moment. When the output is not finite, the step's
forward pass is run again in eval mode without gradients, with hooks on the activations,
to find the first non-finite activation input or output (else a layer with non-finite
weights, else the last linear/conv layer); when the gradient is not finite, the
accumulated ``.grad`` of the other layers is checked in backward order. The first one
found is kept as :attr:`Recording.non_finite` (step and module).

**Every ``every``-th step** (0, N, 2N, ...), each activation module records the signals
of :mod:`actlab.diagnose.records` and the weight gradient of its feeder (read by tensor
hooks registered for that step's backward pass only).
On the first step the forward pass is also traced to find linear layers that feed each other
with no non-linearity in between. All hooks are removed when the ``with`` block ends, also
when it ends with an exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from actlab.diagnose.records import (
    LayerInfo,
    LayerRecord,
    NonFinite,
    Recording,
    layer_signals,
)
from actlab.diagnose.results_view import RecordingResults
from actlab.diagnose.torch_layers import (
    PASS_THROUGH,
    activations_with_feeders,
    module_math,
    static_structure,
    unit_axis,
    weight_layers,
)

DEFAULT_EVERY = 100
"""Record the signals every 100th step: 7-9% overhead in all on the default 2-layer MLP,
whose steps take 0.6-1.3 ms (``benchmarks/monitor.py``, BENCHMARKS.md; every 50th step
costs ~10%, every 10th ~19%). Every step pays ~40 us of hooks and NaN screens; a sampled
step pays ~0.3-0.6 ms more per activation layer for a 64 x 128 batch, both independent of
the model's own cost, so larger models pay relatively less. Pass a smaller ``every`` for
runs of only a few hundred steps."""


def _first_tensor(args: tuple[Any, ...]) -> torch.Tensor | None:
    return args[0] if args and isinstance(args[0], torch.Tensor) else None


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all()) if t.is_floating_point() else True


def _maybe_finite(t: torch.Tensor) -> bool:
    """A quick screen: a NaN or inf in ``t`` makes its sum non-finite (so does an overflow
    of huge finite values, which the exact :func:`_finite` then clears)."""
    return math.isfinite(float(t.detach().sum())) if t.is_floating_point() else True


def _first_non_finite(tensors: list[torch.Tensor]) -> int | None:
    """Index of the first tensor holding a NaN or inf, or ``None``."""
    return next((i for i, t in enumerate(tensors) if not _finite(t)), None)


def _output_tensors(output: Any) -> list[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [t for t in output if isinstance(t, torch.Tensor)]
    if isinstance(output, dict):
        return [t for t in output.values() if isinstance(t, torch.Tensor)]
    return []


class Monitor(RecordingResults):
    """Hooks on a model that record per-layer signals; use it through :func:`monitor`.

    Attributes: :attr:`recording` (a :class:`Recording`), :attr:`findings`, :attr:`records`.
    """

    def __init__(self, model: nn.Module, every: int = DEFAULT_EVERY) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        found = activations_with_feeders(model)
        self.model = model
        self.every = every
        self._modules = dict(model.named_modules())
        self._math = {name: module_math(m) for name, m, _ in found}
        self._feeders = {name: feeder for name, _, feeder in found}
        self._weights = weight_layers(model)
        self.recording = Recording(
            framework="pytorch",
            every=every,
            layers=[
                LayerInfo(name, self._math[name].name, feeder, self._math[name].bounded)
                for name, _, feeder in found
            ],
            structure=static_structure(model, found),
        )
        self._handles: list[RemovableHandle] = []
        self._step = -1
        self._pending: dict[str, LayerRecord] = {}
        self._stash: dict[str, torch.Tensor] = {}
        self._origin: dict[int, tuple[str, torch.Tensor, int]] = {}
        self._pairs: list[tuple[str, str]] = []
        self._tracing: list[RemovableHandle] = []
        self._seen: list[tuple[str, str, torch.Tensor]] = []
        self._temporary: list[RemovableHandle] = []
        self._locating = False
        self._screens_gradients = False
        self._unscreened: tuple[tuple[Any, ...], dict[str, Any], list[torch.Tensor]] | None = None

    # ---- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> Monitor:
        if self._handles:
            raise RuntimeError("this monitor is already attached; use a new monitor(model)")
        try:
            self._attach()
        except BaseException:
            self._detach()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._screen_output()
        self._detach()

    def _attach(self) -> None:
        add = self._handles.append
        add(self.model.register_forward_pre_hook(self._on_model_start))
        add(self.model.register_forward_hook(self._on_model_end, with_kwargs=True))
        self._screens_gradients = bool(self._weights) and self._weights[0][1].weight.requires_grad
        if self._screens_gradients:
            add(self._weights[0][1].weight.register_hook(self._screen_hook))
        # hooks only needed to trace the first forward pass (removed after it)
        self._tracing = [
            module.register_forward_hook(self._weight_layer_hook(name))
            for name, module in self._weights
        ] + [
            module.register_forward_hook(self._pass_through_hook)
            for module in self.model.modules()
            if isinstance(module, PASS_THROUGH)
        ]

    def _activation_hooks(self) -> list[RemovableHandle]:
        """Hooks on every activation (for one sampled step, or one locating pass)."""
        handles = []
        for name in self._math:
            module = self._modules[name]
            if getattr(module, "inplace", False):
                handles.append(module.register_forward_pre_hook(self._stash_hook(name)))
            handles.append(module.register_forward_hook(self._activation_hook(name)))
        return handles

    def _detach(self) -> None:
        for handle in [*self._handles, *self._tracing, *self._temporary]:
            handle.remove()
        self._handles.clear()
        self._tracing.clear()
        self._temporary.clear()
        self._origin.clear()
        self._seen.clear()
        self._stash.clear()
        self._unscreened = None

    # ---- hooks -----------------------------------------------------------------------
    @property
    def _sampling(self) -> bool:
        return self._step >= 0 and self._step % self.every == 0

    def _on_model_start(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if not module.training or self._locating:
            return
        self._screen_output()  # the previous forward pass had no backward pass
        for handle in self._temporary:
            handle.remove()
        self._temporary.clear()
        self._step += 1
        self.recording.steps = self._step + 1
        if self._sampling:
            self._pending = {}
            feeders = {f for f in self._feeders.values() if f is not None}
            self._temporary = self._activation_hooks() + [
                m.weight.register_hook(self._norm_hook(n))
                for n, m in self._weights
                if n in feeders and m.weight.requires_grad
            ]

    def _on_model_end(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        if not module.training or self._locating:
            return
        if self.recording.non_finite is None:
            self._unscreened = (args, kwargs, _output_tensors(output))
            if not (self._screens_gradients and torch.is_grad_enabled()):
                self._screen_output()  # no gradient screen will come for this pass
        if self._step == 0:
            self._origin.clear()
            for handle in self._tracing:
                handle.remove()
            self._tracing.clear()
            self.recording.structure = replace(
                self.recording.structure, linear_pairs=tuple(dict.fromkeys(self._pairs))
            )

    def _screen_output(self) -> None:
        """Screen the last training forward pass's output, if not done yet; locate the
        first non-finite value when it is not finite."""
        if self._unscreened is None:
            return
        args, kwargs, outputs = self._unscreened
        self._unscreened = None
        if (
            self.recording.non_finite is None
            and not all(map(_maybe_finite, outputs))
            and not all(map(_finite, outputs))  # not just a sum that overflowed
        ):
            self._locate(args, kwargs)

    def _locate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """The model's output at this step is not finite: find where it started.

        The step's forward pass is run once more, in eval mode and without gradients (so
        that batch-norm statistics and dropout masks stay untouched), with hooks on every
        activation; the first non-finite activation input or output is reported. When all
        are finite there, the first linear/conv layer with non-finite weights is, else the
        last linear/conv layer's output.
        """
        modes = {m: m.training for m in self.model.modules()}
        self._seen = []
        self._locating = True
        handles = self._activation_hooks()
        try:
            self.model.eval()
            with torch.no_grad():
                self.model(*args, **kwargs)
        except Exception:  # diagnosis must never break the user's training
            self._seen = []
        finally:
            for handle in handles:
                handle.remove()
            for m, mode in modes.items():
                m.training = mode
            self._locating = False
            self._stash.clear()
        seen, self._seen = self._seen, []
        bad = _first_non_finite([t for _, _, t in seen])
        if bad is not None:
            layer, where, _ = seen[bad]
            self._note_non_finite(self._step, layer, where)
            return
        for name, m in self._weights:
            if not all(_finite(p) for p in m.parameters(recurse=False)):
                self._note_non_finite(self._step, name, "weight")
                return
        last = self._weights[-1][0] if self._weights else "model"
        self._note_non_finite(self._step, last, "output")

    def _note_non_finite(self, step: int, layer: str, where: str) -> None:
        if self.recording.non_finite is None:
            self.recording.non_finite = NonFinite(step, layer, where)

    def _stash_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            x = _first_tensor(args)
            if x is not None:
                self._stash[name] = x.detach().clone()

        return hook

    def _activation_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                return
            x = _first_tensor(args)
            pre = self._stash.pop(name, x)
            if self._locating:
                if pre is not None:
                    self._seen.append((name, "input", pre))
                self._seen.append((name, "output", output))
                return
            if not self.model.training or pre is None:
                return
            if self._step == 0:
                self._origin.pop(id(output), None)
            if not _maybe_finite(pre) and not _finite(pre):
                return  # the output screen reports it
            math_ = self._math[name]
            feeder = self._modules.get(self._feeders[name] or "")
            dead, saturated, mean, std = layer_signals(
                output.detach().float().cpu().numpy(),
                math_.derivative(pre),
                math_.max_derivative,
                unit_axis(feeder, output.ndim),
            )
            # The output's own screen: its mean and std are finite unless it holds a NaN
            # or inf (or sums past the float64 range, which the exact check clears).
            if not (math.isfinite(mean) and math.isfinite(std)) and not _finite(output):
                return
            record = LayerRecord(self._step, name, dead, saturated, mean, std)
            self.recording.records.append(record)
            self._pending[name] = record

        return hook

    def _weight_layer_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            if self._step != 0 or not self.model.training or not isinstance(output, torch.Tensor):
                return
            x = _first_tensor(args)
            if x is not None and id(x) in self._origin:
                source, tensor, version = self._origin[id(x)]
                if tensor is x and x._version == version:
                    self._pairs.append((source, name))
            self._origin[id(output)] = (name, output, output._version)

        return hook

    def _pass_through_hook(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if self._step != 0 or not self.model.training or not isinstance(output, torch.Tensor):
            return
        x = _first_tensor(args)
        if x is None or id(x) not in self._origin:
            return
        source, tensor, version = self._origin[id(x)]
        if tensor is x and x._version == version:
            self._origin[id(output)] = (source, output, output._version)

    def _screen_hook(self, grad: torch.Tensor) -> None:
        """On the weight nearest the input: when its gradient is not finite, report the
        first layer, in backward order, whose accumulated ``.grad`` is not finite (this one
        when no other is). The step's output is screened first: a non-finite output makes
        the gradient non-finite too, and is the better report."""
        self._screen_output()
        if self.recording.non_finite is not None or _maybe_finite(grad):
            return
        if not _finite(grad):
            later = [(n, m.weight.grad) for n, m in reversed(self._weights[1:])]
            bad = next((n for n, g in later if g is not None and not _finite(g)), None)
            self._note_non_finite(self._step, bad or self._weights[0][0], "gradient")

    def _norm_hook(self, name: str) -> Callable[[torch.Tensor], None]:
        users = [layer for layer, feeder in self._feeders.items() if feeder == name]

        def hook(grad: torch.Tensor) -> None:
            norm = float(torch.linalg.vector_norm(grad.detach().float()))
            for layer in users:
                if layer in self._pending and math.isfinite(norm):
                    self._pending[layer].grad_norm = norm

        return hook


def monitor(model: nn.Module, every: int = DEFAULT_EVERY) -> Monitor:
    """A context manager watching ``model``'s activations every ``every`` training steps.

    See the module docstring for what counts as a step and what is recorded.
    A model without activation modules is still traced for ``linear_collapse``; activations
    called functionally in ``forward`` (``F.relu``, ``torch.tanh``) have no module to hook
    and are not recorded. Raises ``TypeError`` for a non-module, ``ValueError`` for
    ``every < 1``.
    """
    return Monitor(model, every)
