"""When to write a training group's checkpoint: often enough to lose little, rarely enough
to cost little.

A checkpoint of the default comparison (40 candidates, 1 M parameters plus Adam's two
moments, and the history so far) is about 13 MB and takes ~10-25 ms to write here (it
grows with the history; BENCHMARKS.md): written after every epoch it was 16% of the
training time. The policy bounds both sides instead:

* after an epoch, its state is written when the time since the last write ended is at
  least ``(1 - overhead) / overhead`` times what that write took (99x at the default 1%),
  so checkpointing costs at most ~``overhead`` of the wall time, and a hard crash
  (``kill -9``, power loss) loses at most that long of finished epochs (~1.5-2 s of the
  default run's 30 epochs of ~0.12 s here; at 2% it was half that, for 2-3 more writes,
  ~0.04 s of a ~5 s command). A cheaper write makes the writes more frequent, not their
  share smaller: ``overhead`` sets the share;
* every epoch's state is still kept in memory (a snapshot, ~2 ms), and :meth:`flush`
  writes the newest one when training stops early (Ctrl-C, an error), so an interrupted
  run resumes without redoing any finished epoch;
* the last epoch's state is kept, never written by the policy: the group's results.json,
  written as soon as its test set is evaluated, makes it redundant (the checkpoint is then
  dropped), and :meth:`flush` writes it if that fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from actlab.store.run_dir import RunDir

CHECKPOINT_OVERHEAD = 0.01
"""The largest share of wall time the checkpoint writes may take."""


class Checkpointer:
    """Checkpoints of one group of ``run``, written by the policy in the module docstring.

    ``clock`` (seconds, monotonic) is replaceable for tests."""

    def __init__(
        self,
        run: RunDir,
        group: str,
        overhead: float = CHECKPOINT_OVERHEAD,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not 0 < overhead <= 1:
            raise ValueError(f"overhead={overhead!r} must be in (0, 1]")
        self.run = run
        self.group = group
        self.ratio = (1 - overhead) / overhead
        self.clock = clock
        self.pending: dict[str, Any] | None = None
        self.last_end = clock()
        self.last_cost = 0.0

    def epoch_done(self, state: dict[str, Any], last: bool = False) -> None:
        """``state``: a snapshot of the trainer after a finished epoch; ``last``: the
        group's training is over (its results follow at once)."""
        self.pending = state
        if not last and self.clock() - self.last_end >= self.ratio * self.last_cost:
            self.flush()

    def flush(self) -> None:
        """Write the newest snapshot not yet written, if any."""
        if self.pending is None:
            return
        start = self.clock()
        self.run.save_checkpoint(self.group, self.pending)
        self.pending = None
        self.last_end = self.clock()
        self.last_cost = self.last_end - start
