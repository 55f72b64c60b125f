"""The test zoo itself: every model builds, trains a step, and its facts name real parts."""

from __future__ import annotations

import math

import pytest
import torch

import zoo


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_model_trains_and_its_facts_name_real_modules(name: str) -> None:
    model = zoo.build(name)
    losses = zoo.train(name, model, 2, n=4)
    assert all(math.isfinite(v) for v in losses)
    modules = dict(model.named_modules())
    for site, fact in zoo.ZOO[name].sites.items():
        base = site.split("#")[0]
        if base.endswith("()"):
            enclosing = base[: -len("()")].rpartition(".")[0]
            assert enclosing in modules, (site, enclosing)
        elif base not in modules:  # a function held as an attribute
            owner, _, attribute = base.rpartition(".")
            assert callable(getattr(modules[owner], attribute)), site
        assert fact.role in (zoo.HIDDEN, zoo.GATE, zoo.OUTPUT)
        assert fact.feeder is None or fact.feeder in modules, (site, fact.feeder)


def test_zoo_seeds_give_the_same_weights() -> None:
    a, b = zoo.build("resnet", seed=3), zoo.build("resnet", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
