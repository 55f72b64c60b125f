"""Statistics against scipy, ranking and recommendation on constructed results."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from actlab.analysis import paired_test, rank, recommend, summarize


def test_summarize_matches_scipy_t_interval():
    values = [0.91, 0.93, 0.92, 0.95, 0.90]
    s = summarize(values)
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert s.n == 5
    assert s.mean == pytest.approx(np.mean(values))
    assert s.std == pytest.approx(np.std(values, ddof=1))
    assert (s.ci_low, s.ci_high) == pytest.approx((lo, hi))


def test_summarize_drops_nan_and_single_value_has_no_interval():
    s = summarize([0.5, math.nan])
    assert s.n == 1 and s.mean == 0.5 and math.isnan(s.ci_low)
    assert summarize([]).n == 0


def test_paired_t_test_matches_scipy():
    a = [0.97, 0.96, 0.98, 0.95, 0.97]
    b = [0.95, 0.95, 0.96, 0.94, 0.96]
    t = paired_test(a, b)
    assert t.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert t.mean_difference == pytest.approx(np.mean(np.subtract(a, b)))
    assert t.conclusive


def test_wilcoxon_matches_scipy_and_drops_nonfinite_pairs():
    a = [0.97, 0.96, 0.98, 0.95, 0.97, 0.99, math.nan]
    b = [0.95, 0.97, 0.96, 0.94, 0.96, 0.90, 0.5]
    t = paired_test(a, b, method="wilcoxon signed-rank")
    assert t.n == 6
    assert t.p_value == pytest.approx(stats.wilcoxon(a[:6], b[:6]).pvalue)


def test_identical_samples_give_p_one_and_two_pairs_are_inconclusive():
    assert paired_test([1, 2, 3], [1, 2, 3]).p_value == 1.0
    assert not paired_test([0.9, 0.8], [0.7, 0.75]).conclusive


def _records(spec, vals, tests=None, *, grad=(1.0, 1.0), dead=0.0, diverged=()):
    out = []
    for seed, v in enumerate(vals):
        status = "diverged" if seed in diverged else "ok"
        out.append(
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
    return out


def test_clear_winner_is_recommended_and_others_not_tied():
    recs = _records("elu", [0.98, 0.979, 0.981, 0.978, 0.982]) + _records(
        "sigmoid", [0.90, 0.91, 0.905, 0.895, 0.90], grad=(0.01, 1.0)
    )
    ranking = rank(recs)
    assert [r.activation for r in ranking.rows] == ["elu", "sigmoid"]
    assert not ranking.rows[1].tied_with_best
    rec = recommend(ranking)
    assert rec.activation == "elu"
    assert "significantly worse" in rec.text()
    assert "sigmoid's first-layer gradient is 100x smaller" in rec.text()


def test_tie_is_broken_by_measured_cost():
    elu = [0.975, 0.970, 0.980, 0.972, 0.978]
    relu = [0.974, 0.972, 0.977, 0.973, 0.976]
    ranking = rank(_records("elu", elu) + _records("relu", relu), costs={"elu": 1.6, "relu": 1.0})
    assert ranking.best.activation == "elu"
    assert ranking.rows[1].tied_with_best
    rec = recommend(ranking)
    assert rec.activation == "relu"
    assert "1.60x cheaper" in rec.text()
    assert "p=" in rec.text() and "5 seeds" in rec.text()


def test_tie_prefers_healthy_gradient_flow_over_cost():
    a = [0.975, 0.970, 0.980, 0.972, 0.978]
    b = [0.974, 0.972, 0.977, 0.973, 0.976]
    ranking = rank(
        _records("elu", a) + _records("relu", b, dead=0.6), costs={"elu": 1.6, "relu": 1.0}
    )
    assert recommend(ranking).activation == "elu"


def test_too_few_seeds_says_so():
    ranking = rank(_records("elu", [0.98, 0.97]) + _records("relu", [0.96, 0.95]))
    assert not ranking.conclusive
    rec = recommend(ranking)
    assert rec.activation == "elu"
    assert "needs at least 3" in rec.text()


def test_diverged_seeds_are_counted_and_reported():
    recs = _records("elu", [0.98, 0.97, 0.975]) + _records("selu", [0.9, 0.9, 0.9], diverged={1})
    ranking = rank(recs)
    selu = next(r for r in ranking.rows if r.activation == "selu")
    assert selu.diverged == 1 and selu.val.n == 2
    assert "selu diverged in 1 of 3 seeds" in recommend(ranking).text()


def test_all_diverged_gives_no_recommendation():
    ranking = rank(_records("relu", [0.5, 0.5, 0.5], diverged={0, 1, 2}))
    assert recommend(ranking).activation is None


def test_best_with_diverged_seeds_does_not_make_everyone_tied():
    recs = _records("elu", [0.98, 0.97, 0.975], diverged={1}) + _records(
        "identity", [0.90, 0.91, 0.905]
    )
    ranking = rank(recs, costs={"elu": 1.5, "identity": 0.5})
    identity = next(r for r in ranking.rows if r.activation == "identity")
    assert not identity.versus_best.conclusive and not identity.tied_with_best
    rec = recommend(ranking)
    assert rec.activation == "elu"
    assert "Not enough paired seeds" in rec.text() and "identity (2 pairs)" in rec.text()


def test_early_stopped_candidate_is_scored_at_its_best_epoch():
    recs = _records("elu", [0.9, 0.9, 0.9])
    recs[0]["history"]["val_metric"] = [0.95, 0.80]
    recs[0].update(stopped_epoch=2, best_epoch=1)
    row = rank(recs).rows[0]
    assert row.val_by_seed[0] == 0.95 and row.val_by_seed[1] == 0.9


def test_cost_differences_within_noise_do_not_override_the_best():
    elu = [0.975, 0.970, 0.980, 0.972, 0.978]
    relu = [0.974, 0.972, 0.977, 0.973, 0.976]
    for elu_cost in (1.05, 1.2):
        ranking = rank(
            _records("elu", elu) + _records("relu", relu), costs={"elu": elu_cost, "relu": 1.0}
        )
        assert recommend(ranking).activation == "elu"


def test_among_equally_cheap_tied_activations_the_better_ranked_is_chosen():
    """leaky_relu (best, 1.30x) vs relu (1.00x) and tanh (0.98x): relu and tanh cost the
    same within timing noise, so the cheaper pick is relu, ranked above tanh, not tanh."""
    ranking = rank(
        _records("leaky_relu", [0.975, 0.970, 0.980, 0.972, 0.978])
        + _records("relu", [0.974, 0.972, 0.977, 0.973, 0.976])
        + _records("tanh", [0.972, 0.971, 0.976, 0.971, 0.975]),
        costs={"leaky_relu": 1.30, "relu": 1.00, "tanh": 0.98},
    )
    assert [r.activation for r in ranking.rows] == ["leaky_relu", "relu", "tanh"]
    assert all(r.tied_with_best for r in ranking.rows[1:])
    rec = recommend(ranking)
    assert rec.activation == "relu"
    assert "relu is 1.30x cheaper per forward+backward pass than leaky_relu" in rec.text()


def test_identity_is_never_recommended_even_when_tied_and_cheapest():
    relu = [0.974, 0.972, 0.977, 0.973, 0.976]
    ident = [0.975, 0.970, 0.980, 0.972, 0.978]
    ranking = rank(
        _records("relu", relu) + _records("identity", ident),
        costs={"relu": 1.0, "identity": 0.3},
    )
    assert ranking.best.activation == "identity"
    rec = recommend(ranking)
    assert rec.activation == "relu"
    assert "non-linearity does not measurably help" in rec.text()
