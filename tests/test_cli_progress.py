"""The progress bar's time estimate (from measured epoch times, on a fake clock) and what it
prints without a terminal."""

from __future__ import annotations

import pytest

from actlab.cli.progress import LONG_RUN_SECONDS, EpochClock, RichProgress, duration, group_cost


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_duration_reads_like_a_person_would_say_it() -> None:
    assert duration(0.4) == "0 s"
    assert duration(42) == "42 s"
    assert duration(185) == "3 min 05 s"
    assert duration(2 * 3600 + 7 * 60 + 30) == "2 h 07 min"


def test_group_cost_grows_with_the_shape() -> None:
    assert group_cost((128, 128)) == 128 * 128 + 256
    assert group_cost((64,) * 8) > group_cost((64,) * 2) > 0


def test_no_estimate_before_the_first_epoch() -> None:
    clock = EpochClock({"g": (10, 1.0)}, FakeClock())
    clock.group_started("g", 10, 0)
    assert clock.remaining() is None


def test_remaining_is_epochs_left_times_the_median_epoch() -> None:
    fake = FakeClock()
    clock = EpochClock({"g": (10, 1.0)}, fake)
    clock.group_started("g", 10, 0)
    for seconds in (1.0, 3.0, 1.0):  # a slow epoch (a checkpoint write) does not set the pace
        fake.advance(seconds)
        assert clock.epoch_done("g") == seconds
    assert clock.remaining() == pytest.approx(7 * 1.0)
    assert clock.epochs_left() == 7


def test_a_group_not_yet_started_is_scaled_by_its_cost() -> None:
    fake = FakeClock()
    clock = EpochClock({"small": (10, 1.0), "big": (10, 4.0)}, fake)
    clock.group_started("small", 10, 0)
    for _ in range(2):
        fake.advance(2.0)
        clock.epoch_done("small")
    assert clock.remaining() == pytest.approx(8 * 2.0 + 10 * 4.0 * 2.0)
    clock.group_started("big", 10, 0)  # its own measurements replace the guess
    fake.advance(5.0)
    clock.epoch_done("big")
    assert clock.remaining() == pytest.approx(8 * 2.0 + 9 * 5.0)


def test_a_resumed_group_counts_only_its_missing_epochs() -> None:
    fake = FakeClock()
    clock = EpochClock({"g": (30, 1.0)}, fake)
    clock.group_started("g", 30, 25)
    fake.advance(0.5)
    clock.epoch_done("g")
    assert clock.remaining() == pytest.approx(4 * 0.5)


def test_a_group_outside_the_plan_is_counted() -> None:
    fake = FakeClock()
    clock = EpochClock({"a": (5, 2.0)}, fake)
    clock.group_started("user-model", 12, 0)  # the runner reported another group
    fake.advance(1.0)
    clock.epoch_done("user-model")
    assert clock.total_epochs == 17
    assert clock.remaining() == pytest.approx(11 * 1.0 + 5 * 2.0 * (1.0 / 2.0))


def _run_bar(capsys, epochs: int, seconds: float) -> list[str]:
    fake = FakeClock()
    bar = RichProgress({"mlp-8x8": (epochs, 1.0)}, "accuracy", clock=fake)
    with bar:
        bar.group_started("mlp-8x8", epochs, 0)
        for epoch in range(1, epochs + 1):
            fake.advance(seconds)
            bar.epoch_done("mlp-8x8", epoch, {"best": ("relu", 0.9)})
    return capsys.readouterr().err.splitlines()


def test_without_a_terminal_each_tenth_of_the_epochs_is_a_line_with_the_eta(capsys) -> None:
    lines = _run_bar(capsys, epochs=20, seconds=0.5)
    assert len(lines) == 10
    assert lines[0] == "mlp-8x8: epoch 2/20 ETA 9 s best val accuracy 0.9000 (relu)"
    assert lines[-1].startswith("mlp-8x8: epoch 20/20 ETA 0 s")


def test_a_long_run_announces_its_estimate_once(capsys) -> None:
    lines = _run_bar(capsys, epochs=30, seconds=LONG_RUN_SECONDS / 10)
    notes = [line for line in lines if line.startswith("this run will take")]
    assert notes == [
        "this run will take about 2 min 54 s more: 29 epochs left, mlp-8x8 measured at 6 s per epoch"
    ]


def test_a_short_run_announces_nothing(capsys) -> None:
    lines = _run_bar(capsys, epochs=30, seconds=1.0)
    assert not [line for line in lines if line.startswith("this run will take")]
