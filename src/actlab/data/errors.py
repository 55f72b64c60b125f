"""The one error type of :mod:`actlab.data`."""

from __future__ import annotations


class DataError(ValueError):
    """Bad data or a bad data request.

    The message is one line and names what is wrong and where: the file, the line, the
    column, or the list of valid choices.
    """
