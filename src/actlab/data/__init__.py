"""Data for comparisons: embedded and generated data sets, CSV / NPZ / NPY files and
in-memory arrays, seeded stratified splits and train-only standardization.

>>> from actlab import data
>>> ds = data.load("moons(n=500, noise=0.3)")
>>> sp = data.split(ds, seed=0)
>>> sp.X_train.shape, sp.n_outputs
((300, 2), 2)
"""

from __future__ import annotations

from actlab.data.dataset import Dataset, Splits, Task
from actlab.data.errors import DataError
from actlab.data.load import load
from actlab.data.registry import dataset_names
from actlab.data.split import split, split_indices

__all__ = [
    "DataError",
    "Dataset",
    "Splits",
    "Task",
    "dataset_names",
    "load",
    "split",
    "split_indices",
]
