"""``Monitor``: a Keras 3 callback recording the same signals and findings as the PyTorch
monitor (Keras runs on its torch backend; importing this module selects it unless the
environment names another backend, which is then an error).

>>> mon = Monitor(x_probe, y_probe, every=10)                         # doctest: +SKIP
>>> model.fit(x, y, epochs=5, callbacks=[mon]); mon.summary(); mon.findings  # doctest: +SKIP

What is recorded, and how it differs from the PyTorch monitor:

* **Steps** are training batches, counted across epochs (the first batch is step 0).
* The watched layers are the ``Dense`` layers with a non-linear ``activation``; the
  pre-activation is ``x @ kernel + bias`` from the layer's input.
* Every ``every``-th step, after that batch's update, the signals are computed on the fixed
  **probe batch** ``(x_probe, y_probe)`` in inference mode (dropout off), and the weight
  gradient norms are those of the compiled loss on the probe batch (by torch autograd),
  not of the training batch.
* Every step, the ``Dense`` weights are checked for NaN/inf before and after the batch, and
  the loss after it; the first non-finite weight (in layer order) or loss is reported with
  its step. Non-finite
  activations and gradients are also caught on the probe batch at sampled steps.
* ``linear_collapse`` is detected in ``keras.Sequential`` models (consecutive ``Dense``
  layers, the first without activation, with only dropout, batch norm, flatten or reshape
  layers between them).
"""

from __future__ import annotations

import os
import sys
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
_ALREADY = "keras" in sys.modules

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

if keras.backend.backend() != "torch":  # pragma: no cover - depends on the environment
    raise ImportError(
        "actlab's Keras monitor needs Keras' torch backend, but Keras "
        f"{'was imported before it' if _ALREADY else 'was configured'} with backend "
        f"{keras.backend.backend()!r}; set KERAS_BACKEND=torch before importing keras"
    )

import actlab  # noqa: E402
from actlab.diagnose.findings import SELU_INIT_TOLERANCE  # noqa: E402
from actlab.diagnose.monitor import DEFAULT_EVERY  # noqa: E402
from actlab.diagnose.records import (  # noqa: E402
    LayerInfo,
    LayerRecord,
    NonFinite,
    Recording,
    Structure,
    layer_signals,
)
from actlab.diagnose.results_view import RecordingResults  # noqa: E402
from actlab.diagnose.torch_layers import ActivationMath  # noqa: E402

KERAS_TO_CATALOG = {
    "relu": "relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "selu": "selu",
    "elu": "elu",
    "celu": "celu",
    "gelu": "gelu",
    "silu": "silu",
    "swish": "silu",
    "softplus": "softplus",
    "softsign": "softsign",
    "mish": "mish",
    "relu6": "relu6",
    "hard_sigmoid": "hard_sigmoid",
    "hard_silu": "hard_swish",
    "hard_swish": "hard_swish",
    "leaky_relu": "leaky_relu(alpha=0.2)",
    "log_sigmoid": "log_sigmoid",
}
"""Keras activation functions (by ``__name__``) and the catalog entry computing the same
function with Keras' defaults (``keras.activations.leaky_relu`` has slope 0.2, ``gelu`` is
exact). Others are differentiated by autograd."""

_NOT_WATCHED = frozenset({"linear", "softmax", "log_softmax"})

_PASS_THROUGH = (
    keras.layers.Dropout,
    keras.layers.AlphaDropout,
    keras.layers.BatchNormalization,
    keras.layers.Flatten,
    keras.layers.Reshape,
)


def _activation_math(layer: keras.layers.Dense) -> ActivationMath | None:
    """The math of a Dense layer's activation; ``None`` for a linear one and for the
    normalizing output functions (softmax, log_softmax), which are not elementwise."""
    fn = layer.activation
    catalog = getattr(fn, "activation", None)
    name = getattr(fn, "__name__", type(fn).__name__)
    if name in _NOT_WATCHED or (isinstance(catalog, actlab.Activation) and catalog.is_vector):
        return None
    if not isinstance(catalog, actlab.Activation):
        spec = KERAS_TO_CATALOG.get(name)
        catalog = actlab.get(spec) if spec else None
    return ActivationMath(fn, catalog, name)


def _is_lecun_normal(initializer: Any) -> bool:
    return (
        isinstance(initializer, keras.initializers.VarianceScaling)
        and abs(initializer.scale - 1.0) < 1e-12
        and initializer.mode == "fan_in"
        and "normal" in initializer.distribution
    )


class Monitor(RecordingResults, keras.callbacks.Callback):
    """A callback recording per-layer signals of the model it is fitted with.

    ``x_probe`` / ``y_probe``: a fixed batch (arrays or tensors) the signals and gradients
    are computed on; ``every``: sample every ``every``-th training batch. Attributes as for
    the PyTorch monitor: :attr:`recording`, :attr:`records`, :attr:`findings`,
    :meth:`summary`, :meth:`report`.
    """

    def __init__(self, x_probe: Any, y_probe: Any, every: int = DEFAULT_EVERY) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.x_probe = torch.as_tensor(np.asarray(x_probe), dtype=torch.float32)
        self.y_probe = torch.as_tensor(np.asarray(y_probe))
        if len(self.x_probe) != len(self.y_probe) or len(self.x_probe) == 0:
            raise ValueError(
                f"x_probe and y_probe need the same, non-zero number of rows, got "
                f"{len(self.x_probe)} and {len(self.y_probe)}"
            )
        self.every = every
        self.recording = Recording(framework="keras", every=every)
        self._step = -1
        self._dense: list[keras.layers.Dense] = []
        self._math: dict[str, ActivationMath] = {}
        self._features: keras.Model | None = None

    # ---- set-up ----------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        model = self.model
        if len(model.inputs) != 1:
            raise ValueError(
                f"the Keras monitor needs a single-input model, got {len(model.inputs)}"
            )
        self._dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        if not self._dense:
            raise ValueError(f"model {model.name!r} has no Dense layer to monitor")
        self._features = keras.Model(model.inputs[0], [layer.input for layer in self._dense])
        maths = {layer.name: _activation_math(layer) for layer in self._dense}
        self._math = {name: m for name, m in maths.items() if m is not None}
        self.recording.layers = [
            LayerInfo(name, m.name, name, m.bounded) for name, m in self._math.items()
        ]
        self.recording.structure = self._structure()

    def _structure(self) -> Structure:
        pairs: list[tuple[str, str]] = []
        if isinstance(self.model, keras.Sequential):
            previous: str | None = None
            for layer in self.model.layers:
                if isinstance(layer, keras.layers.Dense):
                    if previous is not None:
                        pairs.append((previous, layer.name))
                    previous = None if layer.name in self._math else layer.name
                elif not isinstance(layer, _PASS_THROUGH):
                    previous = None
        selu = [
            layer
            for layer in self._dense
            if (m := self._math.get(layer.name)) and m.catalog and m.catalog.name == "selu"
        ]
        if not selu:
            return Structure(linear_pairs=tuple(pairs))
        bad_init = {}
        for layer in selu:
            kernel = layer.kernel.value.detach()
            scale = float(kernel.std()) * float(np.sqrt(kernel.shape[0]))
            if (
                not _is_lecun_normal(layer.kernel_initializer)
                or abs(scale - 1) > SELU_INIT_TOLERANCE
            ):
                bad_init[layer.name] = (
                    f"kernel_initializer {type(layer.kernel_initializer).__name__}, "
                    f"std(W)*sqrt(fan_in) = {scale:.2f}"
                )
        layers = self.model.layers
        return Structure(
            linear_pairs=tuple(pairs),
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
        self._step += 1
        self.recording.steps = self._step + 1
        if self.recording.non_finite is None:
            self._check_weights()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.recording.non_finite is None and not self._check_weights():
            loss = (logs or {}).get("loss")
            if loss is not None and not np.isfinite(float(loss)):
                self._note("loss", "output")
        if self._step % self.every == 0:
            self._sample()

    def _note(self, layer: str, where: str) -> None:
        if self.recording.non_finite is None:
            self.recording.non_finite = NonFinite(self._step, layer, where)

    def _check_weights(self) -> bool:
        """Note the first Dense layer (in layer order) with a non-finite weight; checked
        before each step (weights changed from outside, e.g. by another callback) and after
        it (the update). Returns whether one was found."""
        for layer in self._dense:
            if not all(bool(torch.isfinite(w.value).all()) for w in layer.trainable_weights):
                self._note(layer.name, "weight")
                return True
        return False

    def _sample(self) -> None:
        assert self._features is not None
        kernels = [layer.kernel.value for layer in self._dense]
        with torch.enable_grad():
            inputs = self._features(self.x_probe)
            y_pred = self.model(self.x_probe, training=False)
            loss = self.model.compute_loss(x=self.x_probe, y=self.y_probe, y_pred=y_pred)
            grads = torch.autograd.grad(loss, kernels, allow_unused=True)
        for layer, inp, grad in zip(self._dense, inputs, grads, strict=True):
            math_ = self._math.get(layer.name)
            if grad is not None and not bool(torch.isfinite(grad).all()):
                self._note(layer.name, "gradient")
            if math_ is None:
                continue
            with torch.no_grad():
                pre = torch.matmul(inp.detach(), layer.kernel.value)
                if layer.use_bias:
                    pre = pre + layer.bias.value
                post = math_.fn(pre)
            if not bool(torch.isfinite(pre).all()):
                self._note(layer.name, "input")
                continue
            if not bool(torch.isfinite(post).all()):
                self._note(layer.name, "output")
                continue
            dead, saturated, mean, std = layer_signals(
                np.asarray(post.detach().cpu().numpy(), dtype=np.float32),
                math_.derivative(pre),
                math_.max_derivative,
                pre.ndim - 1,
            )
            norm = (
                None if grad is None or not bool(torch.isfinite(grad).all()) else float(grad.norm())
            )
            self.recording.records.append(
                LayerRecord(self._step, layer.name, dead, saturated, mean, std, norm)
            )
