"""Built-in demonstrations: small networks trained on scikit-learn's digits, each showing one
failure mode (or success) from the article happen, with the monitor's report written out.

=================  ===========================================================================
name               what happens
=================  ===========================================================================
deep-sigmoid       10 sigmoid layers, plain SGD: the gradient vanishes towards the input
dead-relu          ReLU layers with bias -3: most units never fire and never learn
selu-fixed-point   16 SELU layers with LeCun-normal init: mean ~0 and std ~1 at every depth
no-activation      three Linear layers and no activation: one linear map in disguise
exploding          10 ReLU layers initialised 3x too large: gradients explode, then overflow
derived-gain       40 ELU layers: the derived gain trains, the fixed table's He gain does not
=================  ===========================================================================

A demo may train a contrast: the same network with one thing changed, from the same seed
and on the same batches, whose test accuracy is reported beside the demo's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from actlab.catalog.propagation import variance_preserving_gain
from actlab.diagnose.findings import Finding
from actlab.diagnose.monitor import monitor

DEMO_SEED = 0
"""Every demo seeds torch with this value, so its findings are the same on every run."""


@dataclass(frozen=True)
class Contrast:
    """A contrast's result: what was changed, and its test accuracy."""

    label: str
    accuracy: float


@dataclass(frozen=True)
class DemoResult:
    """What a demo did: its name and description, the findings, the report path, the number
    of training steps, the final accuracy on the held-out quarter of digits and, for a
    demo with a contrast, the contrast's."""

    name: str
    description: str
    findings: list[Finding]
    report: Path
    steps: int
    accuracy: float
    contrast: Contrast | None = None

    @property
    def kinds(self) -> list[str]:
        """The finding kinds, in order."""
        return [f.kind for f in self.findings]


@lru_cache(maxsize=1)
def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x_train, y_train, x_test, y_test)``: the embedded 8x8 digits through
    :mod:`actlab.data` (``actlab compare``'s stratified split with ``seed=0``), 64 features
    standardized on the train part; the demos train on train + validation (80%) and test
    on the test part (20%)."""
    from actlab.data import load, split

    parts = split(load("digits"), seed=0)
    x_train = np.concatenate([parts.X_train, parts.X_val])
    y_train = np.concatenate([parts.y_train, parts.y_val])
    return (
        torch.as_tensor(x_train, dtype=torch.float32),
        torch.as_tensor(y_train, dtype=torch.long),
        torch.as_tensor(parts.X_test, dtype=torch.float32),
        torch.as_tensor(parts.y_test, dtype=torch.long),
    )


def lecun_normal_(layer: nn.Linear) -> None:
    """``W ~ N(0, 1/fan_in)``, bias 0: the init SELU's fixed point assumes."""
    nn.init.normal_(layer.weight, 0.0, 1.0 / math.sqrt(layer.in_features))
    nn.init.zeros_(layer.bias)


def he_normal_(layer: nn.Linear, gain: float = 1.0, bias: float = 0.0) -> None:
    """``W ~ N(0, gain^2 * 2/fan_in)``, constant bias: He init (times ``gain``)."""
    nn.init.normal_(layer.weight, 0.0, gain * math.sqrt(2.0 / layer.in_features))
    nn.init.constant_(layer.bias, bias)


def gain_normal_(gain: float) -> Callable[[nn.Linear], None]:
    """``W ~ N(0, gain^2 / fan_in)``, bias 0: what ``--init auto`` draws (``gain=<g>``)."""

    def init(layer: nn.Linear) -> None:
        nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(layer.in_features))
        nn.init.zeros_(layer.bias)

    return init


TABLE_GAIN_ELU = math.sqrt(2.0)
"""The gain the fixed init table gave ELU before the derived gain replaced it: He, as for the
whole ReLU family (and what ``kaiming_normal_(nonlinearity="relu")`` gives)."""


def mlp(
    depth: int,
    width: int,
    activation: Callable[[], nn.Module] | None,
    init: Callable[[nn.Linear], None] | None = None,
) -> nn.Sequential:
    """``depth`` hidden Linear layers of ``width`` (each followed by ``activation()`` when
    given) and a Linear output layer, 64 inputs and 10 classes; ``init`` is applied to the
    hidden layers (PyTorch's default init otherwise)."""
    layers: list[nn.Module] = []
    fan_in = 64
    for _ in range(depth):
        linear = nn.Linear(fan_in, width)
        if init is not None:
            init(linear)
        layers.append(linear)
        if activation is not None:
            layers.append(activation())
        fan_in = width
    layers.append(nn.Linear(fan_in, 10))
    return nn.Sequential(*layers)


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    steps: int,
    *,
    batch: int = 64,
    seed: int = DEMO_SEED,
) -> float:
    """``steps`` minibatch steps of cross-entropy on the digits training split (batches in
    a seeded random order); returns the accuracy on the test split."""
    x, y, x_test, y_test = digits()
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=gen)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    position = 0
    for _ in range(steps):
        if position + batch > len(x):
            order, position = torch.randperm(len(x), generator=gen), 0
        idx = order[position : position + batch]
        position += batch
        optimizer.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        return float((model(x_test).argmax(1) == y_test).float().mean())


@dataclass(frozen=True)
class _Demo:
    description: str
    build: Callable[[], nn.Module]
    optimizer: Callable[[nn.Module], torch.optim.Optimizer]
    steps: int
    every: int
    contrast: tuple[str, Callable[[], nn.Module]] | None = None
    """(what is changed, the network built with it), trained without the monitor."""


def _derived_gain_demo() -> _Demo:
    derived = variance_preserving_gain("elu")
    return _Demo(
        f"40 ELU layers of 64 units, plain SGD (step 0.05), no normalization, initialised "
        f"with ELU's variance-preserving gain derived by signal propagation ({derived:.4f}, "
        f"`actlab show elu`). The contrast starts from the fixed table's He gain "
        f"({TABLE_GAIN_ELU:.4f}, the ReLU family's): its signal grows until ELU acts like "
        f"ReLU (mean square ~4 at the last layer instead of ~0.5), and the same steps are "
        f"too large for it. With steps of 0.01-0.02 both train (He a few points lower): "
        f"the derived gain widens the range of step sizes that work.",
        lambda: mlp(40, 64, nn.ELU, gain_normal_(derived)),
        _sgd(0.05),
        300,
        10,
        contrast=(
            f"the fixed table's He gain {TABLE_GAIN_ELU:.4f}",
            lambda: mlp(40, 64, nn.ELU, gain_normal_(TABLE_GAIN_ELU)),
        ),
    )


def _sgd(lr: float) -> Callable[[nn.Module], torch.optim.Optimizer]:
    return lambda m: torch.optim.SGD(m.parameters(), lr=lr)


def _adam(lr: float) -> Callable[[nn.Module], torch.optim.Optimizer]:
    return lambda m: torch.optim.Adam(m.parameters(), lr=lr)


_DEMOS: dict[str, _Demo] = {
    "deep-sigmoid": _Demo(
        "10 sigmoid layers of 64 units trained with plain SGD: sigmoid's derivative is at "
        "most 0.25, so the gradient shrinks layer by layer on its way to the input.",
        lambda: mlp(10, 64, nn.Sigmoid),
        _sgd(0.1),
        300,
        10,
    ),
    "dead-relu": _Demo(
        "4 ReLU layers of 64 units with He init but bias -3: most pre-activations are "
        "negative, the units output 0 with derivative 0, and they never recover.",
        lambda: mlp(4, 64, nn.ReLU, lambda lin: he_normal_(lin, bias=-3.0)),
        _adam(1e-3),
        200,
        10,
    ),
    "selu-fixed-point": _Demo(
        "16 SELU layers of 64 units with LeCun-normal init on standardized input: SELU's "
        "fixed point keeps every layer at mean ~0 and std ~1, with no normalization layer.",
        lambda: mlp(16, 64, nn.SELU, lecun_normal_),
        _sgd(1e-3),
        200,
        10,
    ),
    "no-activation": _Demo(
        "Three Linear layers and no activation: the network is a single linear map (a "
        "multinomial logistic regression) however many layers it has.",
        lambda: mlp(2, 128, None),
        _adam(1e-3),
        200,
        10,
    ),
    "exploding": _Demo(
        "10 ReLU layers of 64 units initialised 3x larger than He init: the signal grows ~3x "
        "per layer, the gradients explode, and a few steps later the outputs overflow to inf.",
        lambda: mlp(10, 64, nn.ReLU, lambda lin: he_normal_(lin, gain=3.0)),
        _sgd(1e-4),
        100,
        10,
    ),
    "derived-gain": _derived_gain_demo(),
}


def demo_names() -> list[str]:
    """The names :func:`run_demo` accepts."""
    return list(_DEMOS)


def run_demo(name: str, out_dir: Path) -> DemoResult:
    """Train demo ``name`` under the monitor and write ``out_dir/<name>.html``.

    Seeded (:data:`DEMO_SEED`), so the findings are the same on every run. Raises
    ``ValueError`` naming the known demos for an unknown ``name``.
    """
    if name not in _DEMOS:
        raise ValueError(f"unknown demo {name!r}; known demos: {', '.join(_DEMOS)}")
    demo = _DEMOS[name]
    torch.manual_seed(DEMO_SEED)
    model = demo.build()
    optimizer = demo.optimizer(model)
    with monitor(model, every=demo.every) as mon:
        accuracy = train(model, optimizer, demo.steps)
    report = mon.report(Path(out_dir) / f"{name}.html", title=f"actlab diagnose: {name}")
    contrast = None
    if demo.contrast is not None:
        label, build = demo.contrast
        torch.manual_seed(DEMO_SEED)
        other = build()
        contrast = Contrast(label, train(other, demo.optimizer(other), demo.steps))
    return DemoResult(
        name, demo.description, mon.findings, report, mon.recording.steps, accuracy, contrast
    )
