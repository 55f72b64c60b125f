"""The stacked engine: one model trains every candidate (activation x seed) at once.

>>> trainer = StackedTrainer(splits, activations=["relu", "tanh"], seeds=[0, 1, 2])
>>> results = trainer.run()          # list[CandidateResult], activation-major
"""

from actlab.engine.candidates import Candidate, make_candidates, resolve_init
from actlab.engine.config import TrainConfig
from actlab.engine.probes import PROBES
from actlab.engine.results import EPOCH_PHASES, CandidateResult, EpochReport
from actlab.engine.stacked import StackedCNN, StackedMLP
from actlab.engine.trainer import StackedTrainer, batch_order

__all__ = [
    "EPOCH_PHASES",
    "PROBES",
    "Candidate",
    "CandidateResult",
    "EpochReport",
    "StackedCNN",
    "StackedMLP",
    "StackedTrainer",
    "TrainConfig",
    "batch_order",
    "make_candidates",
    "resolve_init",
]
