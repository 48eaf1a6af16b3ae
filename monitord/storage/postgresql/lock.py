"""One writer per database: a session-level PostgreSQL advisory lock.

Why advisory: it lives exactly as long as the writer's session, so a daemon
killed with -9 (its connection dropped) or a server restart frees it, and no
stale row can block a restart. Advisory locks are per database, so one
cluster can host several independent stores. A refused writer names the
holder from pg_locks and pg_stat_activity: monitord connects with
`application_name` "monitord pid N on HOST" for exactly this message.
"""

from __future__ import annotations

import asyncio

import asyncpg

from monitord.errors import StoreLockedError

__all__ = ["MIGRATION_LOCK", "REGISTRATION_LOCK", "WRITER_LOCK", "take_writer_lock"]

WRITER_LOCK = 0x6D6F6E69746F7264  # "monitord" in ASCII: one key, fixed forever
MIGRATION_LOCK = WRITER_LOCK + 1  # transaction-scoped: one migrator at a time
REGISTRATION_LOCK = WRITER_LOCK + 2  # transaction-scoped: one location registered at a time
_STALE_EXIT_SECONDS = 5.0

_HOLDER = """
SELECT l.pid, a.application_name, host(a.client_addr), a.backend_start
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


async def _try(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", WRITER_LOCK))


async def _holder(conn: asyncpg.Connection) -> tuple[int, str] | None:
    """The holding session's backend pid and how to name it, or None if nobody holds it now."""
    row = await conn.fetchrow(_HOLDER, WRITER_LOCK >> 32, WRITER_LOCK & 0xFFFFFFFF)
    if row is None:
        return None
    pid, app, addr, since = row
    who = app if app else "a session that is not monitord"
    where = f" connected from {addr}" if addr else ""
    when = f" since {since.isoformat(timespec='seconds')}" if since else ""
    return int(pid), f"{who}, database session {pid}{where}{when}"


async def take_writer_lock(
    conn: asyncpg.Connection, where: str, *, stale_session: int | None = None
) -> None:
    """Take the lock on `conn`'s session, or raise StoreLockedError naming its holder.

    `stale_session` is this store's own previous session, which may still hold
    the lock after its connection broke (until the server notices): it is
    ended, so a reconnecting writer does not lock itself out.
    """
    if await _try(conn):
        return
    holder = await _holder(conn)
    if holder is not None and holder[0] == stale_session:
        await conn.fetchval("SELECT pg_terminate_backend($1)", stale_session)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + _STALE_EXIT_SECONDS
        while loop.time() < give_up:  # the session exits (and lets go) soon after the signal
            if await _try(conn):
                return
            await asyncio.sleep(0.05)
        holder = await _holder(conn)
    who = holder[1] if holder is not None else "a session that has just let go: try again"
    raise StoreLockedError(
        f"{where} is already in use by another monitord ({who}): stop that daemon first, "
        "or give this one its own daemon.storage"
    )
