"""A stacked transformer-style model (``model="ffn"``): ``M`` candidates, each a stack of
pre-norm residual blocks whose feed-forward network (FFN) uses the candidate's activation.

For one candidate, with ``d = d_model`` and ``LN`` a layer norm with a learned gain and
bias::

    h_0 = E[x_t] + P[t]                          token ids x [B, T] (a text corpus)
    h_0 = x W_in + b_in                          flat features x [B, F]: one token (T = 1)
    h   = h + Attn(LN(h))                        causal self-attention, ``heads`` heads
    h   = h + FFN(LN(h)),  FFN(u) = f(u W_1 + b_1) W_2 + b_2      (each block)
    out = LN(h) W_out + b_out                    logits per position [B, T, K] (or [B, K])

A plain activation's ``W_1`` is ``[d, w]``. A gated one (``a * g(b)``, value first and gate
second, :mod:`actlab.catalog.definitions.gated`) projects to both halves, ``W_1`` is
``[d, 2w]``, and returns ``w`` units: ``FFN(u) = (u V * g(u W)) W_2``, Shazeer 2020's
form. Which ``w`` a gated candidate gets for a plain width is
:func:`actlab.catalog.widths.candidate_widths`' rule. Flat features have one position
and no attention (attention over one token is only a linear map).

Initialisation, per layer from a generator seeded by ``(seed, layer)`` (so a layer of the
same shape starts from the same ``Z`` in every candidate of a seed, whatever the other
layers' shapes): token and position embeddings ``N(0, 1/2)`` (their sum has unit
variance), linear layers ``N(0, 1/fan_in)`` (LeCun), the FFN's ``W_1`` by the candidate's
init scheme (:func:`actlab.engine.init.init_std`; ``auto``: the activation's
variance-preserving gain), and the two projections back into the residual stream
(attention's output and ``W_2``) scaled by ``1/sqrt(2 * blocks)`` as in GPT-2; biases 0,
layer-norm gains 1.

The sites (probes) are the FFN activations, in the probe layout ``[M, B, units,
positions]``; a learnable activation learns its parameters in each block
(:mod:`actlab.engine.activations`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from actlab.engine.candidates import Candidate
from actlab.engine.init import init_std
from actlab.engine.stack import Captured, Stack, Training, shared_width_factor

LAYER_NORM_EPS = 1e-5


def layer_normals(seed: int, layer: int, shape: tuple[int, ...]) -> torch.Tensor:
    """``Z ~ N(0, 1)`` of ``shape`` for ``layer`` of ``seed`` (float64), from its own
    generator: independent of every other layer's shape."""
    key = int(np.random.SeedSequence([int(seed), int(layer)]).generate_state(1)[0])
    gen = torch.Generator().manual_seed(key)
    return torch.randn(shape, generator=gen, dtype=torch.float64)


class StackedFFN(Stack):
    """``M`` transformer-style models sharing their shape (see the module docstring).

    ``vocabulary``: the number of token ids when the inputs are token sequences of length
    ``context`` (``None``: flat features of ``n_inputs`` values). ``widths``: the FFN's
    output units ``w`` per block, the same for every candidate of this stack (a gated
    activation's ``W_1`` has ``2w`` columns)."""

    captures_graph = True

    def __init__(
        self,
        candidates: Sequence[Candidate],
        *,
        n_inputs: int,
        n_outputs: int,
        widths: Sequence[int],
        d_model: int,
        heads: int,
        vocabulary: int | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(candidates)
        self.factor = shared_width_factor(candidates)
        self.hidden_widths = tuple(int(w) for w in widths)
        if d_model % heads:
            raise ValueError(f"d_model={d_model} must be a multiple of heads={heads}")
        self.d, self.heads = d_model, heads
        self.tokens = vocabulary is not None
        self.context = n_inputs if self.tokens else 1
        self.attention = self.tokens and self.context > 1
        self.dtype, self.device = dtype, device
        blocks = len(self.hidden_widths)
        residual = 1.0 / math.sqrt(2 * blocks)
        d = d_model
        # (shape, std per candidate) of every parameter, in the order of self.params
        specs: list[tuple[tuple[int, ...], Sequence[float] | str]] = []
        if self.tokens:
            assert vocabulary is not None
            specs += [((vocabulary, d), [math.sqrt(0.5)] * len(self)),
                      ((self.context, d), [math.sqrt(0.5)] * len(self))]  # fmt: skip
        else:
            specs += [((n_inputs, d), self._std("lecun", n_inputs, d)), ((1, d), "zeros")]
        for w in self.hidden_widths:
            specs += [((1, d), "ones"), ((1, d), "zeros")]
            if self.attention:
                specs += [
                    ((d, 3 * d), self._std("lecun", d, 3 * d)),
                    ((d, d), [s * residual for s in self._std("lecun", d, d)]),
                    ((1, d), "ones"),
                    ((1, d), "zeros"),
                ]
            u = self.factor * w
            specs += [
                ((d, u), [init_std(c.init, d, u) for c in self.candidates]),
                ((1, u), "zeros"),
                ((w, d), [s * residual for s in self._std("lecun", w, d)]),
                ((1, d), "zeros"),
            ]
        specs += [((1, d), "ones"), ((1, d), "zeros")]
        specs += [((d, n_outputs), self._std("lecun", d, n_outputs)), ((1, n_outputs), "zeros")]
        self.params = [
            self._initial(layer, shape, std).to(device).requires_grad_(True)
            for layer, (shape, std) in enumerate(specs)
        ]
        self.buffers = []
        self.activations.learn(self.site_names, dtype, device)

    def _std(self, scheme: str, fan_in: int, fan_out: int) -> list[float]:
        return [init_std(scheme, fan_in, fan_out)] * len(self)

    def _initial(
        self, layer: int, shape: tuple[int, ...], std: Sequence[float] | str
    ) -> torch.Tensor:
        m = len(self)
        if std == "ones":
            return torch.ones((m, *shape), dtype=self.dtype)
        if std == "zeros":
            return torch.zeros((m, *shape), dtype=self.dtype)
        normals = {c.seed: layer_normals(c.seed, layer, shape) for c in self.candidates}
        return torch.stack(
            [normals[c.seed] * s for c, s in zip(self.candidates, std, strict=True)]
        ).to(self.dtype)

    @property
    def _per_block(self) -> int:
        return 10 if self.attention else 6

    def _block_params(self, i: int) -> list[torch.Tensor]:
        start = 2 + i * self._per_block
        return self.params[start : start + self._per_block]

    @staticmethod
    def _norm(h: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(h, h.shape[-1:], eps=LAYER_NORM_EPS) * gain + bias

    def _attend(self, u: torch.Tensor, qkv: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Causal multi-head self-attention of ``u [M, B*T, d]``."""
        m, n, d = u.shape
        t, h = self.context, self.heads
        b = n // t
        parts = torch.bmm(u, qkv).view(m * b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        mixed = F.scaled_dot_product_attention(parts[0], parts[1], parts[2], is_causal=True)
        return torch.bmm(mixed.transpose(1, 2).reshape(m, n, d), out)

    def forward(
        self, x: torch.Tensor, capture: bool = False
    ) -> tuple[torch.Tensor, list[Captured]]:
        m, b = x.shape[:2]
        t = self.context
        if self.tokens:
            emb, pos = self.params[0], self.params[1]
            offsets = torch.arange(m, device=x.device).view(m, 1, 1) * emb.shape[1]
            flat = emb.reshape(-1, self.d)
            h = (F.embedding(x.long() + offsets, flat) + pos[:, None, :t]).reshape(m, b * t, -1)
        else:
            h = torch.baddbmm(self.params[1], x.flatten(2), self.params[0])
        captured: list[Captured] = []
        for i in range(len(self.hidden_widths)):
            p = self._block_params(i)
            if self.attention:
                h = h + self._attend(self._norm(h, p[0], p[1]), p[2], p[3])
                p = p[4:]
            z = torch.baddbmm(p[3], self._norm(h, p[0], p[1]), p[2])
            if capture:  # the activation reads the captured view (see Stack.derivatives)
                zc = z.view(m, b, t, -1).transpose(2, 3)
                a = self.activate(zc.transpose(2, 3).view_as(z), dim=0, owner=i)
                captured.append((zc, a.view(m, b, t, -1).transpose(2, 3)))
            else:
                a = self.activate(z, dim=0, owner=i)
            h = h + torch.baddbmm(p[5], a, p[4])
        out = torch.baddbmm(self.params[-1], self._norm(h, self.params[-4], self.params[-3]),
                            self.params[-2])  # fmt: skip
        return (out.view(m, b, t, -1) if self.tokens else out), captured

    def site_weights(self) -> list[torch.Tensor | None]:
        """Each block's ``W_1`` (the FFN's input projection)."""
        first = 6 if self.attention else 2
        return [self._block_params(i)[first] for i in range(len(self.hidden_widths))]

    @property
    def site_names(self) -> list[str]:
        return [f"block {i + 1} ffn" for i in range(len(self.hidden_widths))]

    @property
    def values_per_sample(self) -> int:
        return max(self.factor * w for w in self.hidden_widths) * self.context

    def training(self) -> Training:
        return Training("stacked", len(self), tuple(s.activation.spec for s in self.slices))

    def train(self, mode: bool = True) -> None:
        """No dropout, no batch norm: nothing changes between modes."""
