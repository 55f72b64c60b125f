"""``--seeds auto`` end to end on a tiny synthetic comparison: the loop adds seeds in
batches, stops when every candidate is resolved or at the budget, records its looks, gives
each seed the result a fixed-seed run gives, resumes exactly, and ``actlab report``
re-analyses it with the sequential boundaries.

Calibration of the sequential verdicts themselves is simulated in
``tests/test_verdict_calibration.py``."""

from __future__ import annotations

import json

import pytest

import actlab
from actlab.analysis import AnalysisSettings, Design, analyse_group
from actlab.cli import main
from actlab.cli.progress import look_line
from actlab.comparison.runner import LookDone
from actlab.engine.results import CandidateResult
from actlab.store.run_dir import json_safe

# relu and elu beat identity on xor by far more than the margin: resolved after one batch.
RESOLVES = dict(
    data="xor(n=400)",
    activations=["relu", "elu", "identity"],
    epochs=2,
    lr=0.03,
    hidden=(16,),
    batch_size=64,
)
# identity stays unresolved against relu on circles in 2 epochs: the budget stops it.
BUDGET = dict(RESOLVES, data="circles(n=400)", activations=["relu", "identity"])


class Recorder:
    """A progress sink that records looks and epochs, and can simulate Ctrl-C."""

    def __init__(self, stop_at_look: int | None = None, stop_in: str | None = None) -> None:
        self.looks: list[LookDone] = []
        self.epochs: list[tuple[str, int]] = []
        self.stop_at_look, self.stop_in = stop_at_look, stop_in

    def group_started(self, group, total_epochs, done_epochs):
        pass

    def epoch_done(self, group, epoch, summary):
        self.epochs.append((group, epoch))
        if self.stop_in is not None and group.endswith(self.stop_in) and epoch == 1:
            raise KeyboardInterrupt

    def look_done(self, look):
        self.looks.append(look)
        if look.seeds == self.stop_at_look:
            raise KeyboardInterrupt


def _without_times(result) -> list[dict]:
    """Every candidate record, in (activation, seed) order, without wall times."""
    out = []
    for c in sorted(result.candidates, key=lambda c: (c.activation, c.seed)):
        c = json_safe(c.to_dict())
        c["history"].pop("epoch_time")
        out.append(c)
    return out


def _results(run) -> dict:
    return json.loads((run / "results.json").read_text())


@pytest.fixture(scope="module")
def resolved_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("auto") / "run"
    progress = Recorder()
    result = actlab.compare(seeds="auto", max_seeds=10, out=run, progress=progress, **RESOLVES)
    return run, result, progress


def test_auto_stops_when_every_candidate_is_resolved_and_records_its_looks(resolved_run):
    run, result, progress = resolved_run
    assert [(x.seeds, x.unresolved, x.next_look) for x in progress.looks] == [
        (5, {"mlp-16": 2}, 10),
        (10, {"mlp-16": 0}, None),
    ]
    assert ("mlp-16 +seeds 5-9", 2) in progress.epochs
    config = json.loads((run / "config.json").read_text())
    assert config["seeds"] == list(range(10))
    assert config["auto_seeds"] == {"start": 5, "batch": 5, "max_seeds": 10}
    verdicts = _results(run)["analysis"]["groups"]["mlp-16"]["verdicts"]
    assert verdicts["design"]["looks"] == [5, 10] and verdicts["design"]["spending"]
    assert [(x["seeds"], x["unresolved"]) for x in verdicts["looks"]] == [(5, 2), (10, 0)]
    assert verdicts["looks"][0]["nominal_level"] < verdicts["looks"][1]["nominal_level"] < 0.05
    assert verdicts["stopped"] == "resolved" and verdicts["seeds"] == 10
    assert {c["verdict"] for c in verdicts["comparisons"]} == {"leader", "worse"}
    assert all(c["decided_at"] == 10 for c in verdicts["comparisons"][1:])
    report = (run / "report.html").read_text()
    assert "Stopped at 10 seeds because every candidate is resolved" in report
    assert "O&#x27;Brien-Fleming" in report or "O'Brien-Fleming" in report
    assert "Stopped at 10 seeds" in result.analyse().text()
    assert result.how_it_trained("mlp-16").startswith(
        "3 activations x 5 seeds together, stacked, 2 times"
    )


def test_each_seed_equals_a_fixed_seed_run_with_that_many_seeds(resolved_run):
    _, auto, _ = resolved_run
    fixed = actlab.compare(seeds=10, **RESOLVES)
    assert _without_times(auto) == _without_times(fixed)


def test_learned_slopes_of_seeds_added_later_equal_a_fixed_seed_run():
    """prelu's seeds 5-9 train in a later stack of their own: their learned slopes (and
    everything else) are those of the same seeds in one stack of 10, bit for bit."""
    settings = dict(RESOLVES, activations=["relu", "prelu"], max_seeds=10)
    auto = actlab.compare(seeds="auto", **settings)
    seeds = len({c.seed for c in auto.candidates})
    assert seeds == 10  # prelu and relu stay unresolved at 5 seeds
    fixed = actlab.compare(seeds=seeds, **{k: v for k, v in settings.items() if k != "max_seeds"})
    assert _without_times(auto) == _without_times(fixed)
    assert all(c.learned["alpha"][0] != 0.25 for c in auto.candidates if c.activation == "prelu")


def test_auto_stops_at_the_budget_and_report_reanalyses_sequentially(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--data", BUDGET["data"], "--activations", "relu,identity", "--epochs", "2"]
    args += ["--lr", "0.03", "--hidden", "16", "--batch-size", "64", "--out", str(run)]
    assert main(["compare", "--seeds", "auto", "--max-seeds", "7", *args]) == 0
    out, err = (" ".join(text.split()) for text in capsys.readouterr())
    assert "look at 5 seeds: 1 of 1 candidates unresolved against the leader; training " in err
    assert "look at 7 seeds: 1 of 1 candidates unresolved against the leader; the budget of " in err
    assert "because the budget (--max-seeds 7) was reached with 1 still unresolved" in out
    first = _results(run)["analysis"]
    assert first["groups"]["mlp-16"]["verdicts"]["stopped"] == "budget"
    (run / "results.json").write_text(json.dumps({**_results(run), "analysis": {}}))
    assert main(["report", str(run)]) == 0
    again = _results(run)["analysis"]
    assert again == first  # the looks and boundaries, recomputed
    # ... which a fixed 7-seed analysis would not give: the last look spends less.
    stored = _results(run)
    n = stored["data"]["splits"]["n_val"]
    same = dict(metric="accuracy", n_val=n, n_eval=min(n, stored["data"]["splits"]["n_test"]))
    candidates = [CandidateResult.from_dict(c) for c in stored["candidates"]]
    fixed = analyse_group("mlp-16", candidates, **same)
    sequential = analyse_group("mlp-16", candidates, **same, design=Design.auto(5, 5, 7))
    assert [x.seeds for x in fixed.verdicts.looks] == [7]
    seq, fix = sequential.verdicts.comparisons[1], fixed.verdicts.comparisons[1]
    assert seq.worse.p == pytest.approx(fix.worse.p) and seq.worse.p_adjusted > fix.worse.p_adjusted
    assert again["groups"]["mlp-16"]["verdicts"]["comparisons"][1]["worse"]["p_adjusted"] == (
        pytest.approx(seq.worse.p_adjusted)
    )
    assert AnalysisSettings().alpha == first["settings"]["alpha"]


@pytest.mark.parametrize(
    "interrupt",
    [
        {"stop_at_look": 5},  # between looks: the next batch is announced, not trained
        {"stop_in": "+seeds 5-9"},  # within a look: the added batch stopped after epoch 1
    ],
    ids=["between-looks", "within-a-look"],
)
def test_an_interrupted_auto_run_resumes_to_the_same_result(resolved_run, tmp_path, interrupt):
    _, whole, _ = resolved_run
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        actlab.compare(
            seeds="auto", max_seeds=10, out=run, progress=Recorder(**interrupt), **RESOLVES
        )
    assert json.loads((run / "config.json").read_text())["seeds"] == list(range(10))
    partial = _results(run)["analysis"]["groups"]["mlp-16"]
    assert partial["verdicts"]["stopped"] is None and partial["verdicts"]["seeds"] == 5
    reasons = " ".join(partial["recommendation"]["reasons"])
    assert "Not finished: the next look is due at 10 seeds" in reasons
    progress = Recorder()
    resumed = actlab.resume(run, progress=progress)
    done_again = [e for e in progress.epochs if not e[0].endswith("+seeds 5-9")]
    assert done_again == []  # the first look's seeds are not trained twice
    assert [x.seeds for x in progress.looks] == [10]
    if "stop_in" in interrupt:
        assert progress.epochs == [("mlp-16 +seeds 5-9", 2)]  # from the checkpoint
    assert _without_times(resumed) == _without_times(whole)
    verdicts = _results(run)["analysis"]["groups"]["mlp-16"]["verdicts"]
    assert verdicts == json.loads(whole.to_json())["analysis"]["groups"]["mlp-16"]["verdicts"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--seeds", "auto", "--max-seeds", "2"], "--max-seeds must be at least 3"),
        (["--max-seeds", "10"], "--max-seeds applies only to --seeds auto"),
        (["--seeds", "five"], "--seeds takes a positive integer or 'auto'"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--seeds", "auto", "--max-seeds", "ten"], "'ten' is not a valid integer"),
    ],
)
def test_bad_seeds_options_exit_2_with_one_line(tmp_path, capsys, args, fragment):
    code = main(["compare", "--epochs", "1", "--out", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"seeds": "auto", "max_seeds": 2}, "at least 3"),
        ({"seeds": 5, "max_seeds": 10}, "max_seeds applies only to seeds='auto'"),
        ({"seeds": "many"}, "'auto'"),
        ({"seeds": "auto", "max_seeds": 7.5}, "must be an integer"),
    ],
)
def test_bad_seeds_arguments_are_refused_before_training(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        actlab.compare(**{**RESOLVES, **kwargs})


def test_look_lines():
    going = LookDone(5, {"g": 3}, 7, 10, 30)
    assert look_line(going) == (
        "look at 5 seeds: 3 of 7 candidates unresolved against the leader; training seeds "
        "5-9 (next look at 10, budget 30)"
    )
    assert look_line(LookDone(10, {"a": 0, "b": 0}, 7, None, 30)).endswith(
        "a 0 of 7, b 0 of 7 unresolved against the leader; every candidate is resolved, stopping"
    )
    assert look_line(LookDone(30, {"g": 2}, 7, None, 30)).endswith(
        "the budget of 30 seeds is reached, stopping"
    )


def _record(group: str, activation: str, seed: int, val: float) -> CandidateResult:
    return CandidateResult.from_dict(
        {
            "group": group,
            "activation": activation,
            "seed": seed,
            "status": "ok",
            "test_metric": val,
            "history": {
                "val_metric": [val],
                "grad_norm": [[1.0, 1.0]],
                "dead_fraction": [[0.0, 0.0]],
                "saturated_fraction": [[0.0, 0.0]],
            },
        }
    )


def test_a_group_whose_candidates_are_all_resolved_stops_while_others_go_on():
    from actlab.comparison import CompareConfig, CompareResult
    from actlab.comparison.config import AutoSeeds
    from actlab.comparison.runner import _todo

    config = CompareConfig(
        activations=("relu", "identity"),
        depths=(1, 2),
        seeds=tuple(range(10)),
        auto_seeds=AutoSeeds.of(30),
    )
    clear, close = config.groups()
    noise = [0.01, -0.02, 0.015, -0.005, 0.0]
    candidates = [
        _record(g, a, s, value)
        for s in range(5)
        for g, a, value in [
            (clear, "relu", 0.95 + noise[s] / 10),
            (clear, "identity", 0.5 + noise[s] / 10),  # worse by 45 points, every seed
            (close, "relu", 0.90 + noise[s]),
            (close, "identity", 0.90 + noise[(s + 2) % 5]),
        ]
    ]
    data = {"task": "classification", "splits": {"n_val": 360, "n_test": 360}}
    result = CompareResult(config.to_dict(), data, {}, candidates, {}, {})
    assert result.analyse(clear).verdicts.stopped == "resolved"
    assert result.analyse(close).verdicts.stopped is None
    assert _todo(config, result) == {clear: [], close: list(range(5, 10))}
