"""An advisory lock on a run or sweep directory: one writer at a time.

The lock is the file ``DIR/actlab.lock``, holding JSON ``{"pid", "host", "since",
"command"}`` of the process that holds it. Taking it:

* ``flock(LOCK_EX | LOCK_NB)`` on that file decides. The kernel releases a flock when
  its holder dies (even by ``kill -9``), so a lock file left by a dead process is stale
  and is simply taken over; a live holder makes :class:`RunLockedError` with one line
  naming it (pid, host, since when, what it runs).
* Where the filesystem has no ``flock`` (some network filesystems), the pid and host in
  the file decide: a holder on this host whose pid is gone is stale and taken over; one
  on another host cannot be checked, so the error says to delete the file if that
  process is gone.

Releasing deletes the file (and the directory, when taking the lock created it and it is
still empty). A process that opened the file just before it was deleted notices that its
file is no longer the one at the path, and tries again.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from actlab.store.errors import RunDirError, RunLockedError, one_line

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "actlab.lock"
_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_ATTEMPTS = 5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user
        return True
    return True


def _describe(holder: dict[str, Any]) -> str:
    command = one_line(holder.get("command") or "", 80)
    return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}" + (
        f" ({command})" if command else ""
    )


class RunLock:
    """``with RunLock(directory): ...`` holds the directory's lock (see the module
    docstring); :class:`RunLockedError` when another live process holds it."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self._fd: int | None = None
        self._created_directory = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        self._make_directory()
        try:
            for _ in range(_ATTEMPTS):
                fd = self._open()
                try:
                    if self._lock(fd) and self._still_at_path(fd):
                        self._write_holder(fd)
                        self._fd = fd
                        return
                except BaseException:
                    os.close(fd)
                    raise
                os.close(fd)
            raise RunLockedError(f"{self.path}: could not take the lock (it keeps changing)")
        except BaseException:
            self._remove_directory()
            raise

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._still_at_path(fd):
                self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # releases the flock
        self._remove_directory()

    def holder(self) -> dict[str, Any]:
        """Who the lock file says holds it (empty when unreadable)."""
        try:
            payload = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return payload if isinstance(payload, dict) else {}

    def _make_directory(self) -> None:
        if self.directory.is_dir():
            return
        try:
            self.directory.mkdir(parents=True)
        except FileExistsError:
            if not self.directory.is_dir():
                raise RunDirError(f"{self.directory}: exists and is not a directory") from None
            return
        except OSError as exc:
            raise RunDirError(f"{self.directory}: cannot create it ({exc.strerror})") from None
        self._created_directory = True

    def _remove_directory(self) -> None:
        if self._created_directory:
            self._created_directory = False
            try:
                self.directory.rmdir()  # only when empty: a run started inside stays
            except OSError:
                pass

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except IsADirectoryError:
            raise RunDirError(f"{self.path}: is a directory, not a lock file") from None
        except OSError as exc:
            raise RunDirError(
                f"{self.path}: cannot create the lock file ({exc.strerror}); "
                "the directory must be writable"
            ) from None

    def _lock(self, fd: int) -> bool:
        """Take the flock, or decide by pid and host where there is none."""
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                raise RunLockedError(
                    f"{self.directory} is in use by {_describe(self.holder())}; wait for it "
                    "to finish or stop it"
                ) from None
            except OSError as exc:
                if exc.errno not in _NO_FLOCK:
                    raise RunDirError(f"{self.path}: cannot lock ({exc.strerror})") from None
        holder = self.holder()
        pid = holder.get("pid")
        if isinstance(pid, int) and pid != os.getpid():
            if holder.get("host") != socket.gethostname():
                raise RunLockedError(
                    f"{self.directory} is in use by {_describe(holder)}; if that process is "
                    f"gone, delete {self.path}"
                )
            if _alive(pid):
                raise RunLockedError(
                    f"{self.directory} is in use by {_describe(holder)}; wait for it "
                    "to finish or stop it"
                )
        return True

    def _still_at_path(self, fd: int) -> bool:
        try:
            here = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def _write_holder(self, fd: int) -> None:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:200],
        }
        data = json.dumps(holder).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        os.fsync(fd)
