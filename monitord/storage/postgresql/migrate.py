"""Bring a PostgreSQL store's schema to the newest version, or refuse a newer one.

Each step runs in its own transaction with the new `schema_version` in
`meta`, under a transaction-scoped advisory lock, so a daemon and a report
reader opening a fresh database at the same moment apply every step once
and a failed step leaves the previous schema whole.
"""

from __future__ import annotations

import asyncpg

from monitord import __version__
from monitord.errors import StorageError
from monitord.migrations import Migration, bring_up_to_date, load_migrations, too_new_message
from monitord.storage.postgresql.connection import DRIVER_ERRORS
from monitord.storage.postgresql.lock import MIGRATION_LOCK

__all__ = ["PACKAGE", "migrate"]

PACKAGE = "monitord.migrations.postgresql"


async def _version(conn: asyncpg.Connection) -> int:
    # Not to_regclass(): it may answer from this session's cache of "no such table" even
    # after another migrator committed; pg_tables is read with the statement's snapshot.
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables"
                               " WHERE schemaname = current_schema() AND tablename = 'meta')"):
        return 0
    value = await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
    return int(value) if value is not None else 0


async def _too_new(conn: asyncpg.Connection, where: str, found: int, latest: int) -> str:
    migrated_by = await conn.fetchval("SELECT value FROM meta WHERE key = 'migrated_by'")
    return too_new_message(where, found, latest, migrated_by)


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            # Re-read under the lock: another process may have migrated meanwhile.
            if await _version(conn) >= migration.version:
                return
            await conn.execute(migration.sql)
            await conn.executemany(
                "INSERT INTO meta (key, value) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [("schema_version", str(migration.version)), ("migrated_by", __version__)],
            )
    except BaseException as exc:
        exc.add_note(f"while applying schema migration postgresql/{migration.name}")
        raise


async def migrate(conn: asyncpg.Connection, where: str) -> int:
    """Apply what is missing; return the schema version now in force."""
    try:
        return await bring_up_to_date(
            load_migrations(PACKAGE),
            version=lambda: _version(conn),
            apply=lambda m: _apply(conn, m),
            too_new=lambda found, latest: _too_new(conn, where, found, latest),
        )
    except DRIVER_ERRORS as exc:
        raise StorageError(f"migrating the schema of {where} failed: {exc}") from exc
