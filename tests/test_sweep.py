"""actlab sweep: grid validation, the local executor (skip, resume, parallel = serial), the
across-grid analysis against hand computations, the report and the CLI command."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import actlab.sweep.executors as executors
from actlab.comparison.runner import run_comparison
from actlab.sweep import GridError, load_grid, sweep
from actlab.sweep.analysis import (
    DatasetSummary,
    aggregate,
    average_ranks,
    cliques,
    critical_difference,
    friedman,
    holm,
    oriented_scores,
    pairwise,
    signed_rank_p,
)

GRID_TOML = """
datasets = ["iris", "moons(n=120, noise=0.2)"]
activations = ["relu", "tanh", "elu(alpha=0.5)"]
seeds = 2
epochs = 2
[model]
kind = "mlp"
depths = [1, 2]
width = 8
[optimizer]
name = "adam"
lr = 1e-2
batch_size = 32
"""
KEYS = [
    "iris__mlp-depth1-width8",
    "iris__mlp-depth2-width8",
    "moons_n=120_noise=0.2__mlp-depth1-width8",
    "moons_n=120_noise=0.2__mlp-depth2-width8",
]


def _metrics(root: Path) -> dict[tuple[str, str, int], float]:
    """(group key, activation, seed) -> test metric, read from the group directories."""
    out = {}
    for key in KEYS:
        results = json.loads((root / "groups" / key / "results.json").read_text())
        for c in results["candidates"]:
            out[(key, c["activation"], c["seed"])] = c["test_metric"]
    return out


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grid") / "grid.toml"
    path.write_text(GRID_TOML)
    return path


@pytest.fixture(scope="module")
def finished(grid_file: Path, tmp_path_factory: pytest.TempPathFactory):
    """The reference sweep: every group trained in this process (workers=1)."""
    return sweep(grid_file, tmp_path_factory.mktemp("serial") / "run", workers=1)


# --- grid validation -------------------------------------------------------------------


def _grid(**changes: object) -> dict:
    import tomllib

    payload = tomllib.loads(GRID_TOML)
    for key, value in changes.items():
        section, _, name = key.rpartition("__")
        target = payload[section] if section else payload
        if value is None:
            del target[name]
        else:
            target[name] = value
    return payload


def test_toml_file_parses_to_the_grid(grid_file: Path) -> None:
    grid = load_grid(grid_file)
    assert grid.seeds == (0, 1) and grid.depths == (1, 2) and grid.widths == (8,)
    assert grid.activations == ("relu", "tanh", "elu(alpha=0.5)")
    assert [g.key for g in grid.groups()] == KEYS
    assert grid.groups()[1].config.hidden == (8, 8)
    assert load_grid(_grid(seeds=[3, 5])).seeds == (3, 5)


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"bogus": 1}, r"unknown key 'bogus'.*valid keys: datasets, activations"),
        ({"model__depth": 2}, r"unknown key model\.'depth'.*\[model\]: kind, depths, width"),
        ({"optimizer__beta": 0.9}, r"optimizer\.'beta'.*name, lr, batch_size"),
        ({"seeds": 0}, r"seeds=0 must be an integer >= 1"),
        ({"seeds": [1, 1]}, r"seeds=\[1, 1\] has duplicates"),
        ({"epochs": "5"}, r"epochs='5' must be an integer"),
        ({"model__kind": "rnn"}, r"model\.kind='rnn' must be 'mlp' or 'cnn'"),
        ({"model__depths": []}, r"model\.depths=\[\] needs at least one value"),
        ({"model__width": -3}, r"model\.width=-3 must be an integer >= 1"),
        ({"optimizer__lr": -1.0}, r"optimizer\.lr=-1\.0 must be a finite number > 0"),
        ({"optimizer__name": "rmsprop"}, r"optimizer\.name='rmsprop' must be adam or sgd"),
        ({"activations": ["relu", "nosuch"]}, r"activations: .*nosuch"),
        ({"activations": "relu"}, r"activations='relu' must be a non-empty list of strings"),
        ({"datasets": ["iris", "nosuchdata"]}, r"datasets\[1\]='nosuchdata'"),
        ({"datasets": None}, r"needs 'datasets'"),
    ],
)
def test_bad_grids_name_the_key_and_value(changes: dict, pattern: str) -> None:
    with pytest.raises(GridError, match=pattern):
        load_grid(_grid(**changes))


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("datasets = [")
    with pytest.raises(GridError, match="not valid TOML"):
        load_grid(bad)
    with pytest.raises(GridError, match="does not exist"):
        load_grid(tmp_path / "missing.toml")


# --- analysis against hand computations ---------------------------------------------------

# 4 datasets x 3 activations, no ties. Ranks (1 = best) by row:
# [1,2,3], [2,1,3], [1,3,2], [1,2,3] -> average ranks [1.25, 2.0, 2.75].
SCORES = np.array(
    [[0.9, 0.8, 0.7], [0.85, 0.95, 0.6], [0.7, 0.5, 0.6], [0.99, 0.98, 0.97]], dtype=float
)


def test_average_ranks_by_hand() -> None:
    np.testing.assert_allclose(average_ranks(SCORES), [1.25, 2.0, 2.75])
    # Ties share their mean rank; NaN (diverged everywhere) ranks last.
    np.testing.assert_allclose(average_ranks(np.array([[0.5, 0.5, math.nan]])), [1.5, 1.5, 3])


def test_friedman_by_hand() -> None:
    n, k, r = 4, 3, np.array([1.25, 2.0, 2.75])
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(r**2) - k * (k + 1) ** 2 / 4)
    assert chi2 == pytest.approx(4.5)
    statistic, p = friedman(SCORES)
    assert statistic == pytest.approx(chi2)
    assert p == pytest.approx(math.exp(-chi2 / 2))  # chi-square sf with 2 dof
    with pytest.raises(ValueError, match=">= 3 activations and >= 2 datasets, got 2 and 4"):
        friedman(SCORES[:, :2])
    with pytest.raises(ValueError, match="got 3 and 1"):
        friedman(SCORES[:1])


def test_critical_difference_matches_demsar_table() -> None:
    # Demsar (2006), Table 5(a): q_0.05 = 2.343 (k=3), 2.569 (k=4), 2.728 (k=5).
    for k, q in [(3, 2.343), (4, 2.569), (5, 2.728)]:
        assert critical_difference(k, 10) == pytest.approx(q * math.sqrt(k * (k + 1) / 60), 1e-3)


def test_aggregate_orders_ranks_and_finds_cliques() -> None:
    agg = aggregate(["a", "b", "c"], SCORES)
    assert agg.activations == ["a", "b", "c"] and agg.average_ranks == [1.25, 2.0, 2.75]
    assert agg.critical_difference == pytest.approx(2.343 * math.sqrt(0.5), 1e-3)
    assert agg.cliques == [(0, 2)]  # spread 1.5 < CD 1.657: nothing significantly different
    assert cliques([1.0, 1.5, 3.0, 3.2], 1.0) == [(0, 1), (2, 3)]
    two = aggregate(["a", "b"], SCORES[:, :2])
    assert two.friedman_p is None and "needs >= 3 activations" in two.friedman_note


def test_bits_per_character_rank_lowest_first_across_datasets() -> None:
    """A text dataset (bits per character, lower is better) beside accuracy ones: its
    scores enter the ranks negated, so the lowest bpc ranks 1 there, and the aggregate is
    that of the same data given as a higher-is-better score."""
    acts = ["a", "b", "c"]
    summaries = [
        DatasetSummary(f"d{i}", "accuracy", [], dict(zip(acts, row, strict=True)))
        for i, row in enumerate(SCORES[:3])
    ]
    bpc = {"a": 1.40, "b": 1.45, "c": 1.50}  # a best, as in SCORES' last row
    summaries.append(DatasetSummary("text", "bpc", [], bpc))
    matrix = oriented_scores(summaries, acts)
    np.testing.assert_array_equal(matrix[3], [-1.40, -1.45, -1.50])
    np.testing.assert_allclose(average_ranks(matrix), average_ranks(SCORES))
    assert aggregate(acts, matrix).average_ranks == aggregate(acts, SCORES).average_ranks


def test_holm_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_signed_rank_p_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    plain = rng.normal(size=9)
    assert signed_rank_p(plain) == pytest.approx(stats.wilcoxon(plain, method="exact").pvalue)
    tied = np.array([0.2, 0.2, -0.1, 0.3, 0.0, 0.2])  # ties and a zero: scipy permutes
    expected = stats.wilcoxon(tied, zero_method="zsplit").pvalue
    assert signed_rank_p(tied) == pytest.approx(expected)
    assert signed_rank_p(np.zeros(4)) == 1.0


def test_pairwise_wilcoxon_matches_scipy_and_is_holm_adjusted() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.8, 0.9, (8, 3))
    scores[:, 0] += 0.2  # a beats both on every dataset: p = 2/2^8 each
    pairs = pairwise(["a", "b", "c"], scores)
    assert [(p.a, p.b) for p in pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    raw = [stats.wilcoxon(scores[:, i] - scores[:, j]).pvalue for i, j in ((0, 1), (0, 2), (1, 2))]
    assert [p.wilcoxon_p for p in pairs] == pytest.approx(raw)
    assert [p.wilcoxon_p_adjusted for p in pairs] == pytest.approx(holm(raw))
    assert pairs[0].wilcoxon == "a" and pairs[2].wilcoxon == ""


def test_a_nemenyi_verdict_that_depends_on_the_pool_is_flagged() -> None:
    """On 10 datasets the order is always a > c > b > d. With c in the pool a and b are two
    mean ranks apart (CD 1.48 for 4 activations): different. Without c they are one apart
    (CD 1.05 for 3): not. Wilcoxon on a and b alone says a is better either way."""
    scores = np.tile([0.9, 0.7, 0.8, 0.6], (10, 1)) + np.linspace(0, 0.05, 10)[:, None]
    agg = aggregate(["a", "b", "c", "d"], scores)
    ab = next(p for p in agg.pairs if {p.a, p.b} == {"a", "b"})
    assert ab.nemenyi == "a" and ab.wilcoxon == "a"
    assert ab.wilcoxon_p == pytest.approx(2 / 2**10)
    assert ab.pool_dependent and ab.pool_note == "removing c changes the Nemenyi verdict"
    ad = next(p for p in agg.pairs if {p.a, p.b} == {"a", "d"})
    assert ad.nemenyi == "a" and not ad.pool_dependent
    few = aggregate(["a", "b", "c"], SCORES)
    assert "smallest possible p-value is 0.125" in few.wilcoxon_note
    assert all(p.wilcoxon == "" for p in few.pairs)


# --- the local executor ---------------------------------------------------------------------


def test_sweep_produces_every_group_and_the_analysis(finished) -> None:
    root = finished.path
    assert sorted(finished.results) == KEYS
    assert set(finished.outcomes.values()) == {"trained"}
    status = json.loads((root / "sweep.json").read_text())["groups"]
    assert status == {k: "done" for k in KEYS}
    # Independent recomputation of the per-dataset scores from the raw candidate records:
    # the mean over the dataset's shapes of the mean over seeds, summed in that order (the
    # grand mean is the same number mathematically, but not to the last bit, and a tie,
    # e.g. three activations at 0.525 on iris, must stay a tie).
    metrics = _metrics(root)
    acts = ["relu", "tanh", "elu(alpha=0.5)"]
    rows = []
    for prefix in ("iris__", "moons_"):
        keys = [k for k in KEYS if k.startswith(prefix)]
        rows.append(
            [np.mean([np.mean([v for (k, a, _), v in metrics.items() if k == key and a == act])
                      for key in keys])
             for act in acts]
        )  # fmt: skip
    expected = average_ranks(np.array(rows))
    agg = finished.analysis.aggregate
    got = dict(zip(agg.activations, agg.average_ranks, strict=True))
    assert [got[a] for a in acts] == pytest.approx(list(expected))
    stored = json.loads((root / "analysis.json").read_text())
    assert stored["aggregate"]["friedman_note"].startswith("Friedman test over 2 datasets")
    assert set(finished.analysis.metric_by_depth["iris"]["relu"]) == {1, 2}
    for ds in finished.analysis.datasets:
        assert [s.shape for s in ds.shapes] == ["mlp-depth1-width8", "mlp-depth2-width8"]
        assert all(s.winner in acts for s in ds.shapes)


def test_report_is_self_contained_with_cd_figure(finished) -> None:
    page = finished.report_path.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page)
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert "Critical-difference diagram" in page and "CD = " in page
    assert "Pairwise comparisons" in page and "smallest possible p-value is 0.5" in page
    assert page.count("<svg") == 1  # the CD diagram; metric vs depth is drawn in the browser
    assert page.count('<figure class="chart" data-figure="depth-') == 2  # one per dataset


@pytest.mark.browser
def test_report_draws_in_a_browser(finished, browser_page) -> None:
    from conftest import assert_every_figure_drawn

    opened = browser_page(finished.report_path)
    assert_every_figure_drawn(opened.page)
    assert opened.errors == [] and opened.outside_requests() == []


def test_rerun_skips_finished_groups(finished, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(executors, "run_comparison", lambda *a, **k: calls.append(a))
    again = sweep(finished.grid, finished.path, workers=1)
    assert calls == [] and set(again.outcomes.values()) == {"skipped"}
    assert again.analysis == finished.analysis


def test_other_grid_in_same_directory_is_refused(finished) -> None:
    with pytest.raises(GridError, match="different grid"):
        sweep(_grid(epochs=3), finished.path, workers=1)


class _StopAfter:
    def __init__(self, groups: int) -> None:
        self.left = groups

    def started(self, total: int, finished: int) -> None:
        pass

    def group_done(self, outcome: object) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


class _StopAtEpoch:
    def group_started(self, group: str, total_epochs: int, done_epochs: int) -> None:
        pass

    def epoch_done(self, group: str, epoch: int, summary: dict) -> None:
        raise KeyboardInterrupt


def test_interrupted_sweep_completes_on_rerun(finished, grid_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        sweep(grid_file, out, workers=1, progress=_StopAfter(1))
    assert json.loads((out / "sweep.json").read_text())["groups"][KEYS[0]] == "done"
    # The next group dies after its first epoch, leaving a checkpoint behind.
    group = load_grid(grid_file).groups()[1]
    with pytest.raises(KeyboardInterrupt):
        run_comparison(group.config, out / "groups" / group.key, progress=_StopAtEpoch())
    assert (out / "groups" / group.key / "checkpoints").is_dir()
    done = sweep(grid_file, out, workers=1)
    assert done.outcomes == {
        KEYS[0]: "skipped",
        KEYS[1]: "resumed",
        KEYS[2]: "trained",
        KEYS[3]: "trained",
    }
    assert sorted(done.results) == KEYS
    assert _metrics(out) == pytest.approx(_metrics(finished.path), abs=1e-6)


def test_parallel_workers_equal_serial(finished, grid_file: Path, tmp_path: Path) -> None:
    parallel = sweep(grid_file, tmp_path / "run", workers=2)
    assert set(parallel.outcomes.values()) == {"trained"}
    assert _metrics(parallel.path) == pytest.approx(_metrics(finished.path), abs=1e-6)


def test_workers_must_be_positive(grid_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers=0"):
        sweep(grid_file, tmp_path / "run", workers=0)


# --- the CLI command ------------------------------------------------------------------------


@pytest.fixture
def cli() -> click.Group:
    from actlab.cli.sweep import command

    @click.group()
    def group() -> None:
        pass

    group.add_command(command)
    return group


def test_cli_reruns_the_finished_sweep(cli, finished, grid_file: Path) -> None:
    result = CliRunner().invoke(cli, ["sweep", str(grid_file), "--out", str(finished.path)])
    assert result.exit_code == 0, result.output
    assert str(finished.report_path) in result.output


def test_cli_bad_grid_is_a_usage_error(cli, tmp_path: Path) -> None:
    grid = tmp_path / "g.toml"
    grid.write_text('datasets = ["iris"]\nactivations = ["relu"]\nwidth = 3\n')
    result = CliRunner().invoke(cli, ["sweep", str(grid), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "unknown key 'width'" in result.output


def test_cli_progress_without_a_terminal_is_a_line_per_group(capsys) -> None:
    from types import SimpleNamespace

    from actlab.cli.sweep import _GroupBar

    bar = _GroupBar()
    bar.started(total=3, finished=1)  # one group finished by an earlier run
    bar.group_done(SimpleNamespace(key="iris/mlp-depth1-width8"))
    bar.stop()
    assert "group 2/3 done: iris/mlp-depth1-width8" in capsys.readouterr().err


_GRID_KEYS = [
    "datasets",
    "activations",
    "seeds",
    "epochs",
    "model",
    "optimizer",
    "kind",
    "depths",
    "width",
    "name",
    "lr",
    "batch_size",
    "momentum",
    "weight_decay",
]

_ANY_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(
            [
                "iris",
                "moons(n=50)",
                "relu",
                "tanh",
                "elu(alpha=0.5)",
                "mlp",
                "cnn",
                "adam",
                "sgd",
                "",
                "nope",
                "relu(alpha=1)",
            ]
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from([*_GRID_KEYS, "extra"]), inner, max_size=3),
    ),
    max_leaves=8,
)


_VALID_GRID = {
    "datasets": ["iris"],
    "activations": ["relu", "tanh"],
    "seeds": 2,
    "epochs": 3,
    "model": {"kind": "mlp", "depths": [1, 2], "width": 8},
    "optimizer": {"name": "adam", "lr": 0.01, "batch_size": 16},
}


def _mutated(changes: dict) -> dict:
    grid = {k: dict(v) if isinstance(v, dict) else v for k, v in _VALID_GRID.items()}
    for key, value in changes.items():
        section = next((s for s in ("model", "optimizer") if key in _VALID_GRID[s]), None)
        target = grid[section] if section else grid
        if isinstance(target, dict):  # (a section an earlier change replaced stays so)
            target[key] = value
    return grid


@settings(max_examples=300, deadline=None)
@given(
    grid=st.one_of(
        st.dictionaries(st.sampled_from([*_GRID_KEYS, "extra"]), _ANY_VALUE, max_size=7),
        st.dictionaries(st.sampled_from(_GRID_KEYS), _ANY_VALUE, max_size=2).map(_mutated),
    )
)
def test_any_grid_mapping_loads_or_raises_a_grid_error(grid: dict) -> None:
    """Whatever a sweep file holds, the answer is a grid or a GridError naming the
    problem, never another exception (a valid grid with one or two values replaced by
    anything: a wrong type, an infinity, a nested table, a bad spec)."""
    try:
        loaded = load_grid(grid)
    except GridError as exc:
        assert str(exc)
        return
    assert loaded.groups()
