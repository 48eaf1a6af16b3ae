"""An agent's local-first journal: batches PostgreSQL could not take yet, in order, on disk.

Why: an agent that loses the database keeps probing (item 5 of issue 13).
What it would have written waits here, one row per batch in commit order,
with the journal id and sequence number that make its replay idempotent
(PostgreSQL records the last applied number in the same transaction), and
the fencing tokens the agent held when the batch was made, so a replay
cannot write evidence for a check another agent has taken over since.

A SQLite file in WAL mode with synchronous=NORMAL: an agent killed with -9
loses nothing it had appended (a power cut may lose the last moments).
Rows are deleted only after PostgreSQL committed them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from monitord.errors import JournalError
from monitord.storage.fleet.codec import decode, encode
from monitord.storage.interface import Batch

__all__ = ["Journal", "JournalEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    row     INTEGER PRIMARY KEY AUTOINCREMENT,
    journal TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    tokens  TEXT    NOT NULL,
    batch   TEXT    NOT NULL,
    UNIQUE (journal, seq)
)
"""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One batch with its identity (journal id, sequence) and the tokens it was made under."""

    journal: str
    seq: int
    tokens: Mapping[str, int]  # unit -> fencing token
    batch: Batch
    row: int = 0  # position in the file, once appended


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self.waiting = 0  # entries not yet in PostgreSQL

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(self.path, isolation_level=None)
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute(_SCHEMA)
            rows = list(await db.execute_fetchall("SELECT count(*) FROM journal"))
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open the local journal {self.path}: {exc}") from exc
        self._db = db
        self.waiting = int(rows[0][0])

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise JournalError(f"the local journal {self.path} is not open")
        return self._db

    async def append(self, entry: JournalEntry) -> None:
        try:
            await self._conn().execute(
                "INSERT INTO journal (journal, seq, tokens, batch) VALUES (?, ?, ?, ?)",
                (entry.journal, entry.seq, json.dumps(dict(entry.tokens)), encode(entry.batch)))
        except sqlite3.Error as exc:
            raise JournalError(f"cannot append to the local journal {self.path}: {exc}") from exc
        self.waiting += 1

    async def oldest(self, limit: int) -> list[JournalEntry]:
        """Up to `limit` entries, oldest first."""
        try:
            rows = await self._conn().execute_fetchall(
                "SELECT row, journal, seq, tokens, batch FROM journal ORDER BY row LIMIT ?",
                (limit,))
        except sqlite3.Error as exc:
            raise JournalError(f"cannot read the local journal {self.path}: {exc}") from exc
        return [JournalEntry(str(r[1]), int(r[2]), json.loads(r[3]), decode(r[4]), int(r[0]))
                for r in rows]

    async def done(self, up_to_row: int) -> None:
        """Entries up to `up_to_row` are in PostgreSQL: drop them."""
        try:
            cursor = await self._conn().execute("DELETE FROM journal WHERE row <= ?",
                                                (up_to_row,))
            removed = cursor.rowcount
            await cursor.close()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot trim the local journal {self.path}: {exc}") from exc
        self.waiting = max(0, self.waiting - removed)
