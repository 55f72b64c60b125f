"""What a monitor records: per-layer signals at sampled steps, and the model's structure.

The signals of one activation layer on one batch, with ``z`` the pre-activation, ``a = f(z)``
the activation and ``f'(z)`` its derivative, computed per *unit* (a feature of a dense layer,
a channel of a convolution) over the batch's *samples* (rows, or rows x positions):

* dead fraction - share of units with ``f'(z) == 0`` exactly on every sample: no gradient
  reaches their incoming weights at all (a "dead ReLU").
* saturated fraction - share of units, not dead, stuck in a flat tail (as
  :mod:`actlab.health` defines it).
* mean and std of ``a`` over all its elements (population std).
* the Frobenius norm of the gradient of the loss with respect to the weight of the layer
  feeding the activation (filled in when the backward pass of that step runs).

Both PyTorch and Keras monitors produce a :class:`Recording`; findings and reports read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LayerInfo:
    """One monitored activation site.

    ``name`` is the site's name (:mod:`actlab.backends.torch.sites`: a module's qualified
    name, ``name#k`` for the k-th call of a module called several times, ``module.relu()``
    for a functional call), ``activation`` what it computes (a catalog spec, or
    ``"unknown elementwise (<what>)"``), ``feeder`` the name of the linear/conv layer whose
    output it receives (``None`` when there is none), ``bounded`` whether the activation is
    bounded on both sides (sigmoid, tanh, ...), so that saturation in its flat tails is a
    failure mode worth reporting. ``role``: ``hidden``, ``gate`` or ``output`` (only hidden
    sites are judged for dead and saturated units); ``where``: the source line of a
    functional call; ``damped_by``: the near-zero scale at the end of the residual branch
    the site's feeder lies in (its gradient is small by design, see
    :data:`actlab.backends.torch.sites.DAMPED_SCALE`).
    """

    name: str
    activation: str
    feeder: str | None
    bounded: bool
    role: str = "hidden"
    where: str = ""
    damped_by: str | None = None


@dataclass
class LayerRecord:
    """The signals of one layer at one sampled step (see the module docstring), and the
    size of the subsample they come from (:mod:`actlab.diagnose.sampling`): ``units``
    of ``total_units`` units, ``samples`` per unit, and the standard error ``mean_se`` of
    ``mean`` (0 when every element was used)."""

    step: int
    layer: str
    dead_fraction: float
    saturated_fraction: float
    mean: float
    std: float
    grad_norm: float | None = None
    units: int = 0
    total_units: int = 0
    samples: int = 0
    mean_se: float = 0.0


@dataclass(frozen=True)
class NonFinite:
    """The first NaN/inf seen: the step, the layer, and where (``"output"`` of a layer,
    ``"input"`` of an activation, ``"gradient"`` of a layer's weight, or the ``"weight"``
    itself after an update; the layer ``"loss"`` stands for the training loss)."""

    step: int
    layer: str
    where: str


@dataclass(frozen=True)
class Structure:
    """What the model's layout says before any number is looked at.

    ``linear_pairs``: (first, second) linear/conv layers with only linear steps (dropout,
    batch norm, reshapes, scaling) between them in the forward pass, and no deliberate
    factorisation (a bottleneck narrower than both ends, a grouped convolution);
    ``pair_sizes``: each pair's ``(in, middle, out)`` widths. ``selu_bad_init``: SELU
    layers whose feeder was not initialised LeCun-normal, each with the evidence in words.
    ``plain_dropout`` / ``batchnorm``: ordinary dropout and batch norm layers of a model that
    uses SELU.
    """

    linear_pairs: tuple[tuple[str, str], ...] = ()
    pair_sizes: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    selu_bad_init: dict[str, str] = field(default_factory=dict)
    plain_dropout: tuple[str, ...] = ()
    batchnorm: tuple[str, ...] = ()


@dataclass
class Recording:
    """Everything a monitor saw: the layers in forward order, the records of the sampled
    steps, the structure, the first non-finite value, and how many steps were counted."""

    framework: str
    every: int
    layers: list[LayerInfo] = field(default_factory=list)
    records: list[LayerRecord] = field(default_factory=list)
    structure: Structure = field(default_factory=Structure)
    non_finite: NonFinite | None = None
    steps: int = 0

    def sampled_steps(self) -> list[int]:
        """The distinct steps that have records, ascending."""
        return sorted({r.step for r in self.records})

    def at(self, step: int) -> dict[str, LayerRecord]:
        """The records of ``step`` by layer name."""
        return {r.layer: r for r in self.records if r.step == step}

    def series(self, layer: str, attribute: str) -> tuple[list[int], list[float]]:
        """Steps and values of one attribute of one layer (missing values skipped)."""
        pairs = [
            (r.step, getattr(r, attribute))
            for r in self.records
            if r.layer == layer and getattr(r, attribute) is not None
        ]
        return [s for s, _ in pairs], [float(v) for _, v in pairs]
