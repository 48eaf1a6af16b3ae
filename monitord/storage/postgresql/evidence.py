"""One location's evidence: a full monitord record in a schema of its own, written by its
agents, each entry under the fencing token of the unit it belongs to.

Why a whole record: a location's check state, intervals, episodes and events
are exactly what one daemon records, so the same writer (storage/writer.py)
and readers keep them, by the same rules; only where they live differs
(`search_path`). Several agents write one location's record at once, each
its own checks, so there is no writer lock here; fencing takes its place:

- every entry names its unit's token; in the same transaction the unit's row
  in `fleet.units` is read under a share lock, and an entry whose token is
  no longer current (the unit was taken over) is dropped and reported;
- a journal entry carries (journal id, sequence): `fleet.applied` keeps the
  last one applied per agent journal, in the same transaction, so replaying
  a journal twice (a crash between commit and trim) applies nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitord.errors import StorageError
from monitord.storage.fleet.journal import JournalEntry
from monitord.storage.fleet.shares import interval_news
from monitord.storage.interface import Batch, Entry
from monitord.storage.postgresql.coordination import mark_dirty, with_schema
from monitord.storage.postgresql.store import PostgresStore
from monitord.storage.records import GapRecord
from monitord.storage.timestamps import datetime_to_us
from monitord.storage.tx import Tx

__all__ = ["Applied", "LocationStore"]


@dataclass(frozen=True, slots=True)
class Applied:
    entries: int = 0  # journal entries written now
    duplicates: int = 0  # entries an earlier replay had already written
    fenced: tuple[str, ...] = ()  # units whose evidence was refused: another agent holds them


class LocationStore(PostgresStore):
    def __init__(self, url: str, *, schema: str, location: str, agent: str,
                 password: str | None = None) -> None:
        super().__init__(with_schema(url, schema), password=password, writer=False,
                         connect_timeout=5.0, command_timeout=10.0)
        self.location = location
        self.agent = agent

    async def open(self) -> None:
        """Connect if the database answers; if not, reconnect on first use (the agent journals)."""
        try:
            await super().open()
        except StorageError:
            self._opened = True

    async def start_run(self, now: datetime) -> GapRecord | None:
        """A run row for this agent (gaps it finds refer to it). A location's record has no
        run-to-run gaps: several agents share it, and the judge reads freshness from tenures."""
        now_us = datetime_to_us(now)

        async def work(tx: Tx) -> int:
            return await tx.insert("INSERT INTO runs (start_us, last_seen_us) VALUES (?, ?)",
                                   (now_us, now_us))

        self._run_id = await self._write("recording an agent start", work)
        return None

    async def commit_entries(self, entries: Sequence[JournalEntry],
                             unit_of: Callable[[Entry], str | None]) -> Applied:
        """Write journal entries in order, in one transaction, fenced and exactly once."""
        if not entries:
            return Applied()

        async def work(tx: Tx) -> Applied:
            written = duplicates = 0
            fenced: list[str] = []
            for entry in entries:
                if await self._seen(tx, entry):
                    duplicates += 1
                    continue
                allowed, refused = await self._fence(tx, entry, unit_of)
                fenced.extend(refused)
                if allowed:
                    await self._apply(tx, Batch(tuple(allowed), entry.batch.last_seen))
                    news = interval_news(Batch(tuple(allowed)))
                    if news is not None:
                        await mark_dirty(tx, self.location, datetime_to_us(news))
                await tx.execute(
                    "INSERT INTO fleet.applied (location, agent, journal, seq) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (location, agent, journal) DO UPDATE SET seq = excluded.seq",
                    (self.location, self.agent, entry.journal, entry.seq))
                written += 1
            return Applied(written, duplicates, tuple(dict.fromkeys(fenced)))

        return await self._write(f"writing {len(entries)} batch(es) of {self.location} evidence",
                                 work)

    async def _seen(self, tx: Tx, entry: JournalEntry) -> bool:
        rows = await tx.fetch(
            "SELECT seq FROM fleet.applied WHERE location = ? AND agent = ? AND journal = ?"
            " FOR UPDATE", (self.location, self.agent, entry.journal))
        return bool(rows) and int(rows[0][0]) >= entry.seq

    async def _fence(self, tx: Tx, entry: JournalEntry, unit_of: Callable[[Entry], str | None]
                     ) -> tuple[list[Entry], list[str]]:
        units = {u for e in entry.batch.entries if (u := unit_of(e)) is not None}
        current: dict[str, tuple[str | None, int]] = {}
        if units:
            rows = await tx.fetch(
                "SELECT unit, agent, token FROM fleet.units WHERE location = ? AND unit = ANY(?)"
                " FOR SHARE", (self.location, sorted(units)))
            current = {str(r[0]): (r[1], int(r[2])) for r in rows}
        allowed: list[Entry] = []
        refused: list[str] = []
        for e in entry.batch.entries:
            unit = unit_of(e)
            if unit is None or current.get(unit) == (self.agent, entry.tokens.get(unit)):
                allowed.append(e)
            else:
                refused.append(unit)
        return allowed, refused
