"""One writer per store file: an exclusive advisory lock beside the database.

Why: a second `monitord run` on the same config used to write an
`unclean_shutdown` gap into the live store before it failed to bind its
port. The lock is taken before anything is written, so a second writer
fails with the first one's PID and leaves the record untouched. `flock` is
released by the kernel when the holder dies (kill -9 included), so a stale
lock file never blocks a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from monitord.errors import StorageError, StoreLockedError

__all__ = ["StoreLock"]


class StoreLock:
    """`<database>.lock`, holding the writer's PID while it runs."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot create the lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder else "another process"
            raise StoreLockedError(
                f"{self.path.with_suffix('')} is already in use by another monitord ({who}, "
                f"lock {self.path}): stop that daemon first, or give this one its own "
                "daemon.storage"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StorageError(f"cannot lock {self.path}: {exc.strerror}") from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() else None
