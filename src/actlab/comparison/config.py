"""What a comparison is asked to do: validated, JSON-able, enough to resume or rerun."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from actlab.analysis.sequential import Design
from actlab.analysis.stats import MIN_SEEDS_TO_CONCLUDE
from actlab.catalog import get_many
from actlab.catalog.widths import check_shape
from actlab.store import RunDir, RunDirError
from actlab.store.errors import one_line

ARTICLE_SEVEN = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "selu")
DEFAULT_ACTIVATIONS = (*ARTICLE_SEVEN, "identity")
INIT_SCHEMES = ("auto", "he", "lecun", "glorot")


def hidden_widths(
    hidden: Sequence[int], depth: int | None = None, width: int | None = None
) -> tuple[int, ...]:
    """The MLP's hidden widths: ``hidden``, or the ``--depth`` / ``--width`` shorthand,
    ``depth`` layers (default: as many as ``hidden``) of ``width`` (default: ``hidden[0]``)."""
    if depth is None and width is None:
        return tuple(hidden)
    return (width or hidden[0],) * (depth or len(hidden))


MODEL_KEYS = {
    "mlp": ("hidden", "depths", "init", "match"),
    "cnn": ("channels", "init"),
    "ffn": ("hidden", "depths", "init", "match", "d_model", "heads"),
    "user": ("user_model",),
}
"""Per model kind, the config keys that apply to it (the others are left out of
config.json: they would describe a model the run did not train)."""


AUTO_START = 5
"""Seeds of ``--seeds auto``'s first look (fewer when ``--max-seeds`` is smaller)."""
AUTO_BATCH = 5
"""Seeds added per look by ``--seeds auto``."""
AUTO_MAX_SEEDS = 30
"""``--max-seeds``' default."""


@dataclass(frozen=True)
class AutoSeeds:
    """``--seeds auto``: train ``start`` seeds, then ``batch`` more at a time until every
    candidate is resolved against the leader or ``max_seeds`` is reached (the looks of
    :meth:`actlab.analysis.Design.auto`, with its alpha spending)."""

    start: int = AUTO_START
    batch: int = AUTO_BATCH
    max_seeds: int = AUTO_MAX_SEEDS

    def __post_init__(self) -> None:
        for name in ("start", "batch", "max_seeds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"--seeds auto: {name} must be an integer, got {value!r}")
        self.design()  # validates

    @classmethod
    def of(cls, max_seeds: int = AUTO_MAX_SEEDS) -> AutoSeeds:
        """The defaults with a budget of ``max_seeds`` (at least 3: a verdict needs that
        many paired seeds)."""
        if isinstance(max_seeds, bool) or not isinstance(max_seeds, int):
            raise ValueError(f"--max-seeds must be an integer, got {max_seeds!r}")
        if max_seeds < MIN_SEEDS_TO_CONCLUDE:
            raise ValueError(
                f"--max-seeds must be at least {MIN_SEEDS_TO_CONCLUDE} (a verdict needs "
                f"{MIN_SEEDS_TO_CONCLUDE} paired seeds), got {max_seeds}"
            )
        return cls(min(AUTO_START, max_seeds), AUTO_BATCH, max_seeds)

    def design(self, alpha: float = 0.05) -> Design:
        """The looks and their error spending."""
        return Design.auto(self.start, self.batch, self.max_seeds, alpha)


@dataclass(frozen=True)
class CompareConfig:
    """A comparison: data, candidates (activations x seeds), model shape(s) and training.

    ``model="user"`` trains a user's own network (given to :func:`actlab.compare`, not
    stored): ``user_model`` describes it (name, how it is initialised). ``data_digest``
    fingerprints in-memory data (arrays, a DataLoader), which the run directory does not
    store either: resuming such a run takes the same data and model again, and checks
    them. ``device`` is where training runs (``"auto"``: an accelerator when there is one).
    """

    data: str = "digits"
    target: str | None = None
    task: str | None = None
    impute: bool = False
    activations: tuple[str, ...] = DEFAULT_ACTIVATIONS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    model: str = "mlp"
    hidden: tuple[int, ...] = (128, 128)
    channels: tuple[int, ...] = (16, 32)
    """The CNN's 3x3 convolution widths (``model="cnn"``)."""
    depths: tuple[int, ...] = ()
    """Several depths (hidden layers, or FFN blocks, of the first hidden width) in one
    sweep, one group each."""
    d_model: int = 64
    """The residual stream's width of ``model="ffn"`` (its FFN widths are ``hidden``)."""
    heads: int = 4
    """Attention heads of ``model="ffn"`` on token sequences."""
    match: str = "params"
    """How wide a gated activation's layers are next to a plain one's: ``"params"`` (the
    LLaMA-style 2/3 rule) or ``"width"`` (:mod:`actlab.catalog.widths`)."""
    epochs: int = 30
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    early_stopping: int | None = None
    init: str = "auto"
    split_seed: int = 0
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    margin: float | None = None
    """Practical margin of the verdicts in the metric's units (``--margin``; None: the
    default rule, :meth:`actlab.analysis.Margin.default`)."""
    auto_seeds: AutoSeeds | None = None
    """``--seeds auto``: ``seeds`` then holds the seeds of the latest look (trained, or
    being trained)."""
    device: str = "auto"
    user_model: dict[str, Any] | None = None
    data_digest: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        acts = get_many(list(self.activations))  # raises the catalog's SpecError
        object.__setattr__(self, "activations", tuple(a.spec for a in acts))
        _check_float32(acts)
        vector = [a.spec for a in acts if a.is_vector and not a.is_gated]
        if vector:
            raise ValueError(
                f"{', '.join(vector)} acts over a whole axis and cannot be a "
                "hidden-layer activation in compare"
            )
        for name in ("seeds", "hidden", "channels", "depths"):
            values = getattr(self, name)
            _check(all(_is_int(v) for v in values), name, values, "must be integers")
        for name in ("epochs", "batch_size", "d_model", "heads"):
            _check(_is_int(getattr(self, name)), name, getattr(self, name), "must be an integer")
        _check(
            self.early_stopping is None or _is_int(self.early_stopping),
            "early_stopping",
            self.early_stopping,
            "must be an integer or None",
        )
        _check(
            all(0 <= s <= MAX_SEED for s in self.seeds),
            "seeds",
            self.seeds,
            f"must be in 0..{MAX_SEED}",
        )
        gated = [a.spec for a in acts if a.is_gated]
        if gated and self.model not in ("mlp", "ffn"):
            raise ValueError(
                f"{', '.join(gated)} is gated (its layer projects to value and gate halves): "
                f"model={self.model!r} cannot widen its layers for it; use model mlp or ffn"
            )
        _check(len(self.seeds) >= 1, "seeds", self.seeds, "needs at least one seed")
        _check(len(set(self.seeds)) == len(self.seeds), "seeds", self.seeds, "has duplicates")
        _check(
            self.model in ("mlp", "cnn", "ffn", "user"),
            "model",
            self.model,
            "must be mlp, cnn, ffn, or your own nn.Module (Python API)",
        )
        check_shape(self.match, self.d_model, self.heads)
        _check(
            self.optimizer in ("adam", "sgd"), "optimizer", self.optimizer, "must be adam or sgd"
        )
        _check(self.init in INIT_SCHEMES, "init", self.init, f"must be one of {INIT_SCHEMES}")
        _check(self.epochs >= 1, "epochs", self.epochs, "must be >= 1")
        _check(self.batch_size >= 1, "batch_size", self.batch_size, "must be >= 1")
        _check(0 < self.lr < math.inf, "lr", self.lr, "must be a finite number > 0")
        _check(
            0 <= self.weight_decay < math.inf,
            "weight_decay",
            self.weight_decay,
            "must be a finite number >= 0",
        )
        _check(0 <= self.momentum < 1, "momentum", self.momentum, "must be in [0, 1)")
        _check(
            all(h >= 1 for h in self.hidden) and len(self.hidden) >= 1,
            "hidden",
            self.hidden,
            "needs one or more positive layer widths",
        )
        _check(
            all(c >= 1 for c in self.channels) and len(self.channels) >= 1,
            "channels",
            self.channels,
            "needs one or more positive channel counts",
        )
        _check(all(d >= 1 for d in self.depths), "depths", self.depths, "must be >= 1")
        _check(
            self.margin is None or (math.isfinite(self.margin) and self.margin >= 0),
            "margin",
            self.margin,
            "must be a number >= 0",
        )
        if self.auto_seeds is not None:
            _check(
                len(self.seeds) in self.auto_seeds.design().looks,
                "seeds",
                self.seeds,
                f"must be as many as one of --seeds auto's looks {self.auto_seeds.design().looks}",
            )
        _check(
            self.early_stopping is None or self.early_stopping >= 1,
            "early_stopping",
            self.early_stopping,
            "patience must be >= 1",
        )

    def groups(self) -> dict[str, tuple[int, ...]]:
        """Model shapes, one stacked group each: name -> hidden widths."""
        if self.model == "cnn":
            return {"cnn-" + "x".join(map(str, self.channels)): self.channels}
        kind = "mlp" if self.model == "mlp" else f"ffn-d{self.d_model}"
        if not self.depths:
            return {f"{kind}-" + "x".join(map(str, self.hidden)): self.hidden}
        width = self.hidden[0]
        return {f"{kind}-depth{d}-width{width}": (width,) * d for d in self.depths}

    def to_dict(self) -> dict[str, Any]:
        """What applies to this run (see :data:`MODEL_KEYS`), JSON-able."""
        out = asdict(self)
        mine = MODEL_KEYS[self.model]
        for kind_keys in MODEL_KEYS.values():
            for key in kind_keys:
                if key not in mine:
                    out.pop(key, None)
        if self.data_digest is None:
            out.pop("data_digest")
        return out

    @classmethod
    def of_run(cls, run: RunDir) -> CompareConfig:
        """The configuration stored in ``run``'s ``config.json``; a file that does not hold
        a valid one is a one-line :class:`RunDirError` naming it."""
        payload = run.read_config()
        try:
            return cls.from_dict(payload)
        except (TypeError, ValueError) as exc:
            raise RunDirError(
                f"{run.config_path}: not a valid comparison configuration ({one_line(exc)})"
            ) from None

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> CompareConfig:
        known = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__}
        for key in ("activations", "seeds", "hidden", "channels", "depths"):
            if key in known and known[key] is not None:
                known[key] = tuple(known[key])
        if isinstance(known.get("auto_seeds"), dict):
            known["auto_seeds"] = AutoSeeds(**known["auto_seeds"])
        return cls(**known)


MAX_SEED = 2**32 - 1
"""Seeds seed torch generators (``torch.Generator.manual_seed``), as 32-bit unsigned."""

FLOAT32_MAX = 3.4028234663852886e38
"""The largest finite float32: compare trains in float32."""


def _check_float32(acts: Sequence[Any]) -> None:
    """A parameter the catalog accepts but float32 cannot hold (``elu(alpha=1e308)``) is
    refused here, with the reason, instead of failing inside torch mid-run."""
    for act in acts:
        for name, value in act.params.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                if abs(value) > FLOAT32_MAX:
                    raise ValueError(
                        f"{act.spec}: {name}={value:g} overflows float32 (largest "
                        f"{FLOAT32_MAX:.4g}), the precision compare trains in"
                    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(ok: bool, name: str, value: object, problem: str) -> None:
    if not ok:
        raise ValueError(f"{name}={value!r} {problem}")
