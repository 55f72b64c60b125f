"""The errors of :mod:`actlab.store`: a run or sweep directory, or a file in it, that cannot
be used as asked. Each message is one line that names the file and what is wrong."""

from __future__ import annotations


class RunDirError(Exception):
    """A run directory, a sweep directory or a file in one cannot be read or written."""


class CheckpointError(RunDirError):
    """A checkpoint that is not one this actlab wrote (a pickle, a corrupt or truncated file,
    a directory, a newer format): it is refused, never executed."""


class RunLockedError(RunDirError):
    """Another live process holds the directory's lock (:mod:`actlab.store.lock`)."""


def one_line(text: object, limit: int = 200) -> str:
    """``text``'s first line, cut to ``limit`` characters (error messages quote data)."""
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."
