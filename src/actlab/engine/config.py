"""Training configuration of a stacked sweep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from actlab.catalog.widths import check_shape

INIT_CHOICES = ("auto", "he", "lecun", "glorot")
MODELS = ("mlp", "cnn", "ffn")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class TrainConfig:
    """How every candidate of the stack is trained (the same for all of them).

    ``hidden`` are the MLP's hidden widths, or with ``model="ffn"`` the FFN width of each
    block (:mod:`actlab.engine.ffn`: ``d_model`` wide residual stream, ``heads`` attention
    heads); ``channels`` the CNN's 3x3 convolution widths (the CNN has no dense hidden
    layer: its convolutions feed a linear head, and ``hidden`` is ignored). ``match``:
    how wide a gated activation's layers are next to a plain one's, matched parameters
    or matched width (:mod:`actlab.catalog.widths`). ``early_stopping`` is the patience
    in epochs on the validation loss (``None``: off); a stopped candidate is frozen with
    its best-validation weights restored, and its test figures come from those weights.
    """

    hidden: tuple[int, ...] = (128, 128)
    model: Literal["mlp", "cnn", "ffn"] = "mlp"
    channels: tuple[int, ...] = (16, 32)
    d_model: int = 64
    heads: int = 4
    match: Literal["params", "width"] = "params"
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 30
    early_stopping: int | None = None
    init: str = "auto"
    probe_size: int = 256
    device: str = "cpu"
    dtype: torch.dtype = torch.float32

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.channels = tuple(int(c) for c in self.channels)
        _check(self.model in MODELS, "model", self.model, f"must be one of {MODELS}")
        check_shape(self.match, self.d_model, self.heads)
        _check(
            self.optimizer in ("adam", "sgd"),
            "optimizer",
            self.optimizer,
            "must be 'adam' or 'sgd'",
        )
        layers = self.channels if self.model == "cnn" else self.hidden
        name = "channels" if self.model == "cnn" else "hidden"
        _check(
            len(layers) >= 1 and all(w >= 1 for w in layers),
            name,
            layers,
            "needs one or more positive widths",
        )
        _check(self.lr > 0, "lr", self.lr, "must be > 0")
        _check(0 <= self.momentum < 1, "momentum", self.momentum, "must be in [0, 1)")
        _check(self.weight_decay >= 0, "weight_decay", self.weight_decay, "must be >= 0")
        _check(self.batch_size >= 1, "batch_size", self.batch_size, "must be >= 1")
        _check(self.epochs >= 1, "epochs", self.epochs, "must be >= 1")
        _check(
            self.early_stopping is None or self.early_stopping >= 1,
            "early_stopping",
            self.early_stopping,
            "patience must be >= 1 (or None for off)",
        )
        _check(self.init in INIT_CHOICES, "init", self.init, f"must be one of {INIT_CHOICES}")
        _check(self.probe_size >= 1, "probe_size", self.probe_size, "must be >= 1")
        _check(
            self.dtype in DTYPES.values(), "dtype", self.dtype, "must be torch.float32 or float64"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the dtype as its name)."""
        out = dict(self.__dict__)
        out["hidden"] = list(self.hidden)
        out["channels"] = list(self.channels)
        out["dtype"] = str(self.dtype).removeprefix("torch.")
        return out

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> TrainConfig:
        known = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__}
        if isinstance(known.get("dtype"), str):
            if known["dtype"] not in DTYPES:
                raise ValueError(f"dtype={known['dtype']!r} must be one of {tuple(DTYPES)}")
            known["dtype"] = DTYPES[known["dtype"]]
        return cls(**known)


def _check(ok: bool, name: str, value: object, problem: str) -> None:
    if not ok:
        raise ValueError(f"{name}={value!r} {problem}")
