"""The engine: one trainer for every kind of stacked model (activation x seed at once).

>>> trainer = StackedTrainer(splits, activations=["relu", "tanh"], seeds=[0, 1, 2])
>>> results = trainer.run()          # list[CandidateResult], activation-major
>>> StackedTrainer(splits, activations=["relu", "gelu"], seeds=[0, 1], model=UserModel(make_net))
"""

from actlab.engine.candidates import Candidate, make_candidates, resolve_init
from actlab.engine.config import TrainConfig
from actlab.engine.device import resolve_device
from actlab.engine.probes import PROBES, layer_signals
from actlab.engine.results import EPOCH_PHASES, CandidateResult, EpochReport
from actlab.engine.stack import Stack, Training
from actlab.engine.stacked import StackedCNN, StackedMLP
from actlab.engine.trainer import StackedTrainer, batch_order
from actlab.engine.user_stack import ModelMismatch, UserModel, UserStack

__all__ = [
    "EPOCH_PHASES",
    "PROBES",
    "Candidate",
    "CandidateResult",
    "EpochReport",
    "ModelMismatch",
    "Stack",
    "StackedCNN",
    "StackedMLP",
    "StackedTrainer",
    "TrainConfig",
    "Training",
    "UserModel",
    "UserStack",
    "batch_order",
    "layer_signals",
    "make_candidates",
    "resolve_device",
    "resolve_init",
]
