"""The agent pipeline's store: PostgreSQL when it answers, the local journal when not.

Local-first (issue 13 item 5): the pipeline (the agent's one writer) commits
every batch here. Each batch gets a sequence number of this agent start's
journal and the fencing tokens of the units it touches. It goes straight to
the location's record when nothing waits in the journal and the database
answers; otherwise it is appended to the journal, so evidence is written in
the order it happened. `replay()` (every heartbeat) writes the journal to
PostgreSQL oldest first, a chunk per transaction, idempotently. A commit that
failed after PostgreSQL may have taken it is journaled with the same
sequence number, so its replay is recognised and not applied twice.

The pipeline never sees the database fail: its batch is safe on local disk.
What waits is the backlog this agent reports (`waiting`, /healthz, metrics).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import structlog

from monitord.errors import StorageError
from monitord.storage.fleet.journal import Journal, JournalEntry
from monitord.storage.fleet.shares import Shares
from monitord.storage.interface import Batch, CommitReceipt
from monitord.storage.postgresql.evidence import Applied, LocationStore
from monitord.storage.records import GapRecord

__all__ = ["AgentWriter"]

log = structlog.get_logger("monitord.storage.fleet.writer")

REPLAY_CHUNK = 200  # journal entries per PostgreSQL transaction during a replay


class AgentWriter:
    """`StoreWriter` for a fleet agent's pipeline (see the module docstring)."""

    def __init__(self, store: LocationStore, journal: Journal, shares: Shares) -> None:
        self.store = store
        self.journal = journal
        self.shares = shares
        self.journal_id = uuid.uuid4().hex  # this start's sequence space
        self._seq = 0
        self._lock = asyncio.Lock()
        self.online = False
        self.failing_since: datetime | None = None
        self.error: str | None = None
        self.fenced: set[str] = set()  # units whose evidence the database refused: taken over
        self.written = 0  # batches PostgreSQL took (straight or replayed)
        self.duplicates = 0

    @property
    def waiting(self) -> int:
        return self.journal.waiting

    # --- StoreWriter --------------------------------------------------------------

    async def open(self) -> None:
        await self.journal.open()
        await self.store.open()

    async def close(self) -> None:
        try:
            await self.store.close()
        finally:
            await self.journal.close()

    async def start_run(self, now: datetime) -> GapRecord | None:
        try:
            await self.store.start_run(now)
        except StorageError as exc:
            self._trouble(now, exc)
        return None

    async def heartbeat(self, now: datetime) -> None:
        """The fleet's sign of life is the membership beat (monitord/fleet/agent.py)."""

    async def stop_run(self, now: datetime) -> None:
        try:
            await self.store.stop_run(now)
        except StorageError as exc:
            log.warning("agent_stop_not_recorded", problem=str(exc))

    async def commit(self, batch: Batch) -> CommitReceipt:
        batch = self.shares.split(batch)
        async with self._lock:
            self._seq += 1
            entry = JournalEntry(self.journal_id, self._seq, self.shares.tokens_for(batch), batch)
            if not self.journal.waiting:
                try:
                    self._applied(await self.store.commit_entries([entry], self.shares.unit_of))
                    self._recovered()
                    return CommitReceipt()
                except StorageError as exc:
                    self._trouble(batch.last_seen or datetime.now(UTC), exc)
            await self.journal.append(entry)
        return CommitReceipt()

    # --- replay -------------------------------------------------------------------

    async def replay(self, now: datetime) -> bool:
        """Write what the journal holds, oldest first; True when nothing waits."""
        while self.journal.waiting:
            async with self._lock:
                chunk = await self.journal.oldest(REPLAY_CHUNK)
                if not chunk:
                    self.journal.waiting = 0
                    break
                try:
                    applied = await self.store.commit_entries(chunk, self.shares.unit_of)
                except StorageError as exc:
                    self._trouble(now, exc)
                    return False
                await self.journal.done(chunk[-1].row)
                self._applied(applied)
                log.info("journal_replayed", entries=len(chunk), waiting=self.journal.waiting,
                         duplicates=applied.duplicates)
            await asyncio.sleep(0)  # let probe results in between chunks
        self._recovered()
        return True

    def _applied(self, applied: Applied) -> None:
        self.written += applied.entries
        self.duplicates += applied.duplicates
        if applied.fenced:
            log.warning("evidence_fenced", units=list(applied.fenced),
                        problem="another agent holds these checks now; this agent's late "
                                "evidence for them was refused")
            self.fenced.update(applied.fenced)

    def _trouble(self, at: datetime, exc: Exception) -> None:
        if self.online or self.failing_since is None:
            self.failing_since = at
            log.error("fleet_database_unreachable", problem=str(exc),
                      waiting=self.journal.waiting)
        self.online = False
        self.error = str(exc)

    def _recovered(self) -> None:
        if not self.online:
            if self.failing_since is not None:
                log.warning("fleet_database_back", since=self.failing_since.isoformat())
            self.online = True
        self.failing_since = None
        self.error = None
