"""A user's own network as a stack: every candidate (activation x seed) in one model.

Building (:meth:`UserModel.build`), before anything is trained or written:

1. **Initial weights, per seed** (:func:`build_model`): a factory is called under
   ``torch.manual_seed(seed)`` (then ``init=``, when given); an instance is copied and
   re-initialised under the seed by its own ``init=`` callable, or as it was built: each
   layer's ``reset_parameters``, then the Hugging Face ``_init_weights`` of any
   ``PreTrainedModel`` inside it (also inside a wrapper). An instance with neither loses
   any init of its own (:func:`init_policy` says so, and the run records it).
   Every activation of seed ``s`` starts from seed ``s``'s weights (paired design).
2. **One template** with a :class:`~actlab.engine.selector.Selector` at every activation
   site that :func:`actlab.torch.swap_activations` selects (found by what it computes,
   modules and functional calls alike; the ``hidden`` role: gates and output squashes
   are left, and the stack records what was left and why); parameters and buffers
   stacked to ``[M, ...]`` from each candidate's seed. A learnable activation's own
   parameters (prelu's slope, ...) are the stack's, one set per selector
   (:mod:`actlab.engine.activations`), as the swapped-in torch modules would hold them.
3. **Checks**, each a one-line ``ValueError`` naming the problem, before the swap: the
   model takes the data (the data's own sample shape; a flat row of an image data set is
   tried as the image ``(C, H, W)`` first), returns a tensor, and outputs
   ``[B, n_outputs]``; then it has an activation to swap.
4. **vmap or not**: one vmapped forward and backward on two samples (on copies of the
   buffers) must run and give the model's own outputs; a model that fails (data-dependent
   Python control flow, ``.item()``, in-place writes to unbatched tensors) runs its
   candidates one at a time instead, with the same results, and the reason is recorded.
   Under vmap the plain ``nn.Linear`` layers compute their weight gradient in the layout
   CPU kernels are fast on (:mod:`actlab.engine.vmap_linear`), and the plain
   ``nn.Conv1d/2d/3d`` run as one grouped convolution with the bias fused that leaves the
   candidates in the layout the next layer reads without a copy
   (:mod:`actlab.engine.vmap_conv`).

Under vmap (``randomness="different"``) batch norm keeps running statistics per
candidate and its eval mode uses them, as each model alone would. Dropout draws its masks
independently per candidate (not the masks a model alone would draw: such runs match a
lone run in distribution, not bit for bit).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from actlab.backends.torch import swap_activations
from actlab.engine.candidates import Candidate
from actlab.engine.selector import Layout, Selector
from actlab.engine.stack import Captured, Stack, Training
from actlab.engine.vmap_conv import use_stacked_conv
from actlab.engine.vmap_linear import use_stacked_linear

ModelSource = nn.Module | Callable[[], nn.Module]
InitFn = Callable[[nn.Module], Any]


def init_owners(net: nn.Module) -> list[nn.Module]:
    """The modules of ``net`` with their own ``_init_weights(module)`` (Hugging Face
    ``PreTrainedModel`` modules, wherever they sit in a wrapper), outermost first."""
    return [m for m in net.modules() if callable(getattr(m, "_init_weights", None))]


def init_policy(source: ModelSource, init: InitFn | None = None) -> str:
    """How each seed's initial weights are made (recorded in the run; see the module
    docstring)."""
    if not isinstance(source, nn.Module):
        then = ", then the init= callable" if init is not None else ""
        return f"the model factory, called under each seed{then}"
    if init is not None:
        return "the instance re-initialised under each seed by the init= callable"
    owners = [type(m).__name__ for m in init_owners(source)]
    if owners:
        return (
            "the instance re-initialised under each seed as it was built: each layer's "
            f"reset_parameters, then its own _init_weights ({', '.join(dict.fromkeys(owners))})"
        )
    return (
        "the instance re-initialised under each seed by each layer's reset_parameters "
        "(PyTorch's defaults; the instance's own initialisation is not kept: pass a "
        "factory or init= to keep it)"
    )


def build_model(source: ModelSource, seed: int, init: InitFn | None = None) -> nn.Module:
    """Seed ``seed``'s model (see :func:`init_policy`); the caller's global RNG state is
    left as it was. An instance without ``init=`` is re-initialised the way it was built:
    every layer's ``reset_parameters`` (what its constructor ran), then each
    :func:`init_owners` module's ``_init_weights`` over its own submodules, inner owners
    after outer ones (Hugging Face's ``post_init``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if not isinstance(source, nn.Module):
            net = source()
            if not isinstance(net, nn.Module):
                raise TypeError(
                    f"the model factory must return an nn.Module, got {type(net).__name__}"
                )
            if init is not None:
                init(net)
            return net
        net = copy.deepcopy(source)
        if init is not None:
            init(net)
            return net
        with torch.no_grad():
            for module in net.modules():
                reset = getattr(module, "reset_parameters", None)
                if callable(reset):
                    reset()
            for owner in init_owners(net):
                owner.apply(owner._init_weights)
        return net


_NO_RULE = re.compile(r"batching rule for (\S+?)\.? ")
"""torch's warning for an operation vmap runs as a loop (no batching rule)."""


class ModelMismatch(ValueError):
    """The user's model does not fit the task (one line naming the problem)."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def canonical(t: torch.Tensor, unit_axis: int) -> torch.Tensor:
    """``[M, B, *rest]`` in the probe layout ``[M, B, units, positions]``; ``unit_axis`` is
    the axis of units in a single model's ``[B, *rest]`` (0: no unit axis, one unit)."""
    m, b = t.shape[0], t.shape[1]
    if unit_axis < 1 or t.dim() < 3:
        return t.reshape(m, b, 1, -1)
    moved = t.movedim(unit_axis + 1, 2)
    return moved.reshape(m, b, moved.shape[2], -1)


def input_shape(model: nn.Module, data: Any) -> tuple[int, ...]:
    """The sample shape ``model`` takes (the data's own; for flat rows of an image data set
    the image first), checked to map two samples to ``[2, n_outputs]``. Raises
    :class:`ModelMismatch` (one line) when none fits."""
    x = data.train[0][:2]
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), x.dtype)
    x = x.to(dtype) if x.is_floating_point() else x
    shapes = [tuple(x.shape[1:])]
    if data.image_shape is not None and x.dim() == 2:
        shapes.insert(0, tuple(data.image_shape))
    problem = None
    was_training = model.training
    model.eval()
    try:
        for shape in shapes:
            try:
                with torch.no_grad():
                    out = model(x.reshape(x.shape[0], *shape))
            except Exception as exc:  # the user's model: any error is "does not fit"
                problem = problem or exc
                continue
            _check_output(out, data, shape)
            return shape
    finally:
        model.train(was_training)
    assert problem is not None
    tried = " or ".join(str(list(s)) for s in shapes)
    raise ModelMismatch(f"the model cannot take samples of shape {tried}: {_one_line(problem)}")


def _check_output(out: Any, data: Any, shape: tuple[int, ...]) -> None:
    if not isinstance(out, torch.Tensor):
        raise ModelMismatch(
            f"the model returned {type(out).__name__}, not a tensor: wrap it so that "
            "forward returns the logits (classification) or predictions (regression)"
        )
    want = (2, data.n_outputs)
    if tuple(out.shape) != want:
        what = (
            f"{data.n_outputs} class scores"
            if data.task == "classification"
            else f"{data.n_outputs} regression output(s)"
        )
        raise ModelMismatch(
            f"the model maps 2 samples of shape {list(shape)} to shape "
            f"{list(out.shape)}, but the task needs {list(want)} ({what} per sample)"
        )


@dataclass
class UserModel:
    """A user's network as the trainer's source of stacks (see the module docstring).

    ``source``: an ``nn.Module`` or a zero-argument factory returning one. ``init``: a
    callable re-initialising an instance in place (under each seed). ``vectorize``:
    ``False`` runs the candidates one at a time even where vmap would work."""

    source: ModelSource
    init: InitFn | None = None
    vectorize: bool = True

    @property
    def policy(self) -> str:
        return init_policy(self.source, self.init)

    @property
    def name(self) -> str:
        source = self.source
        if isinstance(source, nn.Module):
            return type(source).__name__
        return getattr(source, "__qualname__", type(source).__name__)

    def describe(self) -> dict[str, str]:
        """What a run records about the model (config.json ``user_model``)."""
        kind = "instance" if isinstance(self.source, nn.Module) else "factory"
        return {"name": self.name, "source": kind, "init": self.policy}

    def build(self, candidates: Sequence[Candidate], data: Any, config: Any) -> list[Stack]:
        bases: dict[int, nn.Module] = {}
        for c in candidates:
            if c.seed not in bases:
                bases[c.seed] = build_model(self.source, c.seed, self.init)
        return [UserStack(candidates, bases, data, config, self.vectorize)]


class UserStack(Stack):
    """``M`` candidates of one user model (see the module docstring)."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        bases: dict[int, nn.Module],
        data: Any,
        config: Any,
        vectorize: bool = True,
    ) -> None:
        super().__init__(candidates)
        device = torch.device(config.device)
        self.layout = Layout(self.activations)
        base = bases[self.candidates[0].seed]
        self.input_shape = input_shape(base, data)
        x = data.train[0][:2]
        template = copy.deepcopy(base)
        dtype = next((p.dtype for p in base.parameters() if p.is_floating_point()), x.dtype)
        example = x.reshape(2, *self.input_shape)
        example = example.to(dtype) if example.is_floating_point() else example
        self.swap = swap_activations(
            template, lambda site: Selector(self.layout, site.name), example=example
        )
        self._site_info = {site.name: (site.feeder, site.unit_axis) for site in self.swap.sites}
        self.template = template.to(device)
        self.param_names, self.buffer_names = self._stack_state(bases, device)
        self.dtype = next(
            (p.dtype for p in self.params if p.is_floating_point()), torch.get_default_dtype()
        )
        owners = [r.name for r in self.swap.replaced]
        self.activations.learn(owners, self.dtype, device)
        self.layout.owners = {name: i for i, name in enumerate(owners)}
        self.unbatched_ops: tuple[str, ...] = ()
        self.reason = self._vmap_choice(data) if vectorize else "vectorize=False"
        self.vectorized = self.reason is None
        self.layout.one_at_a_time = not self.vectorized
        self._vmapped = torch.func.vmap(self._call, randomness="different")
        self._sites = self._probe_sites(data)

    # -- building ---------------------------------------------------------------------

    def _stack_state(
        self, bases: dict[int, nn.Module], device: torch.device
    ) -> tuple[list[str], list[str]]:
        """Stack every candidate's seed's parameters and buffers to ``[M, ...]``; the
        template's own are dropped (``functional_call`` supplies them)."""
        own = dict(self.template.named_parameters())
        shapes = {n: tuple(p.shape) for n, p in own.items()}
        for seed, base in bases.items():
            theirs = {n: tuple(p.shape) for n, p in base.named_parameters() if n in own}
            if theirs != shapes:
                raise ModelMismatch(
                    f"the model factory built different parameters for seed {seed}: "
                    "every seed must build the same architecture"
                )
        trainable = [n for n, p in own.items() if p.requires_grad]
        self.frozen = {
            n: torch.stack([bases[c.seed].get_parameter(n).detach() for c in self.candidates]).to(
                device
            )
            for n, p in own.items()
            if not p.requires_grad
        }
        self.params = [
            torch.stack([bases[c.seed].get_parameter(n).detach() for c in self.candidates])
            .to(device)
            .requires_grad_(True)
            for n in trainable
        ]
        buffer_names = [n for n, _ in self.template.named_buffers()]
        self.buffers = [
            torch.stack([bases[c.seed].get_buffer(n).detach() for c in self.candidates])
            .to(device)
            .clone()
            for n in buffer_names
        ]
        return trainable, buffer_names

    def _state(
        self, index: int | None = None, buffers: list[torch.Tensor] | None = None
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """``(parameters, buffers)`` by name: stacked, or candidate ``index``'s slices."""
        params = dict(zip(self.param_names, self.params, strict=True)) | self.frozen
        bufs = dict(zip(self.buffer_names, buffers or self.buffers, strict=True))
        if index is None:
            return params, bufs
        return {n: t[index] for n, t in params.items()}, {n: t[index] for n, t in bufs.items()}

    def _call(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor
    ) -> torch.Tensor:
        out = torch.func.functional_call(self.template, (params, buffers), (x,))
        if not isinstance(out, torch.Tensor):
            raise ModelMismatch(
                f"the model returned {type(out).__name__}, not a tensor: wrap it so that "
                "forward returns the logits (classification) or predictions (regression)"
            )
        return out

    def _alone(self, index: int, x: torch.Tensor, buffers: list[torch.Tensor] | None = None):
        self.layout.current = index
        params, bufs = self._state(index, buffers)
        return self._call(params, bufs, x)

    def _cast(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.dtype) if x.is_floating_point() and x.dtype != self.dtype else x

    def _vmap_choice(self, data: Any) -> str | None:
        """``None`` when the stack can run under vmap, with its linear and convolution
        layers as :class:`~actlab.engine.vmap_linear.StackedLinear` and
        :class:`~actlab.engine.vmap_conv.StackedConv` where that works too; else why it
        cannot (the stack then runs its candidates one at a time, plain layers)."""
        if use_stacked_linear(self.template) + use_stacked_conv(self.template):
            if self._vmap_problem(data) is None:
                return None
            use_stacked_linear(self.template, on=False)
            use_stacked_conv(self.template, on=False)
        return self._vmap_problem(data)

    def _vmap_problem(self, data: Any) -> str | None:
        """``None`` when a vmapped training step runs and agrees with the model's own
        outputs, else why not (on two samples, buffers copied)."""
        x = self._cast(data.train[0][:2].reshape(2, *self.input_shape))
        xs = x.expand(len(self), *x.shape)
        vmapped = torch.func.vmap(self._call, randomness="different")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = vmapped(*self._state(None, [b.clone() for b in self.buffers]), xs)
                torch.autograd.grad(out.sum(), self.params, allow_unused=True)
            except Exception as exc:  # any failure under vmap means: run one at a time
                return f"torch.func.vmap cannot run the model ({_one_line(exc)})"
            self.template.eval()
            try:
                with torch.no_grad():
                    batched = vmapped(*self._state(), xs)
                    alone = torch.stack([self._alone(i, x) for i in range(len(self))])
                # the probes' pass: eval mode with gradients (a fused eval-only kernel,
                # e.g. nn.MultiheadAttention's fast path, may have no derivative)
                probed = vmapped(*self._state(), xs)
                torch.autograd.grad(probed.sum(), self.params, allow_unused=True)
            except Exception as exc:
                return f"torch.func.vmap cannot run the model in eval mode ({_one_line(exc)})"
            finally:
                self.template.train()
        found = (_NO_RULE.search(str(w.message)) for w in caught)
        self.unbatched_ops = tuple(sorted({m.group(1) for m in found if m}))
        if not torch.allclose(batched, alone, rtol=1e-3, atol=1e-4):
            gap = float((batched - alone).abs().max())
            return f"vmapped outputs differ from the model's own by up to {gap:.3g}"
        return None

    def _probe_sites(self, data: Any) -> list[tuple[str, torch.Tensor | None, int]]:
        """The sites in call order (a module called ``k`` times per forward is ``k`` sites,
        ``name#0``, ``name#1``, ...): name, the feeding layer's stacked weight (the feeder
        :func:`actlab.torch.swap_activations` traced), the axis of its units."""
        x = self._cast(data.train[0][:2])
        self.template.eval()
        try:
            with torch.no_grad():
                _, captured = self._forward(x.expand(len(self), *x.shape), capture=True)
        finally:
            self.template.train()
        weights = dict(zip(self.param_names, self.params, strict=True))
        self._site_owners = [self.layout.owners[name] for name, _, _ in captured]
        calls: dict[str, int] = {}
        for name, _, _ in captured:
            calls[name] = calls.get(name, 0) + 1
        sites, seen = [], dict.fromkeys(calls, 0)
        for name, _, _ in captured:
            feeder, unit_axis = self._site_info.get(name, (None, 1))
            label = name if calls[name] == 1 else f"{name}#{seen[name]}"
            seen[name] += 1
            sites.append((label, weights.get(f"{feeder}.weight"), unit_axis))
        if not sites:
            raise ModelMismatch(
                "the model never calls its activation modules in forward(); nothing to compare"
            )
        self._widest = max(z[0, 0].numel() for _, z, _ in captured)
        return sites

    # -- the Stack interface ----------------------------------------------------------------

    def train(self, mode: bool = True) -> None:
        self.template.train(mode)

    def _forward(
        self, x: torch.Tensor, capture: bool
    ) -> tuple[torch.Tensor, list[tuple[str, torch.Tensor, torch.Tensor]]]:
        x = self._cast(x.reshape(x.shape[0], x.shape[1], *self.input_shape))
        self.layout.captured = [] if capture else None
        try:
            if self.vectorized:
                return self._vmapped(*self._state(), x), self.layout.captured or []
            outs, per_candidate = [], []
            for i in range(len(self)):
                self.layout.captured = [] if capture else None
                outs.append(self._alone(i, x[i]))
                per_candidate.append(self.layout.captured or [])
            captured = [
                (calls[0][0], torch.cat([c[1] for c in calls]), torch.cat([c[2] for c in calls]))
                for calls in zip(*per_candidate, strict=True)
            ]
            return torch.stack(outs), captured
        finally:
            self.layout.captured = None

    def forward(
        self, x: torch.Tensor, capture: bool = False
    ) -> tuple[torch.Tensor, list[Captured]]:
        out, captured = self._forward(x, capture)
        if not capture:
            return out, []
        sites = [
            (canonical(z, unit_axis), canonical(a, unit_axis))
            for (_, z, a), (_, _, unit_axis) in zip(captured, self._sites, strict=True)
        ]
        return out, sites

    def site_weights(self) -> list[torch.Tensor | None]:
        return [weight for _, weight, _ in self._sites]

    @property
    def site_names(self) -> list[str]:
        return [name for name, _, _ in self._sites]

    @property
    def values_per_sample(self) -> int:
        return self._widest

    def training(self) -> Training:
        return Training(
            "vmap" if self.vectorized else "one at a time",
            len(self),
            tuple(s.activation.spec for s in self.slices),
            self.reason,
            self.unbatched_ops,
        )

    def site_owner(self, site: int) -> int:
        """The selector (replaced activation) that probe site ``site`` calls."""
        return self._site_owners[site]

    def signature(self) -> list[tuple[str, tuple[int, ...]]]:
        own = [(n, tuple(p.shape[1:])) for n, p in zip(self.param_names, self.params, strict=True)]
        return own + self.activations.signature()
