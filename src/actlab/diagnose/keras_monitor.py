"""``Monitor``: a Keras 3 callback recording the same signals and findings as the PyTorch
monitor, on whichever backend Keras runs (TensorFlow, JAX or PyTorch; Keras' own choice).

>>> mon = Monitor(x_probe, y_probe, every=10)                         # doctest: +SKIP
>>> model.fit(x, y, epochs=5, callbacks=[mon]); mon.summary(); mon.findings  # doctest: +SKIP

What is watched: every layer with a non-linear ``activation=`` (``Dense``, ``Conv1D`` /
``2D`` / ``3D``, separable and depthwise convolutions, ...) and every activation layer
(``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``PReLU``, ``Softmax``, ...). What each
computes is recognised by behaviour (:func:`actlab.backends.torch.recognize`), as for
PyTorch: Keras' own defaults (``leaky_relu``'s 0.2, ``gelu``'s exact form) are found, not
looked up. Elementwise ones are watched; softmax is listed as ``not elementwise``. When
nothing is watched, the findings and ``summary()`` say so.

How it differs from the PyTorch monitor:

* **Steps** are training batches, counted across epochs (the first batch is step 0).
* Every ``every``-th step, after that batch's update, the signals are computed on the fixed
  **probe batch** ``(x_probe, y_probe)`` in inference mode (dropout off): the
  pre-activation is the layer's output computed with a linear activation (or the input of
  an activation layer); the weight gradient norms are those of the compiled loss on the
  probe batch, not of the training batch.
* Every step, the weights are checked for NaN/inf before and after the batch, and the loss
  after it; the first non-finite weight (in layer order) or loss is reported with its step.
  Non-finite activations and gradients are also caught on the probe batch at sampled steps.
* Roles from the Keras layer graph: ``output`` when the layer's output reaches a model
  output through reshaping, dropout or normalisation layers only; ``gate`` when a bounded
  activation feeds a ``Multiply`` layer; ``hidden`` otherwise.
* ``linear_collapse``: a ``Dense`` / convolution layer with a linear activation feeding
  another through pass-through layers only (dropout, batch norm, flatten, reshape), unless
  the middle is narrower than both ends or a convolution is grouped / depthwise.

All backend-specific work (tensors, derivatives by the backend's own autodiff, the loss
gradient through a stateless call) is in :class:`actlab.diagnose.keras_ops.KerasOps`; the
signals are computed from its results by the same torch code on every backend, so one model
trained from the same weights gives the same findings on all three.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from actlab.backends.keras import keras
from actlab.backends.torch.recognize import Behaviour, grid, recognize
from actlab.diagnose.findings import SELU_INIT_TOLERANCE
from actlab.diagnose.keras_ops import KerasOps, numpy
from actlab.diagnose.monitor import DEFAULT_EVERY
from actlab.diagnose.records import (
    LayerInfo,
    LayerRecord,
    NonFinite,
    Recording,
    Structure,
)
from actlab.diagnose.results_view import RecordingResults

PASS_THROUGH = (
    keras.layers.Dropout,
    keras.layers.AlphaDropout,
    keras.layers.BatchNormalization,
    keras.layers.Flatten,
    keras.layers.Reshape,
)
"""Layers that do not count as a non-linearity between two weight layers."""


OPS = KerasOps


def _is_activation_layer(layer: keras.layers.Layer) -> bool:
    return type(layer).__module__.startswith("keras.src.layers.activations")


def _has_kernel(layer: keras.layers.Layer) -> bool:
    return any(hasattr(layer, k) for k in ("kernel", "depthwise_kernel"))


def _kernel(layer: keras.layers.Layer) -> Any:
    kernel = getattr(layer, "kernel", None)
    return kernel if kernel is not None else getattr(layer, "depthwise_kernel", None)


def _is_linear(fn: Any) -> bool:
    return fn is None or getattr(fn, "__name__", "") == "linear"


def _parents(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    nodes = getattr(layer, "_inbound_nodes", [])
    if len(nodes) != 1:
        return []
    return [p.operation for p in nodes[0].parent_nodes]


def _children(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    return [n.operation for n in getattr(layer, "_outbound_nodes", [])]


@dataclass
class _Watch:
    """One watched layer: what its activation computes, the function, its feeder, roles."""

    layer: keras.layers.Layer
    behaviour: Behaviour
    fn: Callable[[Any], Any]
    feeder: keras.layers.Layer | None
    role: str
    unit_axis: int


class Monitor(RecordingResults, keras.callbacks.Callback):
    """A callback recording per-layer signals of the model it is fitted with.

    ``x_probe`` / ``y_probe``: a fixed batch (arrays or tensors) the signals and gradients
    are computed on; ``every``: sample every ``every``-th training batch. Attributes as for
    the PyTorch monitor: :attr:`recording`, :attr:`records`, :attr:`findings`,
    :meth:`summary`, :meth:`report`; and :attr:`sites`: ``(layer, what it computes,
    role)`` of every activation found, watched or not.
    """

    def __init__(self, x_probe: Any, y_probe: Any, every: int = DEFAULT_EVERY) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.x_probe = OPS.tensor(np.asarray(x_probe, dtype=np.float32))
        self.y_probe = OPS.tensor(y_probe)
        rows = (int(self.x_probe.shape[0]), int(self.y_probe.shape[0]))
        if rows[0] != rows[1] or rows[0] == 0:
            raise ValueError(
                f"x_probe and y_probe need the same, non-zero number of rows, got "
                f"{rows[0]} and {rows[1]}"
            )
        self.every = every
        self.recording = Recording(framework="keras", every=every)
        self.sites: list[tuple[str, str, str]] = []
        self._step = -1
        self._watches: list[_Watch] = []
        self._weighted: list[keras.layers.Layer] = []
        self._inputs: keras.Model | None = None

    # ---- set-up ----------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        model = self.model
        if len(model.inputs) != 1:
            raise ValueError(
                f"the Keras monitor needs a single-input model, got {len(model.inputs)}"
            )
        self._weighted = [layer for layer in model.layers if layer.trainable_weights]
        outputs = {id(t) for t in model.outputs}
        self._watches, self.sites = [], []
        for layer in model.layers:
            found = self._site(layer, outputs)
            if found is None:
                continue
            self.sites.append((layer.name, found.behaviour.label, found.role))
            if found.behaviour.is_activation:
                self._watches.append(found)
        if self._watches:
            inputs = [w.layer.input for w in self._watches]
            self._inputs = keras.Model(model.inputs[0], inputs)
        self.recording.layers = [
            LayerInfo(
                w.layer.name,
                w.behaviour.label,
                w.feeder.name if w.feeder is not None else None,
                w.behaviour.bounded,
                w.role,
            )
            for w in self._watches
        ]
        self.recording.structure = self._structure()

    def _site(self, layer: keras.layers.Layer, outputs: set[int]) -> _Watch | None:
        """The activation of ``layer``, if it has one (see the module docstring)."""
        if _is_activation_layer(layer):
            fn: Callable[[Any], Any] = lambda x, layer=layer: layer(x, training=False)  # noqa: E731
            feeder = self._feeder(layer)
        elif _has_kernel(layer) and not _is_linear(getattr(layer, "activation", None)):
            fn, feeder = layer.activation, layer
        else:
            return None
        shape = (2, *tuple(d or 1 for d in layer.output.shape[1:]))
        learnable = bool(layer.trainable_weights) and _is_activation_layer(layer)
        behaviour = recognize(OPS.function(fn), shape, learnable=learnable, exact=True)
        if behaviour.kind == "unknown" and not math.isfinite(behaviour.max_derivative):
            # torch autograd cannot see through another backend: the backend's own.
            behaviour = replace(behaviour, max_derivative=_max_derivative(fn, shape))
        channels_first = getattr(layer, "data_format", "channels_last") == "channels_first"
        unit_axis = 1 if channels_first else len(shape) - 1
        return _Watch(
            layer, behaviour, fn, feeder, self._role(layer, behaviour, outputs), unit_axis
        )

    @staticmethod
    def _feeder(layer: keras.layers.Layer) -> keras.layers.Layer | None:
        """The weight layer before an activation layer, through pass-through layers."""
        current = layer
        while True:
            parents = _parents(current)
            if len(parents) != 1:
                return None
            current = parents[0]
            if _has_kernel(current):
                return current
            if not isinstance(current, PASS_THROUGH):
                return None

    @staticmethod
    def _role(layer: keras.layers.Layer, behaviour: Behaviour, outputs: set[int]) -> str:
        frontier, reaches_output, ends = [layer], False, []
        while frontier:
            current = frontier.pop()
            reaches_output |= id(current.output) in outputs
            for child in _children(current):
                (frontier if isinstance(child, PASS_THROUGH) else ends).append(child)
        if reaches_output and not ends:
            return "output"
        if behaviour.bounded and any(isinstance(e, keras.layers.Multiply) for e in ends):
            return "gate"
        return "hidden"

    def _structure(self) -> Structure:
        pairs, sizes = [], {}
        for layer in self.model.layers:
            if not _has_kernel(layer):
                continue
            current = layer
            first = None
            while True:
                parents = _parents(current)
                if len(parents) != 1:
                    break
                current = parents[0]
                if _has_kernel(current):
                    first = current
                    break
                if not isinstance(current, PASS_THROUGH):
                    break
            if first is None or not _is_linear(getattr(first, "activation", None)):
                continue
            widths = _widths(first, layer)
            if widths is None:
                continue
            (n_in, mid, n_out), grouped = widths
            if grouped or mid < min(n_in, n_out):
                continue  # a deliberate bottleneck or separable convolution
            pairs.append((first.name, layer.name))
            sizes[(first.name, layer.name)] = (n_in, mid, n_out)
        selu = [w for w in self._watches if w.behaviour.label == "selu"]
        if not selu:
            return Structure(linear_pairs=tuple(pairs), pair_sizes=sizes)
        bad_init = {}
        for w in selu:
            if w.feeder is None:
                continue
            kernel = numpy(_kernel(w.feeder)).astype(np.float64)
            scale = float(kernel.std()) * math.sqrt(math.prod(kernel.shape[:-1]))
            init = getattr(w.feeder, "kernel_initializer", None)
            if not _is_lecun_normal(init) or abs(scale - 1) > SELU_INIT_TOLERANCE:
                bad_init[w.layer.name] = (
                    f"kernel_initializer {type(init).__name__}, std(W)*sqrt(fan_in) = {scale:.2f}"
                )
        layers = self.model.layers
        return Structure(
            linear_pairs=tuple(pairs),
            pair_sizes=sizes,
            selu_bad_init=bad_init,
            plain_dropout=tuple(
                la.name
                for la in layers
                if isinstance(la, keras.layers.Dropout)
                and not isinstance(la, keras.layers.AlphaDropout)
            ),
            batchnorm=tuple(
                la.name for la in layers if isinstance(la, keras.layers.BatchNormalization)
            ),
        )

    # ---- per batch -------------------------------------------------------------------
    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._sync()
        self._step += 1
        self.recording.steps = self._step + 1
        if self.recording.non_finite is None:
            self._check_weights()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._sync()
        if self.recording.non_finite is None and not self._check_weights():
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self._note("loss", "output")
        if self._step % self.every == 0:
            self._sample()

    def _sync(self) -> None:
        """On JAX, ``fit`` keeps the model's state outside its variables between syncs;
        reading ``Callback.model`` writes it back (a no-op on the other backends)."""
        _ = self.model

    def _note(self, layer: str, where: str) -> None:
        if self.recording.non_finite is None:
            self.recording.non_finite = NonFinite(self._step, layer, where)

    def _check_weights(self) -> bool:
        """Note the first layer (in layer order) with a non-finite weight; checked before
        each step (weights changed from outside, e.g. by another callback) and after it
        (the update). Returns whether one was found."""
        for layer in self._weighted:
            if not all(OPS.finite(w.value) for w in layer.trainable_weights):
                self._note(layer.name, "weight")
                return True
        return False

    def _sample(self) -> None:
        if not self._watches:
            return
        assert self._inputs is not None
        inputs = self._inputs(self.x_probe, training=False)
        if not isinstance(inputs, (list, tuple)):  # a model with one output returns it bare
            inputs = [inputs]
        feeders = [w.feeder for w in self._watches]
        kernels = [_kernel(f) for f in feeders if f is not None]
        norms = iter(OPS.loss_gradient_norms(self.model, self.x_probe, self.y_probe, kernels))
        for w, inp in zip(self._watches, inputs, strict=True):
            norm = next(norms) if w.feeder is not None else None
            if norm is not None and not math.isfinite(norm):
                self._note(w.feeder.name, "gradient")  # type: ignore[union-attr]
                norm = None
            z = self._pre_activation(w, inp)
            if not OPS.finite(z):
                self._note(w.layer.name, "input")
                continue
            a, d = OPS.value_and_derivative(w.fn, z)
            if not OPS.finite(a):
                self._note(w.layer.name, "output")
                continue
            (dead, saturated, mean, std), sub = OPS.signals(
                a, d, w.unit_axis, w.behaviour.max_derivative
            )
            self.recording.records.append(
                LayerRecord(
                    self._step,
                    w.layer.name,
                    dead,
                    saturated,
                    mean,
                    std,
                    norm,
                    units=sub.units,
                    total_units=sub.total_units,
                    samples=sub.samples,
                    mean_se=sub.mean_se(std),
                )
            )

    @staticmethod
    def _pre_activation(w: _Watch, inp: Any) -> Any:
        """The layer's input for an activation layer; else the layer's output with its
        activation set to linear for the call."""
        if _is_activation_layer(w.layer):
            return inp
        saved = w.layer.activation
        w.layer.activation = keras.activations.linear
        try:
            return w.layer(inp, training=False)
        finally:
            w.layer.activation = saved


def _widths(
    first: keras.layers.Layer, second: keras.layers.Layer
) -> tuple[tuple[int, int, int], bool] | None:
    """``((in, middle, out), grouped)`` of two Dense / convolution layers."""
    try:
        n_in = int(first.input.shape[-1])
        mid = int(first.output.shape[-1])
        n_out = int(second.output.shape[-1])
    except (TypeError, ValueError, AttributeError):
        return None
    grouped = any(
        getattr(layer, "groups", 1) > 1 or hasattr(layer, "depthwise_kernel")
        for layer in (first, second)
    )
    return (n_in, mid, n_out), grouped


def _is_lecun_normal(initializer: Any) -> bool:
    return (
        isinstance(initializer, keras.initializers.VarianceScaling)
        and abs(initializer.scale - 1.0) < 1e-12
        and initializer.mode == "fan_in"
        and "normal" in initializer.distribution
    )


def _max_derivative(fn: Callable[[Any], Any], shape: tuple[int, ...]) -> float:
    """``max |f'|`` of an elementwise ``fn`` on the recognition grid laid out in ``shape``
    (its leading dimension grown to hold the grid), by the backend's own autodiff."""
    values = grid()
    rest = math.prod(shape[1:])
    z = np.resize(values, (math.ceil(values.size / rest) * rest,)).reshape(-1, *shape[1:])
    _, d = OPS.value_and_derivative(fn, OPS.tensor(z))
    return float(np.max(np.abs(numpy(d))))
