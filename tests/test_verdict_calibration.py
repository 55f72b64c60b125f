"""The verdicts' error rates and power, by simulation with a known truth.

Synthetic per-seed validation scores: each seed has a shared effect (some seeds suit every
candidate; pairing removes it) and each candidate its own noise, with unequal spreads.
The production procedure (:func:`actlab.analysis.verdicts.decide`, vectorised) runs on
thousands of simulated comparisons at once. Each bound is checked with a Monte Carlo
allowance of 3 standard errors, and each check is shown to fail on a deliberately broken
procedure (no adjustment, a family of the leader's comparisons only, no alpha spending),
so it can fail.
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest

from actlab.analysis import Design, Margin, MetricScale, Verdict, judge
from actlab.analysis import verdicts as procedure
from actlab.analysis.stats import (
    MIN_SEEDS_TO_CONCLUDE,
    detectable_difference,
    p_worse,
    paired_differences,
)
from actlab.analysis.verdicts import decide

ALPHA = 0.05
WORSE = list(Verdict).index(Verdict.WORSE)
EQUIVALENT = list(Verdict).index(Verdict.EQUIVALENT)


def simulate(
    reps: int, means: list[float], seeds: int, *, seed: int, sd: float = 1.0
) -> np.ndarray:
    """Scores ``[reps, K, seeds]``: mean + shared seed effect + own noise (spreads from
    0.5 to 1.5 times ``sd`` across candidates)."""
    rng = np.random.default_rng(seed)
    k = len(means)
    spread = sd * np.linspace(0.5, 1.5, k)[:, None]
    shared = rng.normal(0, 2 * sd, (reps, 1, seeds))
    return np.asarray(means)[:, None] + shared + spread * rng.normal(size=(reps, k, seeds))


def at_most(rate: float, bound: float, reps: int) -> bool:
    """``rate`` is within Monte Carlo error (3 standard errors) of at most ``bound``."""
    return rate <= bound + 3 * math.sqrt(bound * (1 - bound) / reps)


def no_adjustment(local, open_, members, adjustment):
    return np.where(open_, local, np.nan)


# --- false `worse` when every candidate is equal -------------------------------------------


def test_false_worse_rate_is_at_most_alpha_when_all_are_equal_fixed_seeds():
    reps = 20_000
    scores = simulate(reps, [0.0] * 8, 5, seed=1)
    d = decide(scores, margin=0.0, design=Design.fixed(5))
    assert at_most(d.any_worse_rejected.mean(), ALPHA, reps)
    assert (d.verdict == WORSE).any(axis=-1).mean() <= d.any_worse_rejected.mean()
    # The same check fails without the multiplicity adjustment ...
    with mock.patch.object(procedure, "_adjust", no_adjustment):
        broken = decide(scores[:2000], margin=0.0, design=Design.fixed(5))
    assert not at_most(broken.any_worse_rejected.mean(), ALPHA, 2000)


def test_adjusting_only_the_leaders_comparisons_is_not_enough():
    """... and with Holm over the leader's 7 comparisons alone: the leader is the luckiest
    of 8 equal candidates, so its differences are biased upwards (why every pair is in
    the family)."""
    reps = 20_000
    scores = simulate(reps, [0.0] * 8, 5, seed=2)
    d = paired_differences(scores)
    leader = scores.mean(axis=-1).argmax(axis=-1)
    rows = np.take_along_axis(d.mean, leader[:, None, None], axis=1)[:, 0]
    se = np.take_along_axis(d.se, leader[:, None, None], axis=1)[:, 0]
    p = np.where(np.arange(8) == leader[:, None], np.inf, p_worse(rows, se, 4, 0.0))
    naive = (np.sort(p, axis=-1)[:, 0] <= ALPHA / 7).mean()  # Holm's first step
    assert not at_most(naive, ALPHA, reps)
    assert naive > 0.12


def test_false_worse_rate_is_at_most_alpha_under_sequential_looks():
    reps = 4000
    scores = simulate(reps, [0.0] * 8, 30, seed=3)
    design = Design.auto(5, 5, 30)
    d = decide(scores, margin=0.0, design=design)
    assert at_most(d.any_worse_rejected.mean(), ALPHA, reps)
    # Looking six times at the full level each time breaks it.
    with mock.patch.object(procedure, "local_levels", lambda p, times, look: p):
        broken = decide(scores, margin=0.0, design=design)
    assert not at_most(broken.any_worse_rejected.mean(), ALPHA, reps)


def test_a_difference_of_exactly_the_margin_is_not_called_worse():
    """Every claim "worse by more than the margin" is false here (the largest true
    difference is the margin itself); sequential looks, stopping when resolved."""
    reps = 4000
    margin = 0.6
    scores = simulate(reps, [0.0, 0.0, 0.0, -margin], 30, seed=4)
    d = decide(scores, margin=margin, design=Design.auto(5, 5, 30))
    assert at_most(d.any_worse_rejected.mean(), ALPHA, reps)


def test_discrete_accuracies_with_ties_keep_the_rate():
    """Accuracy on 200 samples, seed noise of a third of a sample: most seeds tie. The
    resolution floor keeps a zero spread from calling anything certain."""
    reps = 20_000
    scores = simulate(reps, [0.0] * 6, 5, seed=5, sd=1 / 600)
    scores = np.round((0.95 + scores) * 200) / 200
    d = decide(
        scores,
        margin=0.0,
        design=Design.fixed(5),
        sd_floor=MetricScale.of("accuracy", 200).difference_sd_floor,
    )
    assert at_most(d.any_worse_rejected.mean(), ALPHA, reps)
    with mock.patch.object(procedure, "_adjust", no_adjustment):
        unfloored = decide(scores[:2000], margin=0.0, design=Design.fixed(5), sd_floor=0.0)
    assert not at_most(unfloored.any_worse_rejected.mean(), ALPHA, 2000)


# --- false `equivalent` ------------------------------------------------------------------


def _false_equivalent(d) -> np.ndarray:
    """Runs that called a pair equivalent across the two groups: candidate 0 and the
    others, which are all exactly a margin behind it (and equal to each other)."""
    verdicts = d.verdict == EQUIVALENT
    zero_leads = d.leader == 0
    return np.where(zero_leads, verdicts.any(axis=-1), verdicts[..., 0])


@pytest.mark.parametrize("design", [Design.fixed(30), Design.auto(5, 5, 30)], ids=str)
def test_false_equivalence_rate_is_at_most_alpha(design):
    """Seven candidates exactly a margin behind the first: each is falsely called
    equivalent to it by a TOST at its own level about alpha of the time, so it takes
    the adjustment (Holm's step-down passes the level of the truly equivalent pairs
    among the seven on to these seven) to keep any false equivalence at alpha."""
    reps = 4000
    margin = 1.5
    scores = simulate(reps, [0.0] + [-margin] * 7, 30, seed=6, sd=0.5)
    d = decide(scores, margin=margin, design=design)
    assert at_most(_false_equivalent(d).mean(), ALPHA, reps)
    with mock.patch.object(procedure, "_adjust", no_adjustment):
        broken = decide(scores, margin=margin, design=design)
    assert not at_most(_false_equivalent(broken).mean(), ALPHA, reps)


# --- power ---------------------------------------------------------------------------------


def test_power_at_the_detectable_difference_is_eighty_percent():
    """Two candidates, spread of the differences known: the stated detectable difference
    is called worse in 80% of runs (the family's first Holm level is the exact one)."""
    reps, n, margin = 20_000, 8, 0.5
    rng = np.random.default_rng(7)
    sd = 1.0
    delta = detectable_difference(n, sd, margin, ALPHA / 2)
    shared = rng.normal(0, 2, (reps, 1, n))
    noise = rng.normal(size=(reps, 2, n)) * np.array([[0.0], [sd]])
    scores = shared + noise + np.array([[0.0], [-delta]])
    d = decide(scores, margin=margin, design=Design.fixed(n))
    rate = (d.verdict[..., 1] == WORSE).mean()
    assert abs(rate - 0.8) <= 3 * math.sqrt(0.8 * 0.2 / reps), rate


def test_the_power_a_report_claims_holds():
    """Eight candidates, one truly behind by the difference a report says these seeds
    would detect with 80% power: it is found worse in at least 80% of runs. And with the
    number of seeds the report says would resolve an observed difference, it is."""
    n, margin = 6, 0.25
    observed = simulate(1, [0.0] * 7 + [-0.7], n, seed=12, sd=0.4)[0]
    order = np.argsort(-observed.mean(axis=1), kind="stable")
    names = [f"a{i}" for i in order]
    scale = MetricScale("score", -math.inf, math.inf, 0.0)
    v = judge(
        names, observed[order], scale=scale, margin=Margin.given(margin), design=Design.fixed(n)
    )
    claim = v.of("a7")
    assert claim.verdict is Verdict.NOT_RESOLVED and claim.power is not None
    assert claim.power.resolves_as == "worse" and claim.power.seeds_needed > n

    rng = np.random.default_rng(9)
    reps, floor = 4000, 0.8 - 3 * math.sqrt(0.16 / 4000)

    def found_worse(behind: float, seeds: int) -> float:
        """How often a7, truly ``behind`` the others (differences spread as observed),
        is called worse with ``seeds`` seeds."""
        truth = np.array([0.0] * 7 + [-behind])[:, None]
        own = claim.sd / math.sqrt(2) * rng.normal(size=(reps, 8, seeds))
        sims = truth + rng.normal(0, 1, (reps, 1, seeds)) + own
        d = decide(sims, margin=margin, design=Design.fixed(seeds))
        return float((d.verdict[..., 7] == WORSE).mean())

    assert found_worse(claim.power.detectable, n) >= floor
    assert found_worse(claim.difference, claim.power.seeds_needed) >= floor


def test_too_few_seeds_are_not_concluded():
    scores = simulate(1, [0.0, -5.0], MIN_SEEDS_TO_CONCLUDE - 1, seed=10)[0]
    scale = MetricScale("score", -math.inf, math.inf, 0.0)
    v = judge(["a", "b"], scores, scale=scale, margin=Margin.given(0.1), design=Design.fixed(2))
    assert v.of("b").verdict is Verdict.NOT_CONCLUDED and v.of("b").worse is None


# --- a lower-is-better metric (bits per character) -----------------------------------------


BPC = MetricScale.of("bpc")


def test_lower_bits_per_character_keep_the_false_worse_rate():
    """Bits per character (lower is better), every candidate equal: the rate of any false
    `worse` stays at most alpha under sequential looks, as for accuracy."""
    reps = 4000
    scores = 1.5 + simulate(reps, [0.0] * 6, 30, seed=21, sd=0.01)
    d = decide(
        scores,
        margin=0.0,
        design=Design.auto(5, 5, 30),
        sd_floor=BPC.difference_sd_floor,
        higher_is_better=BPC.higher_is_better,
    )
    assert at_most(d.any_worse_rejected.mean(), ALPHA, reps)


def test_a_truly_lower_bpc_leads_and_a_higher_one_is_worse_with_the_stated_power():
    """Two candidates; b's bits per character are truly higher (worse) than a's by the
    difference the report says these seeds detect with 80% power: a leads and b is called
    worse in 80% of runs. Read the wrong way round (higher is better), b would lead."""
    reps, n, margin, sd = 20_000, 8, 0.005, 0.01
    rng = np.random.default_rng(23)
    delta = detectable_difference(n, sd, margin, ALPHA / 2)
    shared = rng.normal(0, 0.02, (reps, 1, n))
    noise = rng.normal(size=(reps, 2, n)) * np.array([[0.0], [sd]])
    scores = 1.5 + shared + noise + np.array([[0.0], [delta]])
    d = decide(scores, margin=margin, design=Design.fixed(n), higher_is_better=False)
    rate = (d.verdict[..., 1] == WORSE).mean()
    assert abs(rate - 0.8) <= 3 * math.sqrt(0.8 * 0.2 / reps), rate
    assert (d.leader == 0).mean() > 0.99
    assert (d.difference[..., 1] > 0).mean() > 0.99  # the leader's advantage, positive
    wrong_way = decide(scores, margin=margin, design=Design.fixed(n))
    assert (wrong_way.verdict[..., 1] == WORSE).mean() < 0.01


def test_mirroring_the_metric_mirrors_every_decision():
    """The same runs recorded as ``x`` (higher is better) and as ``-x`` (lower is better)
    give the same leader, verdicts, differences and p-values, also with diverged seeds
    and sequential looks."""
    scores = simulate(500, [0.0, 0.0, -0.3, -3.0, 0.2], 20, seed=25, sd=0.3)
    scores[::7, 3, 5:] = np.nan  # candidate 3 diverges in some runs
    design = Design.auto(5, 5, 20)
    up = decide(scores, margin=0.8, design=design)
    down = decide(-scores, margin=0.8, design=design, higher_is_better=False)
    for name in up.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(up, name), getattr(down, name), err_msg=name)
    assert (up.verdict == WORSE).any() and (up.verdict == EQUIVALENT).any()
