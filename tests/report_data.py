"""Synthetic comparison results with the candidate schema the training engine writes, so
that the reports (page, browser, notebook views) are tested independently of training."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from actlab.comparison.result import CompareResult

# Per activation: final validation accuracy at depth 2, gradient decay per layer towards the
# input, dead and saturated fractions, activation mean and std, seconds per epoch.
_PROFILES: dict[str, dict[str, float]] = {
    "relu": dict(acc=0.955, decay=0.85, dead=0.15, sat=0.0, mean=0.45, std=0.7, time=0.050),
    "elu": dict(acc=0.957, decay=0.9, dead=0.0, sat=0.0, mean=0.15, std=0.85, time=0.062),
    "selu": dict(acc=0.951, decay=0.95, dead=0.0, sat=0.0, mean=0.0, std=1.0, time=0.063),
    "sigmoid": dict(acc=0.905, decay=0.22, dead=0.0, sat=0.35, mean=0.5, std=0.2, time=0.056),
    "tanh": dict(acc=0.945, decay=0.6, dead=0.0, sat=0.2, mean=0.0, std=0.55, time=0.056),
    "leaky_relu": dict(acc=0.954, decay=0.85, dead=0.01, sat=0.0, mean=0.42, std=0.7, time=0.051),
    "softplus": dict(acc=0.946, decay=0.75, dead=0.0, sat=0.0, mean=0.75, std=0.6, time=0.058),
    "identity": dict(acc=0.86, decay=1.0, dead=0.0, sat=0.0, mean=0.0, std=1.3, time=0.045),
}
DIVERGED = ("relu", 2, 6)
"""(activation, seed, epoch) of the candidate that diverges in :func:`synthetic_result`."""


def _candidate(
    act: str, seed: int, group: str, depth: int, epochs: int, rng: np.random.Generator
) -> dict[str, Any]:
    p = _PROFILES[act]
    depth_penalty = (1 - p["decay"]) * 0.02 * (depth - 2)
    acc = p["acc"] - depth_penalty + rng.normal(0, 0.004)
    e = np.arange(1, epochs + 1)
    val_metric = acc - (acc - 0.1) * np.exp(-e / 2.0) + rng.normal(0, 0.002, epochs)
    train_loss = 2.3 * np.exp(-e / 2.2) + (1 - acc) * 0.8
    val_loss = train_loss * 1.1 + rng.normal(0, 0.005, epochs) ** 2
    grad_last = 0.5 * (0.6 + p["std"] * 0.5) * np.exp(-e / 8.0)
    layers = np.arange(depth)
    grad = grad_last[:, None] * p["decay"] ** (depth - 1 - layers)[None, :]
    grow = (1 - np.exp(-e / 3.0))[:, None] * np.ones(depth)
    dead = np.clip(p["dead"] * grow * (1 + 0.2 * layers), 0, 1)
    sat = np.clip(p["sat"] * grow * (1 + 0.15 * layers), 0, 1)
    a_mean = p["mean"] * np.ones((epochs, depth)) + rng.normal(0, 0.02, (epochs, depth))
    shrink = 1.0 if act in ("selu", "identity") else 0.9
    a_std = p["std"] * shrink**layers * np.ones((epochs, 1)) + rng.normal(0, 0.01, (epochs, depth))
    history: dict[str, Any] = {
        "train_loss": train_loss.tolist(),
        "val_loss": val_loss.tolist(),
        "val_metric": val_metric.tolist(),
        "epoch_time": (p["time"] * (1 + rng.normal(0, 0.03, epochs))).tolist(),
        "grad_norm": grad.tolist(),
        "dead_fraction": dead.tolist(),
        "saturated_fraction": sat.tolist(),
        "act_mean": a_mean.tolist(),
        "act_std": a_std.tolist(),
    }
    rec: dict[str, Any] = {
        "group": group,
        "activation": act,
        "seed": seed,
        "init": "lecun" if act == "selu" else ("glorot" if act in ("sigmoid", "tanh") else "he"),
        "status": "ok",
        "diverged_epoch": None,
        "test_metric": float(val_metric[-1] + rng.normal(0, 0.003)),
        "test_loss": float(val_loss[-1]),
        "history": history,
    }
    if (act, seed) == DIVERGED[:2]:
        at = DIVERGED[2]
        rec.update(status="diverged", diverged_epoch=at, test_metric=None, test_loss=None)
        for values in history.values():
            for i in range(at - 1, epochs):
                values[i] = [None] * depth if isinstance(values[i], list) else None
    return rec


def synthetic_result(
    activations: tuple[str, ...] = ("relu", "elu", "sigmoid", "identity"),
    seeds: int = 3,
    epochs: int = 10,
    depths: tuple[int, ...] = (),
    width: int = 128,
) -> CompareResult:
    """A realistic comparison result (as loaded from results.json): one group of two hidden
    layers of ``width`` units, or one group per entry of ``depths``. relu's seed 2 diverges
    at epoch 6 (nulls from then on) when relu and seed 2 are part of the sweep."""
    rng = np.random.default_rng(1234)
    if depths:
        groups = {f"mlp-depth{d}-width{width}": [width] * d for d in depths}
    else:
        groups = {f"mlp-{width}x{width}": [width, width]}
    candidates = [
        _candidate(act, seed, name, len(hidden), epochs, rng)
        for name, hidden in groups.items()
        for act in activations
        for seed in range(seeds)
    ]
    costs = {
        a: {
            "seconds": _PROFILES[a]["time"] / 1000,
            "relative_to_relu": _PROFILES[a]["time"] / _PROFILES["relu"]["time"],
        }
        for a in activations
    }
    config = {
        "data": "digits",
        "activations": list(activations),
        "seeds": list(range(seeds)),
        "model": "mlp",
        "hidden": [width, width],
        "depths": list(depths),
        "epochs": epochs,
        "optimizer": "adam",
        "lr": 0.001,
        "batch_size": 64,
        "init": "auto",
    }
    data = {
        "name": "digits",
        "n_samples": 1797,
        "n_features": 64,
        "task": "classification",
        "n_classes": 10,
        "source": "scikit-learn load_digits",
        "notes": "8x8 images, pixel values scaled to zero mean and unit variance",
    }
    environment = {"actlab": "0.1.0", "python": "3.11.2", "torch": "2.13.0", "cpu_count": 2}
    payload = {
        "config": config,
        "data": data,
        "environment": environment,
        "candidates": candidates,
        "groups": {name: {"hidden": hidden} for name, hidden in groups.items()},
        "costs": costs,
    }
    # Through JSON, exactly as the report command loads a run directory.
    return CompareResult.from_dict(json.loads(json.dumps(payload)))


def all_diverged_result(seeds: int = 2, epochs: int = 5) -> CompareResult:
    """Every candidate's loss turned non-finite in the first epoch (``--lr 10`` with SGD):
    every history entry and test metric is null."""
    result = synthetic_result(("relu", "tanh", "selu", "sigmoid"), seeds=seeds, epochs=epochs)
    for rec in result.candidates:
        rec.status, rec.diverged_epoch = "diverged", 1
        rec.test_metric = rec.test_loss = math.nan
        for key, values in rec.history.items():
            if key != "epoch_time":
                rec.history[key] = [
                    [math.nan] * len(v) if isinstance(v, list) else math.nan for v in values
                ]
    return result


def text_result(seeds: int = 3, epochs: int = 8) -> CompareResult:
    """A next-character run on the text corpus (``--model ffn``), ranked by bits per
    character: relu and tanh at the plain width 128, swiglu resized by ``--match params``
    to round(2/3 x 128) = 85 units (its parameter count matched). Built from
    :func:`synthetic_result`'s histories with elu's renamed swiglu; ``test_bpc`` is
    ``test_loss / ln 2`` as the runner records it."""
    base = synthetic_result(("relu", "elu", "tanh"), seeds=seeds, epochs=epochs)
    payload = base.to_dict()
    rename = {"elu": "swiglu"}
    for c in payload["candidates"]:
        c["activation"] = rename.get(c["activation"], c["activation"])
        gated = c["activation"] == "swiglu"
        c["widths"] = [85, 85] if gated else [128, 128]
        c["parameters"] = 50_001 if gated else 50_000
        loss = c["test_loss"]
        c["test_bpc"] = None if loss is None else loss / math.log(2)
    payload["config"].update(
        data="text(chars=5000)",
        model="ffn",
        match="params",
        activations=[rename.get(a, a) for a in payload["config"]["activations"]],
    )
    payload["costs"] = {rename.get(a, a): v for a, v in payload["costs"].items()}
    payload["data"] = {**payload["data"], "name": "text(chars=5000)"}
    payload.pop("analysis")
    return CompareResult.from_dict(json.loads(json.dumps(payload, default=str)))
