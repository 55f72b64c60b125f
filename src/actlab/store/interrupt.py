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


_received: list[int] = []
"""Signals received since :func:`terminate_like_interrupt` was set up, in order."""


def _raise_terminated(signum: int, frame: Any) -> None:
    _received.append(signum)
    raise Terminated()


def _raise_interrupted(signum: int, frame: Any) -> None:
    _received.append(signum)
    raise KeyboardInterrupt()


def terminate_like_interrupt() -> Callable[[], None]:
    """Make SIGTERM raise :class:`Terminated` in the main thread, and record SIGINT and
    SIGTERM as they arrive (:func:`received`); returns a function that restores the
    previous handlers (a no-op outside the main thread, where handlers cannot be set).

    Python raises the ``KeyboardInterrupt`` of a signal at the next bytecode it runs,
    which can be inside a finalizer or a library's catch-all, where it is swallowed
    ("Exception ignored in ..."): the record still says the signal came. A SIGINT that
    the parent process ignores (``SIG_IGN``, e.g. a background job) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    _received.clear()
    previous_term = signal.signal(signal.SIGTERM, _raise_terminated)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, _raise_interrupted)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous_term)
        if previous_int is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous_int)

    return restore


def received() -> tuple[int, ...]:
    """The signals (SIGINT, SIGTERM) received since :func:`terminate_like_interrupt`."""
    return tuple(_received)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """The conventional exit status of an interrupted command: 143 for SIGTERM, else 130."""
    return EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED


def signal_exit_status(signum: int) -> int:
    """:func:`exit_status` of a received signal number."""
    return EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_INTERRUPTED
