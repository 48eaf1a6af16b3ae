"""PostgreSQL store: the shared record of a fleet, behind the same interface as SQLite.

Same SQL, same rules: the writer and readers are `writer.py` and `readers.py`,
which SQLite runs too; the contract suite (tests/unit/storage/) runs against
both. What differs is here:

- Timestamps are BIGINT microseconds since the epoch, as in SQLite: exact,
  and the shared interval arithmetic runs unchanged.
- The single-writer lock is a session-level advisory lock (`lock.py`), taken
  before the schema is touched; a second writer fails naming the first.
- Durability is the server's: a commit returns once PostgreSQL has it in its
  WAL (with the default `synchronous_commit = on`, flushed to disk).
- Cancel-safety: every unit of work runs in its own task, shielded from the
  caller's cancellation. A caller cancelled at shutdown stops waiting, while
  the transaction goes on to COMMIT or ROLLBACK whole and the connection is
  never left inside one; `close()` waits for it. A hung server cannot hold it
  forever: each statement has `command_timeout`.
- A connection that breaks (server restart, network) fails the unit of work
  with StorageError, which the pipeline keeps in its backlog; the next unit
  reconnects, takes the lock again and checks the schema before writing.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import asyncpg

from monitord.errors import StorageError
from monitord.storage.backend import Work
from monitord.storage.postgresql.connection import (
    DRIVER_ERRORS,
    PgTx,
    connect,
    failure,
    redact,
)
from monitord.storage.postgresql.lock import take_writer_lock
from monitord.storage.postgresql.migrate import migrate
from monitord.storage.readers import SqlReaders
from monitord.storage.writer import SqlWriter

__all__ = ["PostgresStore"]

T = TypeVar("T")


def _retrieve(task: asyncio.Future[Any]) -> None:
    """The outcome of a unit of work whose caller was cancelled: its error was already
    the caller's to see (the pipeline queues such a batch and replays it)."""
    if not task.cancelled():
        task.exception()


class PostgresStore(SqlWriter, SqlReaders):
    """`Store` on one PostgreSQL database; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        heartbeat_grace_seconds: float = 0.0,
        outbox: bool = False,
        writer: bool = True,
        connect_timeout: float = 10.0,
        command_timeout: float = 30.0,
    ) -> None:
        """`writer=False` opens for reading only (reports, the CLI): no single-writer lock."""
        super().__init__(redact(url), heartbeat_grace_seconds=heartbeat_grace_seconds,
                         outbox=outbox)
        self._url = url
        self._password = password
        self._writer = writer
        self._timeouts = (connect_timeout, command_timeout)
        self._conn: asyncpg.Connection | None = None
        self._opened = False
        self._session: int | None = None  # the server pid of the session holding our lock
        self._lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        if self._opened:
            return
        async with self._lock:
            self._conn = await self._connect()
            self._opened = True

    async def close(self) -> None:
        self._opened = False
        async with self._lock:  # after any unit of work still running
            conn, self._conn = self._conn, None
            if conn is None or conn.is_closed():
                return
            try:
                await conn.close(timeout=self._timeouts[0])  # ends the session: frees the lock
            except DRIVER_ERRORS:
                conn.terminate()

    async def _connect(self) -> asyncpg.Connection:
        connect_timeout, command_timeout = self._timeouts
        conn = await connect(self._url, password=self._password, timeout=connect_timeout,
                             command_timeout=command_timeout)
        try:
            if self._writer:  # before anything is written, migrations included
                await take_writer_lock(conn, self._where, stale_session=self._session)
                self._session = conn.get_server_pid()
            await migrate(conn, self._where)
        except DRIVER_ERRORS as exc:
            conn.terminate()
            raise failure(self._where, "opening the database", exc) from exc
        except BaseException:
            conn.terminate()
            raise
        return conn

    # --- units of work ----------------------------------------------------------

    async def _connection(self) -> asyncpg.Connection:
        if not self._opened:
            raise StorageError(f"{self._where}: store is not open (call open() first)")
        if self._conn is None or self._conn.is_closed():
            self._conn = None
            self._conn = await self._connect()
        return self._conn

    async def _run(self, what: str, work: Work[T], *, transaction: bool) -> T:
        async with self._lock:
            conn = await self._connection()
            try:
                if not transaction:
                    return await work(PgTx(conn))
                async with conn.transaction():
                    return await work(PgTx(conn))
            except DRIVER_ERRORS as exc:  # asyncpg has rolled back, or the session is gone
                raise failure(self._where, what, exc) from exc

    async def _shielded(self, what: str, work: Work[T], *, transaction: bool) -> T:
        task = asyncio.ensure_future(self._run(what, work, transaction=transaction))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_retrieve)
            raise

    async def _write(self, what: str, work: Work[T]) -> T:
        return await self._shielded(what, work, transaction=True)

    async def _read(self, what: str, work: Work[T]) -> T:
        return await self._shielded(what, work, transaction=False)
