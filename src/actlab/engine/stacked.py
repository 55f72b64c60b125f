"""Stacked models: ``M`` independent networks (one per candidate) evaluated as one.

Every parameter carries a leading candidate axis ``M``. Dense layers are batched matmuls,
``z[m] = x[m] @ W[m] + b[m]`` (``torch.baddbmm``, ``W`` shaped ``[M, in, out]``);
convolutions are one grouped convolution with ``groups = M`` (candidate ``m`` owns input
channels ``[m*C_in, (m+1)*C_in)`` and output channels ``[m*C_out, (m+1)*C_out)``). Each
activation is applied once per layer to its contiguous slice of candidates; no operation
mixes two candidates, so candidate ``m``'s outputs and gradients depend on its own
parameters only. A learnable activation (prelu, star_relu, xielu, snake) learns its
parameters in every hidden layer (:mod:`actlab.engine.activations`).

The output layer is :class:`_Head`: the same product with every matrix it writes laid out
with its wide side last (MKL's batched products with a narrow last side, 10 classes, ran
3-4x slower on this CPU; BENCHMARKS.md, "The training epochs").

Inputs are ``x [M, B, F]`` (each candidate its own minibatch; the CNN also takes
``[M, B, C, H, W]``); outputs ``[M, B, n_out]``
(logits or regression outputs: the output layer is linear). Both are stacks
(:mod:`actlab.engine.stack`): their sites are the hidden layers, in the canonical probe
layout ``positions = 1`` for dense layers and ``H*W`` for convolutions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from actlab.engine.candidates import Candidate
from actlab.engine.init import LayerShape, stacked_parameters
from actlab.engine.stack import Captured, Stack, Training, shared_width_factor


class _Head(torch.autograd.Function):
    """The output layer ``y = b + h W`` of every candidate at once (``h [M, B, in]``,
    ``W [M, in, out]``, ``b [M, 1, out]``; ``out`` is narrow: the classes), computed as
    products whose written matrix is wide in its last dimension::

        y^T  = b^T + W^T h^T     (y: its transposed view, [M, out, B] in memory)
        dh   = g W^T
        dW^T = g^T h             (dW: its transposed view, made contiguous)
        db   = sum over B of g

    The loss reads ``y`` with classes on dim 1 (:func:`actlab.engine.metrics.candidate_loss`),
    which is ``y^T``'s own layout.
    """

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(h, w)
        return torch.baddbmm(b.mT, w.mT, h.mT).mT

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h, w = ctx.saved_tensors
        dh = torch.bmm(g, w.mT) if ctx.needs_input_grad[0] else None
        dw = torch.bmm(g.mT, h).mT.contiguous() if ctx.needs_input_grad[1] else None
        db = g.sum(1, keepdim=True) if ctx.needs_input_grad[2] else None
        return dh, dw, db


class StackedNet(Stack):
    """Shared machinery: parameters ``[W0, b0, W1, b1, ...]``, no buffers, the hidden
    layers as sites, each the owner of its learnable activation parameters."""

    layers: list[LayerShape]
    captures_graph = True

    def __init__(
        self, candidates: Sequence[Candidate], dtype: torch.dtype, device: str | torch.device
    ) -> None:
        super().__init__(candidates)
        self.params = [
            t.to(device).requires_grad_(True)
            for pair in stacked_parameters(self.candidates, self.layers, dtype)
            for t in pair
        ]
        self.buffers = []
        self.activations.learn(self.site_names, dtype, device)

    @property
    def n_hidden(self) -> int:
        return len(self.layers) - 1

    def site_weights(self) -> list[torch.Tensor | None]:
        """The weight of every hidden layer (the layer that produces its pre-activation)."""
        return list(self.params[0 : 2 * self.n_hidden : 2])

    @property
    def site_names(self) -> list[str]:
        return [f"layer {i + 1}" for i in range(self.n_hidden)]

    def train(self, mode: bool = True) -> None:
        """The engine's own stacks have no modes (no batch norm, no dropout)."""

    def training(self) -> Training:
        return Training(
            "stacked", len(self.candidates), tuple(s.activation.spec for s in self.slices)
        )


class StackedMLP(StackedNet):
    """``M`` MLPs ``in -> hidden[0] -> ... -> hidden[-1] -> n_outputs``; with a gated
    activation each hidden layer projects to ``2 * hidden[i]`` (value and gate halves)
    and the activation returns ``hidden[i]`` units. The candidates of one stack share
    their width factor (:func:`actlab.engine.candidates.shape_groups`)."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        n_inputs: int,
        hidden: Sequence[int],
        n_outputs: int,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        factor = shared_width_factor(candidates)
        self.hidden_widths = tuple(int(h) for h in hidden)
        widths = [n_inputs, *hidden, n_outputs]
        projections = [factor * h for h in hidden] + [n_outputs]
        self.layers = [
            LayerShape(weight=(a, b), bias=(1, b), fan_in=a, fan_out=b)
            for a, b in zip(widths[:-1], projections, strict=True)
        ]
        super().__init__(candidates, dtype, device)

    @property
    def values_per_sample(self) -> int:
        return max(layer.weight[1] for layer in self.layers[:-1])

    def forward(
        self, x: torch.Tensor, capture: bool = False
    ) -> tuple[torch.Tensor, list[Captured]]:
        captured: list[Captured] = []
        h = x.flatten(2)
        for i in range(self.n_hidden):
            z = torch.baddbmm(self.params[2 * i + 1], h, self.params[2 * i])
            if capture:  # the activation reads the captured view (see Stack.derivatives)
                zc = z.unsqueeze(-1)
                h = self.activate(zc.squeeze(-1), dim=0, owner=i)
                captured.append((zc, h.unsqueeze(-1)))
            else:
                h = self.activate(z, dim=0, owner=i)
        return _Head.apply(h, self.params[-2], self.params[-1]), captured


class StackedCNN(StackedNet):
    """``M`` small CNNs: 3x3 convolutions (stride 1, padding 1) with ``channels`` output
    channels each, then a linear head on the flattened (channel-major) feature map."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        image_shape: tuple[int, int, int],
        channels: Sequence[int],
        n_outputs: int,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        kernel: int = 3,
    ) -> None:
        c, h, w = image_shape
        self.image_shape = (c, h, w)
        self.kernel = kernel
        ins = [c, *channels[:-1]]
        self.layers = [
            LayerShape(
                weight=(o, i, kernel, kernel),
                bias=(o,),
                fan_in=i * kernel * kernel,
                fan_out=o * kernel * kernel,
            )
            for i, o in zip(ins, channels, strict=True)
        ]
        flat = channels[-1] * h * w
        self.layers.append(
            LayerShape(
                weight=(flat, n_outputs), bias=(1, n_outputs), fan_in=flat, fan_out=n_outputs
            )
        )
        super().__init__(candidates, dtype, device)

    @property
    def values_per_sample(self) -> int:
        _, h, w = self.image_shape
        return max(layer.weight[0] for layer in self.layers[:-1]) * h * w

    def forward(
        self, x: torch.Tensor, capture: bool = False
    ) -> tuple[torch.Tensor, list[Captured]]:
        m, b = x.shape[:2]
        c, hh, ww = self.image_shape
        h = x.reshape(m, b, c, hh, ww).transpose(0, 1).reshape(b, m * c, hh, ww)
        captured: list[Captured] = []
        for i in range(self.n_hidden):
            weight, bias = self.params[2 * i], self.params[2 * i + 1]
            z = F.conv2d(
                h,
                weight.reshape(-1, *weight.shape[2:]),
                bias.reshape(-1),
                padding=self.kernel // 2,
                groups=m,
            )
            z5 = z.view(b, m, weight.shape[1], hh, ww)
            if capture:  # the activation reads the captured view (see Stack.derivatives)
                zc = z5.flatten(3).transpose(0, 1)
                h5 = self.activate(zc.transpose(0, 1).view_as(z5), dim=1, owner=i)
                captured.append((zc, h5.flatten(3).transpose(0, 1)))
            else:
                h5 = self.activate(z5, dim=1, owner=i)
            h = h5.view(b, -1, hh, ww)
        flat = h.view(b, m, -1).transpose(0, 1)
        return _Head.apply(flat, self.params[-2], self.params[-1]), captured
