"""Standardization that cannot overflow.

``(x - mean) / std`` computed directly overflows for values near the float64 limit: the
squares in the standard deviation of a column of ~1e300 are inf, the column became all
zeros, and a regression target of ~1e300 left every metric undefined. Each column is
therefore first divided by a power of two ``u`` with ``max |x| / u`` in ``[1, 2)`` (an
exact division), and the mean ``m_u`` and population standard deviation ``s_u`` are taken
there, where nothing can overflow::

    z = (x / u - m_u) / s_u        mean = u * m_u,   std = u * s_u

which is ``(x - mean) / std`` up to rounding. A column constant on the train part (every
value equal, which a computed standard deviation need not show as 0) keeps ``std = 1``
(``z = x - mean``). A value of another part can still lie so far from the
train part that its ``z`` does not fit in float32; :meth:`Standardization.apply` then
names it (:class:`ValueBeyondFloat32`), since no model could use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


class ValueBeyondFloat32(ValueError):
    """A standardized value that float32 cannot hold: ``column`` and ``row`` of the input."""

    def __init__(self, column: int, row: int, value: float, z: float) -> None:
        self.column, self.row, self.value, self.z = column, row, value, z
        super().__init__(
            f"the value {value:.6g} lies {abs(z):.3g} train standard deviations from the "
            "train mean, beyond float32"
        )


@dataclass(frozen=True)
class Standardization:
    """Per-column standardization fitted on a train part (see the module docstring)."""

    unit: np.ndarray
    mean_in_units: np.ndarray
    std_in_units: np.ndarray
    constant: np.ndarray
    """True for columns constant on the train part (``std = 1``)."""

    @classmethod
    def fit(cls, train: np.ndarray) -> Standardization:
        """Fit on ``train`` ``[N, F]`` (finite float64, ``N >= 1``)."""
        peak = np.max(np.abs(train), axis=0)
        _, exponent = np.frexp(peak)
        unit = np.where(peak > 0, np.ldexp(1.0, exponent - 1), 1.0)
        scaled = train / unit
        constant = np.all(train == train[0], axis=0)
        mean = np.where(constant, scaled[0], scaled.mean(axis=0))  # exact when constant
        std = np.where(constant, 1.0, scaled.std(axis=0))
        return cls(unit, mean, std, constant)

    @property
    def mean(self) -> np.ndarray:
        return self.unit * self.mean_in_units

    @property
    def std(self) -> np.ndarray:
        return np.where(self.constant, 1.0, self.unit * self.std_in_units)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """``X`` standardized, as float32; :class:`ValueBeyondFloat32` for the first value
        that does not fit."""
        with np.errstate(over="ignore", invalid="ignore"):
            centred = X / self.unit - self.mean_in_units
            z = np.where(self.constant, centred * self.unit, centred / self.std_in_units)
            out = z.astype(np.float32)
        bad = ~np.isfinite(out)
        if bad.any():
            row, column = (int(i[0]) for i in np.nonzero(bad))
            raise ValueBeyondFloat32(column, row, float(X[row, column]), float(z[row, column]))
        return out
