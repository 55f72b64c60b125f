"""SIGTERM ends a run the way Ctrl-C does.

A job scheduler, ``kill PID`` or a container stop sends SIGTERM, whose default action ends
the process at once, losing the epochs finished since the last checkpoint. With
:func:`terminate_like_interrupt` SIGTERM raises :class:`Terminated`, a
``KeyboardInterrupt``, so every ``except KeyboardInterrupt`` / ``finally`` that keeps
finished work on Ctrl-C (the checkpoint flush, the lock release) does the same.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def terminate_like_interrupt() -> Callable[[], None]:
    """Make SIGTERM raise :class:`Terminated` in the main thread; returns a function that
    restores the previous handler (a no-op outside the main thread, where handlers cannot
    be set)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    return lambda: signal.signal(signal.SIGTERM, previous)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """The conventional exit status of an interrupted command: 143 for SIGTERM, else 130."""
    return EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED
