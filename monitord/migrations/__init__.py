"""Versioned schema migrations for the SQLite store (PostgreSQL's are in `postgresql/`).

Each `NNNN_name.sql` file here moves the schema from version NNNN-1 to NNNN.
Released files are never edited: a change is a new file. The version lives
in `PRAGMA user_version`, which SQLite changes inside the same transaction
as the migration's DDL, so a failed step leaves the previous schema whole.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from monitord import __version__
from monitord.errors import SchemaVersionError, StorageError

__all__ = [
    "Migration",
    "bring_up_to_date",
    "load_migrations",
    "migrate",
    "split_statements",
    "too_new_message",
]

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(package: str = __name__) -> list[Migration]:
    """Read the packaged migrations of `package`, refusing an installation with a missing step.

    Loaded through importlib.resources so they are found in a wheel or zip,
    not only in a source checkout.
    """
    found = []
    for entry in resources.files(package).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if not versions or versions != list(range(1, len(found) + 1)):
        raise StorageError(
            f"monitord {__version__} is installed incompletely: schema migrations must be "
            f"numbered 1..N without gaps, found {versions}; reinstall monitord"
        )
    return found


def split_statements(script: str) -> list[str]:
    """Split a migration into statements.

    executescript() would COMMIT before running, so a migration could not share
    one transaction with its user_version bump; sqlite3.complete_statement
    knows about string literals, comments and trigger bodies.
    """
    statements: list[str] = []
    start = 0
    for index, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : index + 1]):
            statements.append(script[start : index + 1].strip())
            start = index + 1
    if script[start:].strip():
        # Only comments (which execute as nothing) or an unfinished statement,
        # which SQLite then reports as the migration's error.
        statements.append(script[start:].strip())
    return statements


async def _user_version(db: aiosqlite.Connection) -> int:
    rows = list(await db.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def bring_up_to_date(
    migrations: list[Migration],
    *,
    version: Callable[[], Awaitable[int]],
    apply: Callable[[Migration], Awaitable[None]],
    too_new: Callable[[int, int], Awaitable[str]],
) -> int:
    """What every backend does: refuse a newer schema, else apply the missing steps in order.

    `apply` re-reads the version under its own lock, so two processes migrating
    at once apply each step once. Returns the version now in force.
    """
    latest = migrations[-1].version
    current = await version()
    if current > latest:
        raise SchemaVersionError(await too_new(current, latest))
    for migration in migrations[current:]:
        await apply(migration)
    return latest


async def migrate(db: aiosqlite.Connection, path: Path) -> int:
    """Bring the schema of `db` (an autocommit connection) to the newest version; return it."""
    try:
        return await bring_up_to_date(
            load_migrations(),
            version=lambda: _user_version(db),
            apply=lambda m: _apply(db, m),
            too_new=lambda found, latest: _too_new_message(db, path, found, latest),
        )
    except sqlite3.Error as exc:
        raise StorageError(f"migrating the schema of {path} failed: {exc}") from exc


async def _apply(db: aiosqlite.Connection, migration: Migration) -> None:
    await db.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        if await _user_version(db) < migration.version:
            for statement in split_statements(migration.sql):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {migration.version}")
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('migrated_by', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (__version__,),
            )
        await db.execute("COMMIT")
    except BaseException as exc:
        exc.add_note(f"while applying schema migration {migration.name}")
        try:
            if db.in_transaction:
                await db.execute("ROLLBACK")
        except sqlite3.Error as rollback_exc:
            exc.add_note(f"rollback also failed: {rollback_exc}")
        raise


async def _too_new_message(db: aiosqlite.Connection, path: Path, found: int, latest: int) -> str:
    # `meta` exists in every schema version precisely so this lookup works.
    try:
        rows = list(await db.execute_fetchall("SELECT value FROM meta WHERE key = 'migrated_by'"))
    except sqlite3.Error:
        rows = []
    return too_new_message(str(path), found, latest, str(rows[0][0]) if rows else None)


def too_new_message(where: str, found: int, latest: int, migrated_by: str | None) -> str:
    needed = (f"monitord {migrated_by} or later" if migrated_by
              else f"a monitord that knows schema {found}")
    return (
        f"{where} has schema version {found}, but monitord {__version__} only knows schema "
        f"versions up to {latest}. Run {needed} against this database, or point this "
        "monitord at another database; it will not downgrade the schema."
    )
