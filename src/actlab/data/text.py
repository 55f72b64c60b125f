"""Next-character prediction on the embedded corpus: ``--data "text(context=64)"``.

The corpus (:mod:`actlab.data.corpus`, generated, ``chars`` characters) is cut into
non-overlapping windows of ``context + 1`` characters; a sample is the first ``context``
characters as token ids ``x [T]`` and the next character at every position ``y [T]``
(``y[t] = x[t + 1]``). The windows are split in text order, train first, then
validation, then test: a random split would put the neighbours of test text, and text
that recurs across windows, into training. The loss is the mean cross-entropy per
predicted character in nats; the metric is bits per character = loss / ln 2
(:func:`actlab.analysis.stats.bits_per_character`), lower is better; accuracy per
character is recorded beside it.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actlab.catalog.errors import SpecSyntaxError
from actlab.catalog.spec import format_value, parse_raw
from actlab.data.corpus import generate
from actlab.data.errors import DataError
from actlab.data.registry import Param

TEXT_NAME = "text"
PARAMS = {
    "context": Param(64, True, 2, 1024),
    "chars": Param(200_000, True, 1_000, 400_000),
    "seed": Param(0, True, 0),
}
SOURCE = (
    "generated English-like prose (actlab.data.corpus: a seeded grammar, no copied text, "
    "no licence beyond actlab's)"
)


def is_text(name: Any) -> bool:
    """Whether ``name`` names the text corpus (``"text"``, ``"text(context=32)"``)."""
    return isinstance(name, str) and name.split("(")[0].strip().lower() == TEXT_NAME


@dataclass(frozen=True)
class TextSplits:
    """Train / validation / test windows: ``X_*`` token ids ``[N, context]`` (int64),
    ``y_*`` the next character at each position ``[N, context]``; ``class_labels`` the
    vocabulary (character of id ``k``)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_labels: list[str]
    task: str = "classification"
    image_shape: None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_outputs(self) -> int:
        return len(self.class_labels)

    def summary(self) -> dict[str, Any]:
        """Part sizes in predicted characters (what accuracy is measured over) and in
        windows."""
        t = self.n_features
        return {
            "task": self.task,
            "n_train": int(self.y_train.size),
            "n_val": int(self.y_val.size),
            "n_test": int(self.y_test.size),
            "windows": {
                "train": len(self.X_train),
                "val": len(self.X_val),
                "test": len(self.X_test),
            },
            "context": t,
            "n_features": t,
            "n_outputs": self.n_outputs,
            "image_shape": None,
            "class_labels": list(self.class_labels),
            "class_counts": None,
            "target_scale": None,
            "standardization": "none (token ids)",
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class TextCorpus:
    """The corpus as a data set (what a run records about its data)."""

    name: str
    text: str
    context: int
    source: str = SOURCE

    @property
    def vocabulary(self) -> list[str]:
        return sorted(set(self.text))

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_samples": (len(self.text) - 1) // self.context,
            "n_features": self.context,
            "task": "classification",
            "n_classes": len(self.vocabulary),
            "class_counts": None,
            "image_shape": None,
            "source": self.source,
            "notes": [
                f"{len(self.text)} characters, next-character prediction over windows of "
                f"{self.context}; metric: bits per character (loss / ln 2, lower is "
                "better); accuracy per character beside it",
                "sha256 " + hashlib.sha256(self.text.encode()).hexdigest()[:16],
            ],
            "missing_values": 0,
        }


def parse(spec: str) -> tuple[str, dict[str, int]]:
    """The canonical name and the parameter values of a ``text(...)`` spec."""
    try:
        raw = parse_raw(spec)
    except SpecSyntaxError as exc:
        raise DataError(f"{spec!r}: {exc.problem} at position {exc.position}") from None
    values = {k: int(p.default) for k, p in PARAMS.items()}
    given = []
    for key, value in raw.args:
        param = PARAMS.get(key.lower())
        if param is None:
            raise DataError(f"dataset text has no parameter {key!r} (valid: {', '.join(PARAMS)})")
        values[key.lower()] = int(param.check(TEXT_NAME, key.lower(), value))
        given.append(f"{key.lower()}={format_value(values[key.lower()])}")
    return (f"{TEXT_NAME}({', '.join(given)})" if given else TEXT_NAME), values


def load_text(
    spec: str, *, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> tuple[TextCorpus, TextSplits]:
    """The corpus named by ``spec`` and its splits (see the module docstring)."""
    name, values = parse(spec)
    context = values["context"]
    text = generate(values["chars"], values["seed"])
    vocabulary = sorted(set(text))
    lookup = {c: i for i, c in enumerate(vocabulary)}
    codes = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    n = (len(codes) - 1) // context
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    n_train = n - n_val - n_test
    if min(n_train, n_val, n_test) < 1:
        raise DataError(
            f"{name}: {len(text)} characters make {n} windows of {context}, too few for a "
            f"train / validation / test split of {n_train} / {n_val} / {n_test}; use more "
            "chars or a shorter context"
        )
    x = codes[: n * context].reshape(n, context)
    y = codes[1 : n * context + 1].reshape(n, context)
    cuts = [0, n_train, n_train + n_val, n]
    parts = [(x[a:b], y[a:b]) for a, b in itertools.pairwise(cuts)]
    splits = TextSplits(
        X_train=parts[0][0],
        y_train=parts[0][1],
        X_val=parts[1][0],
        y_val=parts[1][1],
        X_test=parts[2][0],
        y_test=parts[2][1],
        class_labels=vocabulary,
        notes=["windows split in text order (train, validation, test), not shuffled"],
    )
    return TextCorpus(name, text, context), splits
