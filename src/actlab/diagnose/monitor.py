"""``monitor(model, every=N)``: watch the activations of a PyTorch model in the user's own loop.

>>> with monitor(model, every=10) as mon:            # doctest: +SKIP
...     for x, y in loader:
...         opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
>>> mon.summary(); mon.report("diagnose.html"); mon.findings   # doctest: +SKIP

**Steps** are forward passes of the whole model in train mode (``model.training`` true):
the first is step 0. Forward passes in eval mode are neither counted nor recorded. A loop
that calls the model more than once per optimizer step counts each call.

**Step 0** is traced (:mod:`actlab.backends.torch.sites`): every activation call is found,
module or functional, recognised by what it computes, given its role (hidden, gate,
output) and its feeding layer from the data flow; linear layers feeding each other with
nothing non-linear between them are noted (not deliberate bottlenecks), and so are the
layers of residual branches damped by a zero-initialised scale.

**Every ``every``-th step** (0, N, 2N, ...), each activation site records the signals of
:mod:`actlab.diagnose.records` on a fixed random subsample of its input
(:mod:`actlab.diagnose.sampling`: at most 8192 elements), computed in torch on the
tensors' device in float32 whatever the training dtype (float16, bfloat16, autocast), for
all sites at once (:mod:`actlab.diagnose.signals`); and the weight
gradient norm of its feeder. Results stay on the device until they are read (the next
sampled step, the end of the ``with`` block, or reading :attr:`Monitor.recording`): no
host copy inside the step. Module sites are watched by temporary module hooks,
functional ones by a ``TorchFunctionMode`` active only inside the calling module's
``forward`` of that step.

**Every step**, the model's output and the weight gradient of the first linear/conv layer
are screened for NaN/inf (any NaN, and any inf that is not squashed by a bounded
activation, reaches them; the output is screened too because a loss can mask it, as
``clamp`` does, whose gradient is 0 at a NaN). Both screens run together when that
gradient arrives, the end of the step's backward pass, while the weights are still those
of the forward pass: ``isfinite(sum(t))`` for each, one reduction and one read (an
overflow of huge finite values is then cleared by an exact check). A forward pass that
cannot be followed by one (under ``torch.no_grad()``, or when the first weight takes no
gradient) has its output screened at once; one that could but is not (no ``backward()``)
is screened at the next training forward pass or when the ``with`` block ends.
When the output is not finite, the step's forward pass is run again in eval mode without
gradients to find the first non-finite activation input or output (else a layer with
non-finite weights, else the last linear/conv layer); when the gradient is not finite, the
accumulated ``.grad`` of the other layers is checked in backward order. The first one
found is kept as :attr:`Recording.non_finite`.

**Hooks.** An unsampled step runs two: a forward hook on the model (it counts the step,
keeps the output for the screen, and ends a traced or sampled pass, also one that raises)
and a gradient hook on the first weight (the screen). A forward pre-hook on the model,
which starts the trace or hooks the sites, is registered only for a traced or sampled step
(for step 0 when the ``with`` block starts, else at the end of the step before; eval-mode
passes leave it waiting) and removes itself when that step starts. All hooks are removed
when the ``with`` block ends, also when it ends with an exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from actlab.backends.torch.intercept import CallRouter, route
from actlab.backends.torch.sites import ActivationSite, Analysis, analyse, candidate, unit_axis
from actlab.backends.torch.trace import Graph, Node, Tracer, is_weight_layer, size_of, tensors
from actlab.diagnose.findings import SELU_INIT_TOLERANCE
from actlab.diagnose.records import LayerInfo, LayerRecord, NonFinite, Recording, Structure
from actlab.diagnose.results_view import RecordingResults
from actlab.diagnose.sampling import Subsample, subsample
from actlab.diagnose.signals import Layout, layout, signals

DEFAULT_EVERY = 100
"""Record the signals every 100th step: a sampled step of a zoo model costs under 2x an
unsampled one, so the sampling adds under 1%, on top of the fixed per-step cost of the
hooks and NaN screens (measured in BENCHMARKS.md, "Monitor overhead on the real-model
zoo"). Pass a smaller ``every`` for runs of only a few hundred steps."""

_Grouping = tuple[
    dict[str, list[int]], dict[str, dict[tuple[str, int], int]], dict[str, dict[str, int]]
]

_Pass = tuple[tuple[Any, ...], dict[str, Any], tuple[torch.Tensor, ...]]
"""A training forward pass not screened yet: its arguments, keyword arguments and output
tensors."""

PLAIN_DROPOUT: tuple[type[nn.Module], ...] = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
"""Dropout that breaks SELU's self-normalization (alpha-dropout keeps mean and variance)."""


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all()) if t.is_floating_point() else True


def _on_host(device: torch.device) -> bool:
    """Whether reading a number from ``device`` waits for nothing (the CPU)."""
    return device.type == "cpu"


def _sums_finite(
    tensors: Iterable[torch.Tensor], read_at_once: Callable[[torch.device], bool] = _on_host
) -> bool:
    """A quick screen of the floating-point ``tensors``: a NaN or inf in a tensor makes its
    sum non-finite (so does an overflow of huge finite values, which the exact
    :func:`_finite` then clears). One reduction per tensor. A sum on a device where
    ``read_at_once`` is read at once (on the CPU reading waits for nothing); the sums on
    any other device (an accelerator) are added first and read once per device, so its
    queue is waited for once a step."""
    queued: dict[torch.device, torch.Tensor] = {}
    for t in tensors:
        if not t.is_floating_point():
            continue
        s = t.sum()
        if read_at_once(s.device):
            if not math.isfinite(s.item()):
                return False
        else:
            queued[s.device] = s if s.device not in queued else queued[s.device] + s
    return all(math.isfinite(s.item()) for s in queued.values())


def _first_tensor(args: tuple[Any, ...]) -> torch.Tensor | None:
    return args[0] if args and isinstance(args[0], torch.Tensor) else None


def init_scale(weight: torch.Tensor) -> float:
    """``std(W) * sqrt(fan_in)``: 1 for LeCun-normal init, ~0.577 for PyTorch's default
    (uniform with bound 1/sqrt(fan_in)), ~1.41 for He init."""
    return float(weight.detach().float().std()) * math.sqrt(weight[0].numel())


@dataclass
class _Watch:
    """A watched site: the site, its function of its input (for ``f'`` by autograd), its
    module (module sites) and the subsample per input shape."""

    site: ActivationSite
    fn: Callable[[torch.Tensor], torch.Tensor]
    module: nn.Module | None
    samples: dict[tuple[tuple[int, ...], torch.device], Subsample] = field(default_factory=dict)

    def gather(self, x: torch.Tensor) -> tuple[torch.Tensor, Subsample]:
        key = (x.shape, x.device)  # a torch.Size is a tuple
        sub = self.samples.get(key)
        if sub is None:
            sub = self.samples[key] = subsample(tuple(x.shape), self.site.unit_axis, x.device)
        return sub.gather(x), sub


class Monitor(RecordingResults):
    """Hooks on a model that record per-site signals; use it through :func:`monitor`.

    Attributes: :attr:`recording` (a :class:`Recording`), :attr:`findings`, :attr:`records`,
    :attr:`sites` (the :class:`ActivationSite` list, after step 0).
    """

    def __init__(self, model: nn.Module, every: int = DEFAULT_EVERY) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.model = model
        self.every = every
        self._recording = Recording(framework="pytorch", every=every)
        self._modules = dict(model.named_modules())
        self._weights = [(n, m) for n, m in self._modules.items() if is_weight_layer(m)]
        self.sites: list[ActivationSite] = []
        self._watches: list[_Watch] = []
        self._handles: list[RemovableHandle] = []
        self._forward_hooks: list[RemovableHandle] = []
        self._grad_hooks: list[RemovableHandle] = []
        self._routers: list[CallRouter] = []
        self._step = -1
        self._start: RemovableHandle | None = None
        self._pass: Literal["traced", "sampled"] | None = None
        self._tracer: Tracer | None = None
        self._captured: dict[int, tuple[torch.Tensor, Subsample]] = {}
        self._step0: dict[tuple[Any, ...], tuple[torch.Tensor, Subsample]] = {}
        self._pending: list[tuple[int, list[int], torch.Tensor, list[Subsample]]] = []
        self._norms: list[tuple[int, str, torch.Tensor]] = []
        self._layouts: dict[tuple[tuple[int, int, int], ...], Layout] = {}
        self._groups: tuple[list[_Watch], _Grouping] | None = None
        self._by_key: dict[tuple[int, str], LayerRecord] = {}
        self._locating = False
        self._seen: list[tuple[str, str, bool]] = []
        self._screens_gradients = False
        self._unscreened: _Pass | None = None

    @property
    def recording(self) -> Recording:
        """Everything recorded so far (results still on the device are read first)."""
        self._flush()
        self._recording.steps = self._step + 1
        return self._recording

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
        self._flush()

    def _attach(self) -> None:
        add = self._handles.append
        add(
            self.model.register_forward_hook(self._on_model_end, with_kwargs=True, always_call=True)
        )
        self._screens_gradients = bool(self._weights) and self._weights[0][1].weight.requires_grad
        if self._screens_gradients:
            add(self._weights[0][1].weight.register_hook(self._screen_hook))
        self._arm_if_due()

    def _detach(self) -> None:
        if self._tracer is not None:  # an exception inside the traced forward pass
            self._tracer.stop(None)
            self._tracer.release()
            self._tracer = None
        self._remove_step_hooks()
        self._unwatch_gradients()
        if self._start is not None:
            self._start.remove()
            self._start = None
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._step0.clear()
        self._unscreened = None
        self._pass = None

    def _remove_step_hooks(self) -> None:
        for handle in self._forward_hooks:
            handle.remove()
        self._forward_hooks.clear()
        for router in self._routers:
            while router._modes:
                router.exit()
        self._routers.clear()

    # ---- the model's own forward pass ---------------------------------------------------
    def _arm_if_due(self) -> None:
        """Have the next training forward pass traced (step 0) or sampled, if it is due."""
        step = self._step + 1
        if step == 0 or (step % self.every == 0 and self._watches):
            self._start = self.model.register_forward_pre_hook(
                self._on_model_start, with_kwargs=True
            )

    def _on_model_start(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """Pre-hook of a traced or sampled step only: start tracing, or hook the sites."""
        if not module.training or self._locating:
            return
        assert self._start is not None
        self._start.remove()
        self._start = None
        self._screen_output()  # the previous forward pass had no backward pass
        if self._step == -1:
            self._pass = "traced"
            self._tracer = Tracer(self.model, on_call=self._capture_step0)
            self._tracer.start(args, kwargs)
        else:
            self._pass = "sampled"
            self._flush()
            self._captured = {}
            self._watch_sites(self._capture, started=True)

    def _on_model_end(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        """Every step: count it, end a traced or sampled pass, and keep the output for the
        NaN/inf screen; arm the next step when it is sampled."""
        if not module.training or self._locating:
            return
        if self._unscreened is not None:
            self._screen_output()  # the previous forward pass had no backward pass
        if self._grad_hooks:
            self._unwatch_gradients()  # the previous sampled step had no backward pass
        self._step += 1
        if self._pass is not None:
            self._end_pass(output)
        if self._recording.non_finite is None:
            outputs = (output,) if isinstance(output, torch.Tensor) else tuple(tensors(output))
            self._unscreened = (args, kwargs, outputs)
            if not (self._screens_gradients and torch.is_grad_enabled()):
                self._screen_output()  # no gradient screen will come for this pass
        self._arm_if_due()

    def _end_pass(self, output: Any) -> None:
        """The end of a traced or sampled step: learn the sites, or compute the signals;
        watch the feeders' gradients in the coming backward pass."""
        if self._pass == "traced":
            assert self._tracer is not None
            tracer, self._tracer = self._tracer, None
            graph = tracer.stop(output)
            try:
                self._learn(graph)
            finally:
                tracer.release()
                self._step0.clear()
        else:
            self._remove_step_hooks()
            self._compute(self._captured)
            self._captured = {}
        self._pass = None
        self._watch_gradients()

    # ---- step 0: trace, learn the sites and the structure ---------------------------------
    def _capture_step0(self, node: Node, x: torch.Tensor) -> None:
        """During the traced pass: keep the subsample of every call that may be a site."""
        assert self._tracer is not None
        module = self._modules.get(node.module or "")
        if node.kind == "module" and (module is None or not candidate(module)):
            return
        if node.kind == "module":
            key: tuple[Any, ...] = (node.module, node.call)
        else:
            key = (node.scope, node.activation, node.call)
        partial = Graph(self._tracer.nodes, self._tracer.modules, self._tracer.tensor_names)
        axis = unit_axis(partial, node)
        sub = subsample(tuple(x.shape), axis, x.device)
        self._step0[key] = (sub.gather(x), sub)

    def _learn(self, graph: Graph) -> None:
        analysis = analyse(graph)
        self.sites = analysis.sites
        self._watches = []
        for site in (s for s in self.sites if s.elementwise):
            module = self._modules.get(site.module) if site.kind == "module" else None
            fn = module.forward if module is not None else analysis.nodes[site.name].function
            assert fn is not None
            self._watches.append(_Watch(site, fn, module))
        self._recording.layers = [_layer_info(w) for w in self._watches]
        self._recording.structure = self._structure(analysis)
        captured = {}
        for i, w in enumerate(self._watches):
            s = w.site
            key = (s.module, s.call) if s.kind == "module" else (s.module, s.function, s.call)
            if key in self._step0:
                z, sub = self._step0[key]
                w.samples[(tuple(s.shape), z.device)] = sub
                captured[i] = (z, sub)
        self._compute(captured)

    def _structure(self, analysis: Analysis) -> Structure:
        modules = self._modules
        pairs = tuple(analysis.linear_pairs)
        sizes = {}
        for first, second in pairs:
            a, b = size_of(modules[first]), size_of(modules[second])
            if a is not None and b is not None:
                sizes[(first, second)] = (a[0], a[1], b[1])
        selu = [
            w.site
            for w in self._watches
            if w.site.behaviour.activation is not None
            and w.site.behaviour.activation.name == "selu"
        ]
        if not selu:
            return Structure(linear_pairs=pairs, pair_sizes=sizes)
        bad_init = {}
        for site in selu:
            if site.feeder is None:
                continue
            scale = init_scale(modules[site.feeder].weight)  # type: ignore[arg-type]
            if abs(scale - 1.0) > SELU_INIT_TOLERANCE:
                bad_init[site.name] = (
                    f"std(W)*sqrt(fan_in) = {scale:.2f} in {site.feeder}, LeCun-normal gives 1"
                )
        return Structure(
            linear_pairs=pairs,
            pair_sizes=sizes,
            selu_bad_init=bad_init,
            plain_dropout=tuple(n for n, m in modules.items() if isinstance(m, PLAIN_DROPOUT)),
            batchnorm=tuple(
                n for n, m in modules.items() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            ),
        )

    # ---- sampled steps ---------------------------------------------------------------
    def _watch_sites(
        self,
        on_input: Callable[[int, torch.Tensor], None],
        on_output: Callable[[int, torch.Tensor], None] | None = None,
        *,
        started: bool = False,
    ) -> None:
        """Temporary hooks calling ``on_input(i, x)`` (and ``on_output(i, y)``) for every
        call of watched site ``i`` in the next forward pass (``started``: the model's
        forward pass has begun, so its own hooks for this pass have run)."""
        by_module, by_owner, per_forward = self._grouping()
        for name, indices in by_module.items():
            module = self._modules[name]
            self._forward_hooks.extend(self._module_hooks(module, indices, on_input, on_output))

        def handle(
            func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], i: int
        ) -> Any:
            x = args[0] if args and isinstance(args[0], torch.Tensor) else kwargs.get("input")
            if isinstance(x, torch.Tensor):
                on_input(i, x)
            out = func(*args, **kwargs)
            if on_output is not None and isinstance(out, torch.Tensor):
                on_output(i, out)
            return out

        for owner, table in by_owner.items():
            router = CallRouter(table, per_forward[owner], handle)
            self._routers.append(router)
            if started and self._modules[owner] is self.model:
                router.enter(self.model)  # left in _remove_step_hooks
            else:
                self._forward_hooks.extend(route(self._modules[owner], router))

    def _grouping(self) -> _Grouping:
        """The watched sites by module (module sites) and by owner (functional sites, with
        each function's calls per forward pass); computed once per set of watches."""
        if self._groups is None or self._groups[0] is not self._watches:
            by_module: dict[str, list[int]] = {}
            by_owner: dict[str, dict[tuple[str, int], int]] = {}
            per_forward: dict[str, dict[str, int]] = {}
            for i, w in enumerate(self._watches):
                s = w.site
                if s.kind == "module":
                    by_module.setdefault(s.module, []).append(i)
                else:
                    by_owner.setdefault(s.module, {})[(s.function or "", s.call)] = i
                    per_forward.setdefault(s.module, {})[s.function or ""] = s.calls
            self._groups = (self._watches, (by_module, by_owner, per_forward))
        return self._groups[1]

    @staticmethod
    def _module_hooks(
        module: nn.Module,
        indices: list[int],
        on_input: Callable[[int, torch.Tensor], None],
        on_output: Callable[[int, torch.Tensor], None] | None,
    ) -> list[RemovableHandle]:
        calls = [0]

        def pre(m: nn.Module, args: tuple[Any, ...]) -> None:
            x = _first_tensor(args)
            if x is not None:
                on_input(indices[calls[0] % len(indices)], x)

        def post(m: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            i = indices[calls[0] % len(indices)]
            calls[0] += 1
            if on_output is not None and isinstance(output, torch.Tensor):
                on_output(i, output)

        return [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]

    def _capture(self, i: int, x: torch.Tensor) -> None:
        self._captured[i] = self._watches[i].gather(x)

    def _compute(self, captured: dict[int, tuple[torch.Tensor, Subsample]]) -> None:
        """Signals of the captured subsamples, left on the device until :meth:`_flush`:
        ``f(z)`` per site, ``f'(z)`` for all sites by one autograd call (exact for
        elementwise ``f``), then the signals of all sites at once
        (:func:`actlab.diagnose.signals.signals`)."""
        if not captured:
            return
        indices, leaves, values, subs = [], [], [], []
        device = next(iter(captured.values()))[0].device
        with torch.enable_grad(), torch.autocast(device.type, enabled=False):
            for i, (z, sub) in captured.items():
                if z.numel() == 0:
                    continue
                leaf = z.detach().requires_grad_(True)
                try:
                    a = self._watches[i].fn(leaf.clone())
                except Exception:  # diagnosis must never break the user's training
                    continue
                if not (isinstance(a, torch.Tensor) and a.shape == leaf.shape and a.requires_grad):
                    continue
                indices.append(i)
                leaves.append(leaf)
                values.append(a)
                subs.append(sub)
            if not leaves:
                return
            derivatives = torch.autograd.grad(values, leaves, [torch.ones_like(a) for a in values])
        key = tuple((i, sub.units, sub.samples) for i, sub in zip(indices, subs, strict=True))
        places = self._layouts.get(key)
        if places is None:
            places = self._layouts[key] = layout(
                [(sub.units, sub.samples) for sub in subs],
                [self._watches[i].site.behaviour.max_derivative for i in indices],
                device,
            )
        stacked = signals(
            torch.cat([d.reshape(-1) for d in derivatives]),
            torch.cat([a.detach().reshape(-1) for a in values]),
            places,
        )
        self._pending.append((self._step, indices, stacked, subs))

    def _unwatch_gradients(self) -> None:
        for handle in self._grad_hooks:
            handle.remove()
        self._grad_hooks.clear()

    def _watch_gradients(self) -> None:
        feeders = {w.site.feeder for w in self._watches if w.site.feeder is not None}
        step = self._step
        for name in feeders:
            weight = getattr(self._modules[name], "weight", None)
            if isinstance(weight, torch.Tensor) and weight.requires_grad:
                self._grad_hooks.append(weight.register_hook(self._norm_hook(step, name)))

    def _norm_hook(self, step: int, name: str) -> Callable[[torch.Tensor], None]:
        def hook(grad: torch.Tensor) -> None:
            self._norms.append((step, name, torch.linalg.vector_norm(grad.detach().float())))

        return hook

    def _flush(self) -> None:
        """Read the signals and gradient norms still on the device into records."""
        pending, self._pending = self._pending, []
        for step, indices, stats, subs in pending:
            values = stats.double().tolist()
            for col, (i, sub) in enumerate(zip(indices, subs, strict=True)):
                dead, saturated, mean, std = (values[row][col] for row in range(4))
                if not (math.isfinite(mean) and math.isfinite(std)):
                    continue  # a NaN/inf input: the output screen reports it
                record = LayerRecord(
                    step,
                    self._watches[i].site.name,
                    dead,
                    saturated,
                    mean,
                    std,
                    units=sub.units,
                    total_units=sub.total_units,
                    samples=sub.samples,
                    mean_se=sub.mean_se(std),
                )
                self._recording.records.append(record)
                self._by_key[(step, record.layer)] = record
        norms, self._norms = self._norms, []
        for step, feeder, norm in norms:  # after the records of their step
            value = float(norm)
            for w in self._watches:
                record = self._by_key.get((step, w.site.name))
                if w.site.feeder == feeder and record is not None and math.isfinite(value):
                    record.grad_norm = value

    # ---- NaN / inf screens -----------------------------------------------------------
    def _screen_output(self) -> None:
        """Screen the last training forward pass's output, if not done yet; locate the
        first non-finite value when it is not finite."""
        if self._unscreened is None:
            return
        args, kwargs, outputs = self._unscreened
        self._unscreened = None
        if (
            self._recording.non_finite is None
            and not _sums_finite(outputs)
            and not all(map(_finite, outputs))  # not just a sum that overflowed
        ):
            self._locate(args, kwargs)

    def _locate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """The model's output at this step is not finite: find where it started.

        The step's forward pass is run once more, in eval mode and without gradients (so
        that batch-norm statistics and dropout masks stay untouched), watching every
        activation site; the first non-finite activation input or output is reported. When
        all are finite there, the first linear/conv layer with non-finite weights is, else
        the last linear/conv layer's output.
        """
        modes = {m: m.training for m in self.model.modules()}
        self._seen = []
        self._locating = True
        names = [w.site.name for w in self._watches]

        def seen_input(i: int, x: torch.Tensor) -> None:
            self._seen.append((names[i], "input", _finite(x)))

        def seen_output(i: int, y: torch.Tensor) -> None:
            self._seen.append((names[i], "output", _finite(y)))

        saved = self._forward_hooks, self._routers
        self._forward_hooks, self._routers = [], []
        try:
            self._watch_sites(seen_input, seen_output)
            self.model.eval()
            with torch.no_grad():
                self.model(*args, **kwargs)
        except Exception:  # diagnosis must never break the user's training
            self._seen = []
        finally:
            self._remove_step_hooks()
            self._forward_hooks, self._routers = saved
            for m, mode in modes.items():
                m.training = mode
            self._locating = False
        seen, self._seen = self._seen, []
        bad = next(((name, where) for name, where, ok in seen if not ok), None)
        if bad is not None:
            self._note_non_finite(self._step, *bad)
            return
        for name, m in self._weights:
            if not all(_finite(p) for p in m.parameters(recurse=False)):
                self._note_non_finite(self._step, name, "weight")
                return
        last = self._weights[-1][0] if self._weights else "model"
        self._note_non_finite(self._step, last, "output")

    def _note_non_finite(self, step: int, layer: str, where: str) -> None:
        if self._recording.non_finite is None:
            self._recording.non_finite = NonFinite(step, layer, where)

    def _screen_hook(self, grad: torch.Tensor) -> None:
        """On the weight nearest the input: screen the step's output and this gradient.

        Usually the quick screen (:func:`_sums_finite`) of both is all this costs. Else
        the output is screened exactly first (a non-finite output usually makes the
        gradient non-finite too, and is the better report); when only the gradient is not
        finite, the first layer, in backward order, whose accumulated ``.grad`` is not
        finite is reported (this one when no other is)."""
        unscreened, self._unscreened = self._unscreened, None
        if unscreened is not None:
            if _sums_finite((grad, *unscreened[2])):
                return
            self._unscreened = unscreened
            self._screen_output()
        if self._recording.non_finite is not None or _sums_finite((grad,)):
            return
        if not _finite(grad):
            later = [(n, m.weight.grad) for n, m in reversed(self._weights[1:])]
            bad = next((n for n, g in later if g is not None and not _finite(g)), None)
            self._note_non_finite(self._step, bad or self._weights[0][0], "gradient")


def _layer_info(w: _Watch) -> LayerInfo:
    site = w.site
    label = site.spec
    if site.behaviour.kind == "unknown":
        what = type(w.module).__name__ if w.module is not None else f"{site.function}()"
        label = f"unknown elementwise ({what})"
    return LayerInfo(
        site.name,
        label,
        site.feeder,
        site.behaviour.bounded,
        site.role,
        site.where,
        site.damped_by,
    )


def monitor(model: nn.Module, every: int = DEFAULT_EVERY) -> Monitor:
    """A context manager watching ``model``'s activations every ``every`` training steps.

    See the module docstring for what counts as a step and what is recorded. Activations
    are found by what they compute, whether modules or functional calls in ``forward``;
    a model without any is still traced for ``linear_collapse``. Raises ``TypeError`` for a
    non-module, ``ValueError`` for ``every < 1``.
    """
    return Monitor(model, every)
