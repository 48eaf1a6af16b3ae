"""SQLite connections: opening with the durability settings, and whole, cancel-safe writes.

Every write runs in one `BEGIN IMMEDIATE` transaction: taking the write lock
up front means a concurrent reader process cannot make us fail halfway with
SQLITE_BUSY on a read-to-write upgrade.

A unit of store work runs whole on aiosqlite's thread (`run_whole`), a write
with its BEGIN and COMMIT: one trip there and back, where a statement at a
time cost two trips each (execute, close the cursor). A check that stays
down commits on every probe, and a site that goes down takes thousands of
checks with it: the trips were most of what such a probe cost (0.42 CPU ms).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from monitord.errors import StorageError
from monitord.migrations import migrate
from monitord.storage.tx import Row

__all__ = ["ThreadTx", "connect", "failure", "run_whole"]

T = TypeVar("T")

BUSY_TIMEOUT_SECONDS = 5.0


def failure(path: Path, what: str, exc: BaseException) -> StorageError:
    return StorageError(f"{what} failed on {path}: {exc}")


class ThreadTx:
    """`tx.Tx` on the sqlite3 connection itself, for work run on aiosqlite's thread
    (`run_whole`): its coroutines never suspend, each statement runs when called."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._conn.execute(sql, params).fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = self._conn.execute(sql, params)
        changed = cursor.rowcount
        cursor.close()
        return changed

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows).close()

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        cursor = self._conn.execute(sql, params)
        rowid = cursor.lastrowid
        cursor.close()
        if rowid is None:  # pragma: no cover - SQLite always reports it after an INSERT
            raise StorageError(f"{self._path}: insert reported no row id")
        return rowid


async def run_whole(db: aiosqlite.Connection, path: Path, what: str,
                    work: Callable[[ThreadTx], Awaitable[T]], *, write: bool = True) -> T:
    """`work` run whole on aiosqlite's thread: for a write, in one `BEGIN IMMEDIATE`
    transaction; a read takes SQLite's own per-statement snapshot, as before.

    All or nothing, and cancel-safe by construction: once queued, the thread
    runs the transaction to its COMMIT or ROLLBACK whatever becomes of the task
    that awaits it. `work` may await only its `ThreadTx` (anything else would
    need the event loop, which that thread has not): it fails with a
    StorageError that says so, rolled back."""

    def whole(conn: sqlite3.Connection) -> T:
        if not write:
            return _complete(work(ThreadTx(conn, path)))
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = _complete(work(ThreadTx(conn, path)))
        except BaseException as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as also:
                exc.add_note(f"rollback also failed: {also}")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    hop = cast("Callable[[Callable[[], T]], Awaitable[T]]", db._execute)  # aiosqlite's thread
    try:
        return await hop(lambda: whole(db._conn))
    except sqlite3.Error as exc:
        raise failure(path, what, exc) from exc


def _complete(step: Awaitable[T]) -> T:
    """The result of a coroutine that never suspends (see `ThreadTx`)."""
    coroutine = step.__await__()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise StorageError("a unit of store work awaited something other than its transaction"
                       " (internal error)")


async def connect(path: Path) -> aiosqlite.Connection:
    """Open, configure (WAL, NORMAL sync, foreign keys) and migrate; StorageError naming `path`."""
    pending = aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        db = await pending
    except sqlite3.Error as exc:
        # aiosqlite stops its worker thread asynchronously after a failed connect;
        # let it finish while our loop still runs, or it reports into a closed loop.
        worker = getattr(pending, "_thread", None)
        if worker is not None:
            await asyncio.to_thread(worker.join, 5.0)
        raise failure(path, "opening the database", exc) from exc
    try:
        await _configure(db, path)
        await migrate(db, path)
    except BaseException:
        await db.close()
        raise
    return db


async def _set_wal(db: aiosqlite.Connection) -> list[Any]:
    # Changing the journal mode can fail with SQLITE_BUSY without consulting the
    # busy handler while another connection opens the same file: retry briefly.
    loop = asyncio.get_running_loop()
    give_up = loop.time() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            return list(await db.execute_fetchall("PRAGMA journal_mode = WAL"))
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() >= give_up:
                raise
            await asyncio.sleep(0.02)


async def _configure(db: aiosqlite.Connection, path: Path) -> None:
    try:
        await db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        rows = await _set_wal(db)
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise failure(path, "opening the database", exc) from exc
    mode = str(rows[0][0]).lower()
    if mode not in ("wal", "memory"):
        raise StorageError(
            f"{path}: SQLite refused WAL journal mode (got {mode!r}); "
            "put the database on a local filesystem"
        )
