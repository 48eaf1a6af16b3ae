"""PostgreSQL connections through asyncpg: the `Tx` handle and the driver's errors as ours.

The shared SQL uses `?` placeholders; PostgreSQL numbers its parameters, so
the handle rewrites each statement once (cached). No statement of the store
has a `?` inside a string literal, which keeps the rewrite this simple.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from monitord.errors import StorageError
from monitord.storage.tx import Row

__all__ = ["DRIVER_ERRORS", "PgTx", "application_name", "connect", "failure", "redact"]

# What asyncpg raises for a server error, a broken or closed connection, a timeout.
DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,  # includes TimeoutError (connect and command timeouts)
)

# ValueError: a URL asyncpg cannot use
_CONNECT_ERRORS: tuple[type[BaseException], ...] = (*DRIVER_ERRORS, ValueError)


def failure(where: str, what: str, exc: BaseException) -> StorageError:
    detail = str(exc) or type(exc).__name__
    return StorageError(f"{what} failed on {where}: {detail}")


def redact(url: str) -> str:
    """The URL as messages show it: never a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))


def application_name() -> str:
    """How this process shows in pg_stat_activity, so a refused second writer can name it."""
    return f"monitord pid {os.getpid()} on {socket.gethostname()}"[:63]


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    parts = sql.split("?")
    out = [parts[0]]
    for n, part in enumerate(parts[1:], start=1):
        out.append(f"${n}{part}")
    return "".join(out)


def _changed(status: str) -> int:
    """Rows a command changed, from its tag: 'INSERT 0 1', 'UPDATE 3', 'DELETE 0'."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class PgTx:
    """`tx.Tx` on an asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._conn.fetch(numbered(sql), *params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _changed(await self._conn.execute(numbered(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            await self._conn.executemany(numbered(sql), batch)

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        return int(await self._conn.fetchval(numbered(sql) + " RETURNING id", *params))


async def connect(
    url: str, *, password: str | None, timeout: float, command_timeout: float
) -> asyncpg.Connection:
    """One connection, named after this process; StorageError naming the server otherwise."""
    try:
        return await asyncpg.connect(
            url,
            password=password,
            timeout=timeout,
            command_timeout=command_timeout,
            server_settings={"application_name": application_name(), "timezone": "UTC"},
        )
    except _CONNECT_ERRORS as exc:
        raise failure(redact(url), "connecting to the database", exc) from exc
