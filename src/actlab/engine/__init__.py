"""The engine: one trainer for every kind of stacked model (activation x seed at once).

>>> trainer = StackedTrainer(splits, activations=["relu", "tanh"], seeds=[0, 1, 2])
>>> results = trainer.run()          # list[CandidateResult], activation-major
>>> StackedTrainer(splits, activations=["relu", "gelu"], seeds=[0, 1], model=UserModel(make_net))

The names are imported from their modules on first use (PEP 562): the default comparison
loads neither the user-model machinery nor the vmapped layers.
"""

from __future__ import annotations

from actlab._lazy import lazy_names

__getattr__, __all__ = lazy_names(
    __name__,
    {
        "Candidate": "candidates",
        "CandidateResult": "results",
        "EPOCH_PHASES": "results",
        "EpochReport": "results",
        "ModelMismatch": "user_stack",
        "PROBES": "probes",
        "Stack": "stack",
        "StackedCNN": "stacked",
        "StackedMLP": "stacked",
        "StackedTrainer": "trainer",
        "TrainConfig": "config",
        "Training": "stack",
        "UserModel": "user_stack",
        "UserStack": "user_stack",
        "batch_order": "trainer",
        "layer_signals": "probes",
        "make_candidates": "candidates",
        "resolve_device": "device",
        "resolve_init": "candidates",
    },
)
