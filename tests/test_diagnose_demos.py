"""The built-in demonstrations behind ``actlab diagnose --demo NAME``."""

from __future__ import annotations

import pytest
import torch

from actlab.diagnose import demo_names, run_demo

EXPECTED = {
    "deep-sigmoid": {"vanishing_gradient"},
    "dead-relu": {"dead_units"},
    "selu-fixed-point": {"self_normalizing"},
    "no-activation": {"linear_collapse", "nothing_watched"},
    "exploding": {"exploding_gradient", "non_finite"},
}
"""The demos that show a finding (derived-gain, a contrast of two inits, is tested below)."""


def test_every_demo_is_listed() -> None:
    assert demo_names() == [*EXPECTED, "derived-gain"]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_demo_shows_its_phenomenon_and_writes_its_report(name: str, tmp_path) -> None:
    result = run_demo(name, tmp_path)
    assert set(result.kinds) == EXPECTED[name]
    assert result.report == tmp_path / f"{name}.html"
    page = result.report.read_text()
    assert all(kind in page for kind in EXPECTED[name])
    drawn = 'data-figure="signals"' in page
    assert drawn is (name != "no-activation")  # no activation, nothing to plot
    assert result.steps > 0 and 0.0 <= result.accuracy <= 1.0


def test_derived_gain_demo_trains_where_the_table_gain_does_not(tmp_path) -> None:
    """The derived gain is the catalog's (not a constant), the monitored network trains far
    above chance and its He-initialised contrast, same seed and batches, stays far below.
    One torch thread: 40 layers amplify the summation order (two threads: 0.69 vs 0.51)."""
    from actlab.catalog.propagation import variance_preserving_gain

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = run_demo("derived-gain", tmp_path)
    finally:
        torch.set_num_threads(threads)
    assert result.kinds == [] and result.report.exists()
    assert f"{variance_preserving_gain('elu'):.4f}" in result.description
    assert result.contrast is not None and "He gain 1.4142" in result.contrast.label
    assert result.accuracy > 0.8
    assert result.contrast.accuracy < 0.5


def test_demos_are_deterministic(tmp_path) -> None:
    a, b = run_demo("dead-relu", tmp_path / "a"), run_demo("dead-relu", tmp_path / "b")
    assert [f.numbers for f in a.findings] == [f.numbers for f in b.findings]


def test_unknown_demo_names_the_known_ones(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"'nope'.*deep-sigmoid"):
        run_demo("nope", tmp_path)
