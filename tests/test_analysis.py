"""Statistics against scipy and hand computations; verdicts, ranking and the tie-break on
constructed results; the same verdict in every view. Error rates and power are checked by
simulation in test_verdict_calibration.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from actlab.analysis import (
    AnalysisSettings,
    Design,
    Margin,
    MetricScale,
    Rule,
    Verdict,
    analyse_group,
    judge,
    sequential,
    summarize,
    words,
)
from actlab.analysis import stats as stats_module
from actlab.analysis.sequential import (
    _pchip,
    boundaries,
    local_levels,
    nominal_levels,
    spent,
)
from actlab.analysis.stats import (
    MIN_SEEDS_TO_CONCLUDE,
    SEEDS_LIMIT,
    _power_equivalent,
    _power_worse,
    detectable_difference,
    first_reaching,
    nct_sf,
    p_equivalent,
    p_worse,
    paired_differences,
    seeds_to_resolve,
    t_isf,
    t_ppf,
)
from actlab.analysis.verdicts import _adjust
from actlab.engine.results import CandidateResult

ACC = MetricScale.of("accuracy", 359)


# --- summaries ---------------------------------------------------------------------------


def test_t_and_noncentral_t_match_scipy_stats():
    """The analysis' own t quantile and noncentral-t survival function
    (:mod:`actlab.analysis.special`, tested against mpmath in ``tests/test_special.py``)
    agree with scipy.stats over degrees of freedom, levels and noncentralities."""
    for df in (1, 2, 4, 9, 29, 99, 1000):
        for q in (1e-6, 0.0125, 0.05, 0.5, 0.8, 0.975):
            assert t_ppf(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-12, abs=1e-300)
            assert t_isf(q, df) == pytest.approx(stats.t.isf(q, df), rel=1e-12, abs=1e-300)
        for x in (-3.0, 0.0, 1.7, 4.0, 40.0):
            nc = np.array([-12.0, -1.0, 0.0, 0.5, 3.0, 30.0])
            np.testing.assert_allclose(nct_sf(x, df, nc), stats.nct.sf(x, df, nc), atol=1e-12)


def test_summarize_matches_scipy_t_interval_inside_the_range():
    values = [0.91, 0.93, 0.92, 0.95, 0.90]
    s = summarize(values, scale=ACC)
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert s.n == 5 and s.mean == pytest.approx(np.mean(values))
    assert s.std == pytest.approx(np.std(values, ddof=1))
    assert (s.ci_low, s.ci_high) == pytest.approx((lo, hi))


def test_interval_never_leaves_the_metric_range():
    """The issue's -0.127: a near-chance candidate with a wide spread."""
    values = [0.02, 0.45, 0.04]
    lo, hi = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert lo < 0  # the plain t interval leaves [0, 1]
    s = summarize(values, scale=ACC)
    assert s.ci_low == 0.0 and s.ci_high == pytest.approx(hi)
    top = summarize([0.99, 1.0, 0.6], scale=ACC)
    assert top.ci_high == 1.0
    r2 = summarize([0.5, 0.9, -3.0], scale=MetricScale.of("r2"))
    assert r2.ci_high == 1.0 and r2.ci_low < -3.0  # R^2 is bounded above only


def test_identical_seeds_do_not_give_a_zero_width_interval():
    s = summarize([1.0] * 5, scale=MetricScale.of("accuracy", 30))
    assert s.std == 0.0 and s.ci_high == 1.0
    half = stats.t.ppf(0.975, 4) * (1 / 30) / math.sqrt(12) / math.sqrt(5)
    assert s.ci_low == pytest.approx(1.0 - half)


def test_summarize_drops_nan_and_single_value_has_no_interval():
    s = summarize([0.5, math.nan], scale=ACC)
    assert s.n == 1 and s.mean == 0.5 and math.isnan(s.ci_low)
    assert summarize([]).n == 0


# --- paired differences and tests --------------------------------------------------------


def test_paired_differences_match_a_loop_over_pairs():
    rng = np.random.default_rng(3)
    x = 0.9 + 0.01 * rng.normal(size=(2, 4, 7))
    x[0, 1, [2, 5]] = np.nan  # diverged seeds drop those pairs
    x[1, 3, :] = np.nan
    d = paired_differences(x, sd_floor=0.0)
    for r in range(2):
        for a in range(4):
            for b in range(4):
                both = np.isfinite(x[r, a]) & np.isfinite(x[r, b])
                diff = x[r, a, both] - x[r, b, both]
                assert d.n[r, a, b] == both.sum()
                if both.sum() >= 2:
                    assert d.mean[r, a, b] == pytest.approx(diff.mean(), abs=1e-12)
                    assert d.sd[r, a, b] == pytest.approx(diff.std(ddof=1), abs=1e-9)
                else:
                    assert math.isnan(d.sd[r, a, b])


def test_margin_tests_match_scipy_one_sample_t_tests():
    diff = np.array([0.012, 0.004, 0.009, 0.015, 0.007, 0.011])
    m = 0.005
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    df = diff.size - 1
    worse = stats.ttest_1samp(diff - m, 0.0, alternative="greater").pvalue
    assert float(p_worse(diff.mean(), se, df, m)) == pytest.approx(worse)
    tost = max(
        stats.ttest_1samp(diff + m, 0.0, alternative="greater").pvalue,
        stats.ttest_1samp(diff - m, 0.0, alternative="less").pvalue,
    )
    assert float(p_equivalent(diff.mean(), se, df, m)) == pytest.approx(tost)


def test_a_constant_difference_does_not_give_p_zero():
    """Every seed one validation sample apart: the old paired test said p = 0."""
    x = np.array([[0.95] * 5, [0.95 - 1 / 359] * 5])
    d = paired_differences(x, ACC.difference_sd_floor)
    assert d.sd[0, 1] == pytest.approx((1 / 359) / math.sqrt(6))
    p0 = float(p_worse(d.mean[0, 1], d.se[0, 1], 4, 0.0))  # no margin: a real but tiny p
    assert 0 < p0 < 0.01
    v = judge(
        ["elu", "relu"], x, scale=ACC, margin=Margin.default(ACC, 359), design=Design.fixed(5)
    )
    relu = v.of("relu")  # one sample apart, within the margin: never worse
    assert relu.verdict is Verdict.EQUIVALENT and 0 < relu.equivalent.p < 0.05


def test_holm_adjustment_by_hand():
    p = np.array([[0.01, 0.04, 0.03, 0.005]])
    open_ = np.ones_like(p, dtype=bool)
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, then running maximum
    assert _adjust(p, open_, open_, "holm")[0] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert _adjust(p, open_, open_, "bonferroni")[0] == pytest.approx([0.04, 0.16, 0.12, 0.02])
    closed = open_.copy()
    closed[0, 3] = False  # already rejected: the others share its level
    holm = _adjust(p, closed, open_, "holm")
    assert holm[0, :3] == pytest.approx([0.03, 0.06, 0.06]) and math.isnan(holm[0, 3])


# --- power ----------------------------------------------------------------------------------


def test_detectable_difference_approaches_the_normal_formula():
    sd, m, level = 0.004, 0.005, 0.05 / 56
    n = 400
    z = stats.norm.isf(level) + stats.norm.ppf(0.8)
    assert detectable_difference(n, sd, m, level) == pytest.approx(
        m + z * sd / math.sqrt(n), rel=0.01
    )
    assert detectable_difference(5, sd, m, level) > detectable_difference(10, sd, m, level)


def test_seeds_to_resolve_is_the_smallest_count_reaching_the_power():
    verdict, n = seeds_to_resolve(0.012, 0.005, 0.005, 0.05 / 56, 0.05 / 28)
    assert verdict == "worse"

    def power(k: int) -> float:
        lam = (0.012 - 0.005) / (0.005 / math.sqrt(k))
        return stats.nct.sf(stats.t.isf(0.05 / 56, k - 1), k - 1, lam)

    assert power(n) >= 0.8 > power(n - 1)
    verdict, n = seeds_to_resolve(0.001, 0.004, 0.005, 0.05 / 56, 0.05 / 28)
    assert verdict == "equivalent" and 10 < n < 200
    assert seeds_to_resolve(0.005, 0.004, 0.005, 0.01, 0.01) is None  # on the margin
    assert seeds_to_resolve(0.0050001, 0.004, 0.005, 0.01, 0.01) == ("worse", None)


@pytest.mark.parametrize("threshold", [1, 3, 4, 5, 17, 1000, SEEDS_LIMIT, SEEDS_LIMIT + 1])
@pytest.mark.parametrize("guess", [-5.0, 0.0, 3.0, 4.4, 16.0, 18.0, 5e3, 1e9, math.inf, math.nan])
def test_first_reaching_finds_the_smallest_count_from_any_guess(threshold, guess):
    asked = []

    def reaches(n: int) -> bool:
        asked.append(n)
        return n >= threshold

    expected = None if threshold > SEEDS_LIMIT else max(threshold, MIN_SEEDS_TO_CONCLUDE)
    assert first_reaching(reaches, guess) == expected
    assert all(MIN_SEEDS_TO_CONCLUDE <= n <= SEEDS_LIMIT for n in asked)


def _bisection_from_the_least(reaches) -> int | None:
    """The search as it was: check the limit, double from 3, bisect."""
    if not reaches(SEEDS_LIMIT):
        return None
    lo, hi = 2, 3
    while not reaches(hi):
        lo, hi = hi, min(hi * 2, SEEDS_LIMIT)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if not reaches(mid) else (lo, mid)
    return hi


def test_seeds_to_resolve_equals_a_search_from_the_least_count(monkeypatch):
    """Started at the normal approximation, the search ends where one from 3 seeds does,
    asking the power far fewer times."""
    calls = {"new": 0, "old": 0}

    def counted(power_of):
        def wrapped(*args):
            calls["new"] += 1
            return power_of(*args)

        return wrapped

    monkeypatch.setattr(stats_module, "_power_worse", counted(_power_worse))
    monkeypatch.setattr(stats_module, "_power_equivalent", counted(_power_equivalent))
    rng = np.random.default_rng(0)
    margin, levels = 0.005, (0.05 / 56, 0.05 / 28)
    resolved = 0
    for _ in range(30):
        sd, diff = float(rng.uniform(0.001, 0.02)), float(rng.uniform(-0.01, 0.03))
        found = seeds_to_resolve(diff, sd, margin, *levels)
        if found is None:
            continue
        verdict, n = found
        power_of, level = (
            (_power_worse, levels[0]) if verdict == "worse" else (_power_equivalent, levels[1])
        )

        def reaches(k: int, power_of=power_of, level=level, diff=diff, sd=sd) -> bool:
            calls["old"] += 1
            return power_of(k, diff, sd, margin, level) >= 0.8

        assert n == _bisection_from_the_least(reaches), (diff, sd)
        resolved += n is not None
    assert resolved >= 20 and calls["new"] < calls["old"] / 3, calls


# --- group-sequential boundaries -------------------------------------------------------


def test_obrien_fleming_boundaries_match_published_values():
    """Lan-DeMets O'Brien-Fleming type, 5 equally spaced looks, one-sided 0.025
    (Jennison and Turnbull 2000, table 7.6; gsDesign's sfLDOF)."""
    c = boundaries((0.2, 0.4, 0.6, 0.8, 1.0), 0.025)
    assert c == pytest.approx((4.877, 3.357, 2.680, 2.290, 2.031), abs=2e-3)
    assert nominal_levels((1.0,), 0.05) == pytest.approx((0.05,))


def test_a_boundary_is_where_the_crossing_probability_reaches_its_share():
    """``_boundary`` (Newton's method on the log crossing probability, kept in its bracket
    by bisection) from a good start and from far off on either side: the crossing
    probability at the root is the target to 1e-12."""
    t, dt = 0.4, 0.2
    grid, weights = sequential._simpson(-sequential.TAIL * math.sqrt(t), 2.0, 0.05)
    mass = weights * np.exp(-0.5 * grid**2 / t) / math.sqrt(2 * math.pi * t)
    for target in (1e-12, 1e-6, 0.01):
        for start in (-10.0, 0.0, 4.0, 10.0):
            b = sequential._boundary(grid, mass, math.sqrt(dt), target, start, 10.5)
            crossing = sequential._crossing(b, grid, mass, math.sqrt(dt))
            assert crossing == pytest.approx(target, rel=1e-12), (target, start)


def test_boundaries_spend_the_stated_error_by_monte_carlo():
    """Brownian motion observed at the looks: the chance of crossing by look k is the
    spending function at t_k (an oracle independent of the numerical integration)."""
    times = Design.auto(5, 5, 30).times
    level = 0.05
    c = np.array(boundaries(times, level))
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(400_000, len(times))) * np.sqrt(np.diff([0, *times]))
    z = np.cumsum(steps, axis=1) / np.sqrt(times)
    crossed = np.maximum.accumulate(z >= c, axis=1).mean(axis=0)
    expected = np.array([spent(t, level) for t in times])
    se = np.sqrt(expected * (1 - expected) / steps.shape[0])
    assert np.all(np.abs(crossed - expected) <= 4 * se + 1e-6), (crossed, expected)


def test_local_levels_invert_the_nominal_levels():
    times = Design.auto().times
    p = np.array([0.02, 1e-3, 1e-6])
    assert local_levels(p, (1.0,), 0) == pytest.approx(p)
    for look in (2, 5):
        levels = np.array([0.03, 0.002, 1e-5])
        nominal = np.array([nominal_levels(times, a)[look] for a in levels])
        assert local_levels(nominal, times, look) == pytest.approx(levels, rel=1e-3)


@pytest.mark.parametrize("shape", ["increasing", "any"])
def test_the_monotone_interpolation_is_scipys_pchip(shape: str) -> None:
    """:func:`local_levels` inverts the level table by the monotone cubic interpolation of
    scipy's ``PchipInterpolator`` (the oracle), now its own: the same values, at the nodes
    too, and monotone on increasing data."""
    from scipy.interpolate import PchipInterpolator

    rng = np.random.default_rng(7)
    # A hand case whose end slopes overshoot (capped at 3 secants), then random ones.
    cases = [(np.arange(4.0), np.array([0.0, 1.0, -5.0, -4.0]))] if shape == "any" else []
    for n in (3, 4, 9, 30):
        x = np.cumsum(rng.uniform(0.1, 2.0, n))
        y = np.cumsum(rng.exponential(size=n)) if shape == "increasing" else rng.normal(size=n)
        cases.append((x, y))
    for x, y in cases:
        at = np.sort(np.concatenate([rng.uniform(x[0], x[-1], 200), x]))
        ours = _pchip(x, y, at)
        np.testing.assert_allclose(ours, PchipInterpolator(x, y)(at), rtol=1e-13, atol=1e-14)
        if shape == "increasing":
            assert np.all(np.diff(ours) >= 0)


def test_design():
    d = Design.auto(start=5, batch=5, max_seeds=22)
    assert d.looks == (5, 10, 15, 20, 22) and d.sequential
    assert d.next_look(10) == 15 and d.next_look(22) is None
    assert d.looks_up_to(12) == (5, 10)
    assert not Design.fixed(5).sequential
    with pytest.raises(ValueError, match="start >= 3"):
        Design.auto(start=2)
    with pytest.raises(ValueError, match="increasing"):
        Design((5, 5))


# --- verdicts on constructed scores -------------------------------------------------------


def _judge(activations, scores, margin=0.005, design=None):
    scores = np.asarray(scores, dtype=float)
    return judge(
        activations,
        scores,
        scale=ACC,
        margin=Margin.given(margin),
        design=design or Design.fixed(scores.shape[1]),
    )


def test_each_verdict_on_constructed_scores():
    rng = np.random.default_rng(7)
    seed = rng.normal(0, 0.01, 20)  # shared per-seed luck: pairing removes it
    base = 0.97 + seed
    scores = np.vstack(
        [
            base + rng.normal(0, 0.001, 20),  # leader
            base - 0.001 + rng.normal(0, 0.0005, 20),  # equivalent within 0.5 points
            base - 0.05 + rng.normal(0, 0.002, 20),  # worse by 5 points
            base - 0.004 + rng.normal(0, 0.01, 20),  # noisy: not resolved
            np.r_[base[:2], [np.nan] * 18],  # only 2 seeds: not concluded
            [np.nan] * 20,  # all diverged
        ]
    )
    names = ["elu", "relu", "sigmoid", "tanh", "selu", "softplus"]
    v = _judge(names, scores)
    got = {c.activation: c.verdict for c in v.comparisons}
    assert got == {
        "elu": Verdict.LEADER,
        "relu": Verdict.EQUIVALENT,
        "sigmoid": Verdict.WORSE,
        "tanh": Verdict.NOT_RESOLVED,
        "selu": Verdict.NOT_CONCLUDED,
        "softplus": Verdict.NO_RESULT,
    }
    assert v.leader == "elu" and v.seeds == 20
    assert v.family_worse == 4 * 3 and v.family_equivalent == 6  # selu, softplus untestable
    sigmoid = v.of("sigmoid")
    assert sigmoid.difference == pytest.approx(np.mean(scores[0] - scores[2]))
    assert sigmoid.ci_low > 0.005 and sigmoid.worse.p_adjusted < 0.05
    assert sigmoid.worse.p_adjusted >= sigmoid.worse.p
    tanh = v.of("tanh")
    assert tanh.power is not None and tanh.power.detectable > 0.005
    assert v.of("selu").paired_seeds == 2 and v.of("selu").worse is None
    assert not v.resolved and v.next_seeds == 0  # fixed design: nothing more to run


def test_holm_over_every_pair_keeps_a_raw_p_of_0_038_from_calling_worse():
    """The issue's default run: identity 'worse' at an unadjusted p = 0.038 of 8."""
    rng = np.random.default_rng(11)
    scores = 0.96 + rng.normal(0, 0.004, (8, 5))
    scores[7] = scores[0] - 0.011 + rng.normal(0, 0.006, 5)
    names = ["elu", "relu", "tanh", "leaky_relu", "selu", "softplus", "sigmoid", "identity"]
    order = np.argsort(-scores.mean(axis=1), kind="stable")
    v = _judge([names[i] for i in order], scores[order], margin=0.0)
    identity = v.of("identity")
    assert identity.worse.p < 0.05 <= identity.worse.p_adjusted
    assert identity.verdict is Verdict.NOT_RESOLVED


def test_sequential_verdicts_and_next_seeds():
    rng = np.random.default_rng(5)
    base = 0.95 + rng.normal(0, 0.01, 30)
    scores = np.vstack([base + rng.normal(0, 0.001, 30), base - 0.2 + rng.normal(0, 0.001, 30)])
    design = Design.auto(5, 5, 30)
    early = _judge(["elu", "sigmoid"], scores[:, :5], design=design)
    assert early.of("sigmoid").verdict is Verdict.WORSE and early.of("sigmoid").decided_at == 5
    assert early.resolved and early.next_seeds == 0
    close = np.vstack([base, base - 0.004 + rng.normal(0, 0.004, 30)])
    v = _judge(["elu", "relu"], close[:, :10], design=design)
    assert v.of("relu").verdict is Verdict.NOT_RESOLVED and v.next_seeds == 5
    v = _judge(["elu", "relu"], close[:, :12], design=design)  # mid-batch: the 10-seed look
    assert v.seeds == 10 and v.next_seeds == 3


def test_looks_record_each_look_its_boundary_and_what_stayed_open():
    rng = np.random.default_rng(11)
    base = 0.9 + rng.normal(0, 0.01, 30)
    scores = np.vstack(
        [base, base - 0.003 + rng.normal(0, 0.004, 30), base - 0.08 + rng.normal(0, 0.004, 30)]
    )
    names = ["elu", "relu", "sigmoid"]
    design = Design.auto(5, 5, 15)
    v = _judge(names, scores[:, :15], design=design)
    assert [look.seeds for look in v.looks] == [5, 10, 15][: len(v.looks)]
    for i, look in enumerate(v.looks):
        # Each look's open count is what judging only the seeds up to it says.
        prefix = _judge(names, scores[:, : look.seeds], design=design)
        assert look.unresolved == len(prefix.unresolved) and look.leader == prefix.leader
        assert look.nominal_level == pytest.approx(nominal_levels(design.times, 0.05)[i])
        assert look.alpha_spent == pytest.approx(spent(design.times[i], 0.05))
        family = boundaries(design.times, 0.05 / v.family_worse)[i]
        assert look.strictest_level == pytest.approx(stats.norm.sf(family))
    assert v.looks[-1].alpha_spent == pytest.approx(0.05)
    assert all(look.unresolved > 0 for look in v.looks[:-1])  # it went on while open
    assert v.stopped == ("resolved" if v.resolved else "budget")
    stopped_early = _judge(["elu", "sigmoid"], scores[:, :10][[0, 2]], design=design)
    assert stopped_early.stopped == "resolved" and len(stopped_early.looks) == 1
    noisy = np.vstack([base, base - 0.004 + rng.normal(0, 0.03, 30)])
    interrupted = _judge(["elu", "relu"], noisy[:, :10], design=design)
    assert interrupted.stopped is None and interrupted.next_seeds == 5
    fixed = _judge(names, scores[:, :5])
    assert fixed.stopped is None and [look.seeds for look in fixed.looks] == [5]
    assert fixed.looks[0].nominal_level == pytest.approx(0.05)


# --- ranking, recommendation and the views -------------------------------------------------


def _records(spec, vals, tests=None, *, grad=(1.0, 1.0), dead=0.0, diverged=()):
    out = []
    for seed, v in enumerate(vals):
        status = "diverged" if seed in diverged else "ok"
        out.append(
            CandidateResult.from_dict(
                {
                    "activation": spec,
                    "seed": seed,
                    "status": status,
                    "test_metric": None if status == "diverged" else (tests or vals)[seed],
                    "history": {
                        "val_metric": [0.1, v],
                        "grad_norm": [[1.0, 1.0], list(grad)],
                        "dead_fraction": [[0.0, 0.0], [dead, 0.0]],
                        "saturated_fraction": [[0.0, 0.0], [0.0, 0.0]],
                    },
                }
            )
        )
    return out


def _analyse(records, costs=None, margin=None, n_val=359):
    return analyse_group(
        "g",
        records,
        metric="accuracy",
        n_val=n_val,
        n_eval=n_val,
        costs=costs,
        settings=AnalysisSettings(margin=margin),
    )


def test_default_margin_is_half_a_point_or_one_evaluation_sample():
    assert Margin.default(ACC, 359).value == 0.005
    iris = MetricScale.of("accuracy", 30)
    assert Margin.default(iris, 30).value == pytest.approx(1 / 30)
    assert "1/30" in Margin.default(iris, 30).rule
    assert Margin.default(MetricScale.of("r2"), None).value == 0.005
    with pytest.raises(ValueError, match="margin"):
        AnalysisSettings(margin=-0.1)


def test_clear_winner_is_recommended_by_the_metric():
    recs = _records("elu", [0.98, 0.979, 0.981, 0.978, 0.982]) + _records(
        "sigmoid", [0.90, 0.91, 0.905, 0.895, 0.90], grad=(0.001, 1.0)
    )
    a = _analyse(recs)
    assert a.verdicts.of("sigmoid").verdict is Verdict.WORSE
    assert a.recommendation.activation == "elu" and a.recommendation.rule is Rule.METRIC
    assert a.headline == "Use elu: every other activation is worse by more than 0.50 points."
    assert a.text().splitlines() == [a.headline, *a.reasons, *(f"Warning: {w}" for w in a.warnings)]
    assert any("sigmoid's first-layer gradient is 1000x smaller" in w for w in a.warnings)


def test_a_gradient_that_vanished_to_zero_is_worded_not_divided_by():
    """A width-1 network 130 layers deep: the first layer's gradient underflows to 0."""
    recs = _records("elu", [0.98, 0.979, 0.981, 0.978, 0.982]) + _records(
        "sigmoid", [0.90, 0.91, 0.905, 0.895, 0.90], grad=(0.0, 1.0)
    )
    a = _analyse(recs)
    assert "vanishing" in a.ranking.row("sigmoid").problems
    assert any("sigmoid's first-layer gradient is exactly zero" in w for w in a.warnings)
    assert any(
        "1e+30x" in w
        for w in _analyse(
            _records("elu", [0.98, 0.97]) + _records("tanh", [0.9, 0.91], grad=(1e-30, 1.0))
        ).warnings
    )


def test_identical_results_are_broken_by_catalog_order_not_rank():
    """leaky_relu(alpha=0.0001) and relu give the same result on every seed."""
    vals = [0.975, 0.970, 0.980, 0.972, 0.978] * 4
    recs = _records("leaky_relu(alpha=0.0001)", vals) + _records("relu", vals)
    a = _analyse(recs, costs={"leaky_relu(alpha=0.0001)": 1.05, "relu": 1.0})
    assert a.verdicts.of("relu").verdict in (Verdict.EQUIVALENT, Verdict.LEADER)
    rec = a.recommendation
    assert rec.activation == "relu" and rec.rule is Rule.CATALOG
    assert "Decided by: catalog order" in " ".join(a.reasons)


def test_tie_break_prefers_health_then_cost():
    a = [0.975, 0.970, 0.980, 0.972, 0.978]
    b = [0.974, 0.972, 0.977, 0.973, 0.976]
    costs = {"elu": 1.6, "relu": 1.0}
    by_cost = _analyse(_records("elu", a) + _records("relu", b), costs=costs)
    assert by_cost.recommendation.activation == "relu"
    assert by_cost.recommendation.rule is Rule.COST
    assert by_cost.headline == (
        "Use relu: relu is equivalent to the leader elu within +-0.50 points; chosen by "
        "measured cost."
    )
    assert "elu (1.60x)" in " ".join(by_cost.reasons)
    by_health = _analyse(_records("elu", a) + _records("relu", b, dead=0.6), costs=costs)
    assert by_health.recommendation.activation == "elu"
    assert by_health.recommendation.rule is Rule.HEALTH
    for elu_cost in (1.05, 1.2):  # within the measurement's spread: catalog order (relu)
        rec = _analyse(
            _records("elu", a) + _records("relu", b), costs={"elu": elu_cost, "relu": 1.0}
        )
        assert rec.recommendation.rule is Rule.CATALOG


def test_a_candidate_not_resolved_is_never_picked_by_the_tie_break():
    """sigmoid is first in catalog order and cheap, but only 'not resolved' against elu
    (noisy, a point behind): the answer is elu, provisionally, naming sigmoid as open."""
    elu = [0.975, 0.970, 0.980, 0.972, 0.978]
    sigmoid = [0.955, 0.975, 0.950, 0.980, 0.958]
    a = _analyse(
        _records("elu", elu) + _records("sigmoid", sigmoid), costs={"elu": 2.0, "sigmoid": 1.0}
    )
    assert a.verdicts.of("sigmoid").verdict is Verdict.NOT_RESOLVED
    rec = a.recommendation
    assert rec.activation == "elu" and rec.pool == ("elu",) and rec.provisional
    assert a.headline == "Use elu, provisionally: sigmoid is not resolved against it."


def test_identity_is_never_recommended():
    relu = [0.974, 0.972, 0.977, 0.973, 0.976]
    ident = [0.975, 0.970, 0.980, 0.972, 0.978]
    a = _analyse(
        _records("relu", relu) + _records("identity", ident), costs={"relu": 1.0, "identity": 0.3}
    )
    assert a.verdicts.leader == "identity"
    assert a.recommendation.activation == "relu" and a.recommendation.baseline_in_pool
    assert a.headline.startswith("Use relu: the no-activation baseline (identity) leads; relu is ")
    assert "non-linearity does not measurably help" in " ".join(a.reasons)


def test_all_diverged_gives_no_recommendation():
    a = _analyse(_records("relu", [0.5, 0.5, 0.5], diverged={0, 1, 2}))
    assert a.recommendation.activation is None
    assert a.headline.startswith("No recommendation")


def test_early_stopped_candidate_is_scored_at_its_best_epoch():
    recs = _records("elu", [0.9, 0.9, 0.9])
    recs[0].history["val_metric"] = [0.95, 0.80]
    recs[0].stopped_epoch, recs[0].best_epoch = 2, 1
    row = _analyse(recs).ranking.rows[0]
    assert row.val_by_seed[0] == 0.95 and row.val_by_seed[1] == 0.9


def test_two_seeds_say_not_concluded_in_every_view(tmp_path):
    """The issue: console 'no (p=0.47)', results.json 'tied_with_best: false', HTML 'not
    concluded (n=2)'. Now one verdict, rendered by each view."""
    from rich.console import Console

    from actlab.cli.views import verdict_table
    from actlab.report.html import ranking_table
    from actlab.report.palette import colours
    from test_report import synthetic_result

    result = synthetic_result(seeds=2)
    a = result.analyse()
    others = [c for c in a.verdicts.comparisons if c.verdict is not Verdict.LEADER]
    assert others and all(c.verdict is Verdict.NOT_CONCLUDED for c in others)
    console = Console(width=250, record=True)
    console.print(verdict_table(a))
    text = console.export_text()
    stored = json.loads(result.to_json())["analysis"]["groups"][result.group_names()[0]]
    document = ranking_table(a, colours([r.activation for r in a.ranking.rows]))
    for c in others:
        label = words.verdict_label(c)
        assert label == "not concluded (n=2)"
        line = next(line for line in text.splitlines() if f" {c.activation} " in line)
        assert label in line
        row = next(r for r in stored["verdicts"]["comparisons"] if r["activation"] == c.activation)
        assert row["verdict"] == "not concluded"
        assert f'title="{words.comparison(c, a.verdicts)}">{label}</span>' in document.replace(
            "&#x27;", "'"
        )
    assert a.headline.startswith("Use ") and "provisionally" in a.headline
    assert stored["recommendation"]["headline"] == a.headline


def _old_run_dir(tmp_path, schema):
    """A run directory as an older actlab wrote it (schema 1: a 'tied_with_best' analysis)."""
    from test_report import synthetic_result

    result = synthetic_result(seeds=5)
    payload = {k: v for k, v in result.to_dict().items() if k != "analysis"}
    payload["analysis"] = {"mlp-128x128": {"ranking": {"rows": [{"tied_with_best": True}]}}}
    run = tmp_path / "old"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(result.config))
    (run / "environment.json").write_text(json.dumps(result.environment))
    (run / "results.json").write_text(json.dumps({"schema": schema, **payload}))
    return run


def test_report_migrates_a_schema_1_run_and_rejudges_with_a_margin(tmp_path, capsys, monkeypatch):
    from actlab.cli import main
    from actlab.store.run_dir import RESULTS_SCHEMA

    monkeypatch.setattr("actlab.cli.report.write_report", lambda result: None)
    run = _old_run_dir(tmp_path, "actlab.results/1")
    assert main(["report", str(run)]) == 0
    assert capsys.readouterr().out.startswith("Answer: Use ")
    stored = json.loads((run / "results.json").read_text())
    assert stored["schema"] == RESULTS_SCHEMA
    group = stored["analysis"]["groups"]["mlp-128x128"]
    assert group["verdicts"]["margin"]["value"] == 0.005
    assert {c["verdict"] for c in group["verdicts"]["comparisons"]} <= {v.value for v in Verdict}
    assert main(["report", str(run), "--margin", "0.2"]) == 0
    capsys.readouterr()
    stored = json.loads((run / "results.json").read_text())
    group = stored["analysis"]["groups"]["mlp-128x128"]
    assert group["verdicts"]["margin"] == {"value": 0.2, "rule": "set with --margin"}
    assert stored["analysis"]["settings"]["margin"] == 0.2
    assert all(c["verdict"] != "worse" for c in group["verdicts"]["comparisons"])


def test_report_refuses_an_unknown_schema_in_one_line(tmp_path, capsys):
    from actlab.cli import main

    run = _old_run_dir(tmp_path, "actlab.results/9")
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "has schema 'actlab.results/9'" in err and "\n" not in err


# --- a lower-is-better metric: bits per character ------------------------------------------


def _bpc_records(spec, vals, *, accuracy=0.5):
    """Next-character candidates whose validation bits per character are ``vals``
    (stored, as the engine stores them, as a loss in nats: bpc x ln 2)."""
    return [
        CandidateResult.from_dict(
            {
                "activation": spec,
                "seed": seed,
                "status": "ok",
                "test_metric": accuracy,
                "test_loss": (v + 0.01) * math.log(2),
                "test_bpc": v + 0.01,
                "history": {"val_loss": [3.0, v * math.log(2)], "val_metric": [0.1, accuracy]},
            }
        )
        for seed, v in enumerate(vals)
    ]


def test_bits_per_character_rank_lowest_first_and_are_worded_lower():
    recs = (
        _bpc_records("relu", [1.60, 1.61, 1.59, 1.62, 1.60], accuracy=0.9)
        + _bpc_records("gelu", [1.50, 1.51, 1.49, 1.50, 1.52], accuracy=0.4)
        + _bpc_records("tanh", [1.70, 1.69, 1.71, 1.72, 1.70], accuracy=0.95)
    )
    a = analyse_group("g", recs, metric="bpc", n_val=10_000, n_eval=10_000)
    assert [r.activation for r in a.ranking.rows] == ["gelu", "relu", "tanh"]
    # test values are the recorded test bits per character; accuracy rides along
    assert a.ranking.row("gelu").test.mean == pytest.approx(1.514)
    assert a.ranking.row("tanh").test_accuracy.mean == pytest.approx(0.95)
    assert a.verdicts.leader == "gelu" and a.recommendation.activation == "gelu"
    relu = a.verdicts.of("relu")
    assert relu.verdict is Verdict.WORSE and relu.difference == pytest.approx(0.100)
    assert relu.ci_low > 0  # the leader's advantage: positive when it did better
    assert a.verdicts.margin.rule == "default: 0.005 bits per character"
    assert a.headline == (
        "Use gelu: every other activation is worse by more than 0.0050 bits per character."
    )
    assert a.reasons[0].startswith(
        "Lowest mean validation bits per character (lower is better): gelu 1.5040"
    )
    assert "Leader: lowest mean validation bits per character" in a.method
    text = " ".join([a.text(), a.method])
    assert "higher" not in text.lower() and "highest" not in text.lower()
    assert "test_accuracy" in a.ranking.row("gelu").to_dict()
    assert "test_accuracy" not in _analyse(_records("elu", [0.9] * 3)).ranking.rows[0].to_dict()


def test_the_identity_baseline_gap_is_worded_as_lower_bits_per_character():
    recs = _bpc_records("relu", [1.50, 1.51, 1.49]) + _bpc_records("identity", [1.80] * 3)
    a = analyse_group("g", recs, metric="bpc", n_val=10_000, n_eval=10_000)
    assert any(
        "non-linearity is worth 0.3000 lower validation bits per character here" in r
        for r in a.reasons
    )


def test_mirrored_scores_give_mirrored_verdicts_through_judge():
    """The same seeds judged as a higher-is-better ``x`` and a lower-is-better ``-x``: the
    same leader, verdicts, differences (the leader's advantage), intervals and p-values."""
    rng = np.random.default_rng(3)
    truth = np.array([[0.0], [-0.001], [-0.03], [0.002]])
    x = rng.normal(0, 0.01, 8) + truth + rng.normal(0, 0.001, (4, 8))
    names = ["a", "b", "c", "d"]
    up = MetricScale("m", -math.inf, math.inf, 1e-6)
    down = MetricScale("m", -math.inf, math.inf, 1e-6, higher_is_better=False)
    order = np.argsort(-x.mean(axis=1), kind="stable")
    kw = dict(margin=Margin.given(0.01), design=Design.fixed(8))
    v_up = judge([names[i] for i in order], x[order], scale=up, **kw)
    v_down = judge([names[i] for i in order], -x[order], scale=down, **kw)
    assert v_up.comparisons == v_down.comparisons and v_up.leader == v_down.leader
    assert {c.verdict for c in v_up.comparisons} >= {Verdict.WORSE, Verdict.EQUIVALENT}
