"""Durable atomic file replacement.

A file is written next to its destination under a unique temporary name, flushed to disk
(``fsync``), moved over the destination with ``os.replace`` (atomic on POSIX), and then the
directory entry itself is flushed (``fsync`` of the directory). A reader therefore sees the
old file or the new one, never a mix, and once :func:`replace_atomically` returns the new
file survives a power loss. Two writers never share a temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def fsync_directory(path: Path) -> None:
    """Flush ``path``'s directory entries (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a directory; the data is synced
        pass
    finally:
        os.close(fd)


def remove_leftovers(directory: Path) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in ``directory``
    (not its subdirectories); only safe while holding the directory's lock. Returns them."""
    try:
        found = [p for p in directory.glob(".*.tmp") if p.is_file() and not p.is_symlink()]
    except OSError:
        return []
    for path in found:
        path.unlink(missing_ok=True)
    return found


def replace_atomically(path: Path, write: Callable[[Path], None], mode: int = 0o644) -> None:
    """Create or replace ``path`` with what ``write(tmp)`` writes into the file ``tmp``.

    On any exception (including ``KeyboardInterrupt``) the temporary file is removed and
    ``path`` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
