"""Stacked models: ``M`` independent networks (one per candidate) evaluated as one.

Every parameter carries a leading candidate axis ``M``. Dense layers are batched matmuls,
``z[m] = x[m] @ W[m] + b[m]`` (``torch.baddbmm``, ``W`` shaped ``[M, in, out]``);
convolutions are one grouped convolution with ``groups = M`` (candidate ``m`` owns input
channels ``[m*C_in, (m+1)*C_in)`` and output channels ``[m*C_out, (m+1)*C_out)``). Each
activation is applied once per layer to its contiguous slice of candidates; no operation
mixes two candidates, so candidate ``m``'s outputs and gradients depend on its own
parameters only.

Inputs are ``x [M, B, F]`` (each candidate its own minibatch); outputs ``[M, B, n_out]``
(logits or regression outputs: the output layer is linear). With ``capture=True`` the
forward pass also returns each hidden layer's pre-activations and activations, a pair
``(z, f(z))`` per layer in the canonical probe layout ``[M, B, units, positions]``
(``positions = 1`` for dense layers, ``H*W`` for convolutions).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from actlab.backends.torch import functional
from actlab.engine.candidates import ActivationSlice, Candidate, activation_slices
from actlab.engine.init import LayerShape, stacked_parameters

TensorFn = Callable[[torch.Tensor], torch.Tensor]
Captured = tuple[torch.Tensor, torch.Tensor]
"""A hidden layer's ``(pre-activations, activations)``, each ``[M, B, units, positions]``."""


class StackedNet(ABC):
    """Shared machinery: parameters ``[W0, b0, W1, b1, ...]`` and per-slice activations."""

    layers: list[LayerShape]

    def __init__(self, candidates: Sequence[Candidate], dtype: torch.dtype) -> None:
        self.candidates = list(candidates)
        self.slices: list[ActivationSlice] = activation_slices(self.candidates)
        self.fns: list[TensorFn] = [functional(s.activation) for s in self.slices]
        self.params: list[torch.Tensor] = [
            t.requires_grad_(True)
            for pair in stacked_parameters(self.candidates, self.layers, dtype)
            for t in pair
        ]

    @property
    def n_hidden(self) -> int:
        return len(self.layers) - 1

    @property
    @abstractmethod
    def widest_layer(self) -> int:
        """Values per sample and candidate in the largest hidden layer (units x positions)."""

    def hidden_weights(self) -> list[torch.Tensor]:
        """The weight of every hidden layer (the layer that produces its pre-activation)."""
        return self.params[0 : 2 * self.n_hidden : 2]

    def activate(self, z: torch.Tensor, dim: int) -> torch.Tensor:
        """Apply each activation to its candidate slice of ``z`` along ``dim``."""
        if len(self.slices) == 1:
            return self.fns[0](z)
        parts = z.split([s.stop - s.start for s in self.slices], dim=dim)
        return torch.cat([fn(part) for fn, part in zip(self.fns, parts, strict=True)], dim=dim)

    @abstractmethod
    def forward(
        self, x: torch.Tensor, capture: bool = False
    ) -> tuple[torch.Tensor, list[Captured]]:
        """Outputs ``[M, B, n_out]`` and (with ``capture``) each hidden layer's
        ``(pre-activations, activations)``."""


class StackedMLP(StackedNet):
    """``M`` MLPs ``in -> hidden[0] -> ... -> hidden[-1] -> n_outputs``."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        n_inputs: int,
        hidden: Sequence[int],
        n_outputs: int,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        widths = [n_inputs, *hidden, n_outputs]
        self.layers = [
            LayerShape(weight=(a, b), bias=(1, b), fan_in=a, fan_out=b)
            for a, b in itertools.pairwise(widths)
        ]
        super().__init__(candidates, dtype)

    @property
    def widest_layer(self) -> int:
        return max(layer.weight[1] for layer in self.layers[:-1])

    def forward(
        self, x: torch.Tensor, capture: bool = False
    ) -> tuple[torch.Tensor, list[Captured]]:
        captured: list[Captured] = []
        h = x
        for i in range(self.n_hidden):
            z = torch.baddbmm(self.params[2 * i + 1], h, self.params[2 * i])
            h = self.activate(z, dim=0)
            if capture:
                captured.append((z.unsqueeze(-1), h.unsqueeze(-1)))
        return torch.baddbmm(self.params[-1], h, self.params[-2]), captured


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
        super().__init__(candidates, dtype)

    @property
    def widest_layer(self) -> int:
        _, h, w = self.image_shape
        return max(layer.weight[0] for layer in self.layers[:-1]) * h * w

    def forward(
        self, x: torch.Tensor, capture: bool = False
    ) -> tuple[torch.Tensor, list[Captured]]:
        m, b, _ = x.shape
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
            h5 = self.activate(z5, dim=1)
            if capture:
                captured.append((z5.flatten(3).transpose(0, 1), h5.flatten(3).transpose(0, 1)))
            h = h5.view(b, -1, hh, ww)
        flat = h.view(b, m, -1).transpose(0, 1)
        return torch.baddbmm(self.params[-1], flat, self.params[-2]), captured
