"""SQLite store: the embedded default backend, one file next to the daemon.

Durability: WAL journal with `synchronous=NORMAL`. When a commit returns it is
in the WAL file (in the OS page cache), so a crash or kill of the process
loses nothing that was committed: the failure a daemon meets most. Only a
power loss or OS crash can lose the last commits, never corrupt the file, and
what is lost goes as whole transactions: a snapshot with its intervals, a run's
last sign of life with them, so the restarted daemon sees an earlier, still
consistent state and a longer (honest) gap. `synchronous=FULL` would buy those
last commits with an fsync per state change of every check. WAL also lets the
API and report readers run while the daemon writes.

Timestamps are INTEGER microseconds since the Unix epoch, UTC. Integers are
exact (a float loses microseconds after 2^53 us, and text needs parsing and
one agreed format); they order, subtract and sum in SQL, which the overlap
queries and `closed_downtime_seconds` rely on. They come back as aware UTC
datetimes so nobody has to guess the zone of a disputed interval.

One asyncio lock serialises this store's use of its single connection,
because a transaction spans several awaits and another coroutine's statement
must not land inside it. The store's rules are in `writer.py` and
`readers.py`, shared with PostgreSQL; this module only connects and runs them.

Schema changes are numbered SQL files in `monitord/migrations`, each applied
in its own transaction together with the new `PRAGMA user_version`, so a
failed migration leaves the previous schema intact.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from typing import TypeVar

import aiosqlite

from monitord.errors import StorageError
from monitord.storage.backend import Work
from monitord.storage.readers import SqlReaders
from monitord.storage.sqlite.connection import connect, failure, run_whole
from monitord.storage.sqlite.lock import StoreLock
from monitord.storage.writer import SqlWriter

__all__ = ["SqliteStore"]

T = TypeVar("T")


class SqliteStore(SqlWriter, SqlReaders):
    """`Store` on one SQLite file; see the module docstring for the durability choices."""

    def __init__(
        self,
        path: str | Path,
        *,
        heartbeat_grace_seconds: float = 0.0,
        outbox: bool = False,
        writer: bool = True,
    ) -> None:
        """`writer=False` opens for reading only (reports, the CLI): no single-writer lock."""
        super().__init__(str(path), heartbeat_grace_seconds=heartbeat_grace_seconds,
                         outbox=outbox)
        self._path = Path(path)
        self._lock_file = StoreLock(self._path) if writer else None
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self._path

    # --- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        if self._lock_file is not None:
            self._prepare_files()
            self._lock_file.acquire()  # before anything is written
        try:
            self._db = await connect(self._path)
        except BaseException:
            if self._lock_file is not None:
                self._lock_file.release()
            raise

    def _prepare_files(self) -> None:
        """The record is private: directory 0700 when we create it, database files 0600."""
        parent = self._path.parent
        try:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            for f in (self._path, *(self._path.with_name(self._path.name + x)
                                    for x in ("-wal", "-shm"))):
                if f.exists() and f.stat().st_mode & 0o077:
                    f.chmod(0o600)
        except OSError as exc:
            raise StorageError(
                f"cannot create the database {self._path}: {exc.strerror}"
            ) from exc

    async def close(self) -> None:
        db, self._db = self._db, None
        try:
            if db is None:
                return
            async with self._lock:
                try:
                    await db.close()
                except sqlite3.Error as exc:
                    raise failure(self._path, "closing the database", exc) from exc
        finally:
            if self._lock_file is not None:
                self._lock_file.release()

    # --- units of work ----------------------------------------------------------

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError(f"{self._path}: store is not open (call open() first)")
        return self._db

    async def _write(self, what: str, work: Work[T]) -> T:
        db = self._connection()
        async with self._lock:
            return await run_whole(db, self._path, what, work)

    async def _read(self, what: str, work: Work[T]) -> T:
        db = self._connection()
        async with self._lock:
            return await run_whole(db, self._path, what, work, write=False)
