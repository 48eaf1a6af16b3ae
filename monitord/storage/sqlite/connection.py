"""SQLite connections: opening with the durability settings, and cancel-safe transactions.

Every write runs in one `BEGIN IMMEDIATE` transaction: taking the write lock
up front means a concurrent reader process cannot make us fail halfway with
SQLITE_BUSY on a read-to-write upgrade.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from monitord.errors import StorageError
from monitord.migrations import migrate
from monitord.storage.tx import Row

__all__ = ["SqliteTx", "connect", "failure", "transaction"]

BUSY_TIMEOUT_SECONDS = 5.0


def failure(path: Path, what: str, exc: BaseException) -> StorageError:
    return StorageError(f"{what} failed on {path}: {exc}")


class SqliteTx:
    """`tx.Tx` on an aiosqlite connection: SQLite takes the shared SQL as it is."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self._path = path

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._db.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._db.execute(sql, params)
        changed = cursor.rowcount
        await cursor.close()
        return changed

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        cursor = await self._db.executemany(sql, rows)
        await cursor.close()

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        cursor = await self._db.execute(sql, params)
        rowid = cursor.lastrowid
        await cursor.close()
        if rowid is None:  # pragma: no cover - SQLite always reports it after an INSERT
            raise StorageError(f"{self._path}: insert reported no row id")
        return rowid


@asynccontextmanager
async def transaction(
    db: aiosqlite.Connection, path: Path, what: str
) -> AsyncIterator[aiosqlite.Connection]:
    """All or nothing, even when the awaiting task is cancelled (daemon shutdown).

    aiosqlite runs statements on its own thread, so cancelling the task does
    not stop a BEGIN or an INSERT already queued there; the ROLLBACK issued on
    cancellation is queued behind them and always ends the transaction. A
    cancelled COMMIT still commits: the write happened, whole.
    """
    try:
        await db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise failure(path, what, exc) from exc
    except BaseException as exc:  # cancelled while BEGIN was queued or running
        await _rollback(db, exc)
        raise
    try:
        yield db
    except BaseException as exc:
        await _rollback(db, exc)
        if isinstance(exc, sqlite3.Error):
            raise failure(path, what, exc) from exc
        raise
    try:
        await db.execute("COMMIT")
    except sqlite3.Error as exc:
        await _rollback(db, exc)
        raise failure(path, what, exc) from exc


async def _rollback(db: aiosqlite.Connection, cause: BaseException) -> None:
    # Unconditional: `in_transaction` is read on our thread and may not yet
    # reflect statements still queued on aiosqlite's. Shielded, so a second
    # cancellation cannot leave the transaction open either.
    # The original error is the one worth reporting; a failed rollback only adds to it.
    try:
        await asyncio.shield(db.execute("ROLLBACK"))
    except sqlite3.OperationalError as exc:
        if "no transaction is active" not in str(exc):
            cause.add_note(f"rollback also failed: {exc}")
    except sqlite3.Error as exc:
        cause.add_note(f"rollback also failed: {exc}")


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
