"""What a store backend implements: one writer, many readers, and the outbox queue.

Why split: the pipeline is the only writer of monitoring facts
(monitord/core/pipeline.py), while the API, the SLA engine and reports only
read. A second backend (PostgreSQL for fleets) implements these three small
protocols and runs the same contract suite (tests/unit/storage/) as SQLite.

Rules every backend keeps:
- `commit(batch)` applies every entry of the batch, in order, in ONE
  transaction: a crash never leaves an opened downtime without the state that
  explains it, an interval without its outbox row, or half a batch.
- A downtime interval is never duplicated: opening one for a check that
  already has an open one refuses the whole commit; re-opening a service
  interval whose predecessor ended at or after the new start merges into it
  (one problem counts once, XTIUM §1).
- A service open may move the open interval's start back (a check confirmed
  later failed earlier), folding in recorded intervals it touches; a
  `ServiceDowntimeRecorded` (a past stretch revealed late) folds in only what
  it touches and never closes an ongoing interval.
- All datetimes in and out are timezone-aware UTC with microsecond precision.
- With the outbox enabled, a commit adds one outbox row per event (and per
  state change) in the same transaction, in event order; without it no rows
  are written, so nothing piles up that nobody reads.
- A standalone event with a `key` gets an id derived from it; a second event
  with the same id is ignored (announcing it again after a restart is one event).
- One process writes a store at a time: `open()` takes an exclusive lock
  before anything is written, and a second writer fails with `StoreLockedError`
  naming the holder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from monitord.core.callquality import QualityChange
from monitord.core.events import CheckEvent, CheckSnapshot, ServiceEvent
from monitord.storage.records import (
    DowntimeRecord,
    EpisodeRecord,
    EventRecord,
    EvidenceRecord,
    GapRecord,
    Level,
    MaintenanceRecord,
    OutboxRecord,
    QualityRecord,
    ReviewRecord,
    RunRecord,
    StandaloneEvent,
    SubjectGapRecord,
)

__all__ = [
    "Batch",
    "CheckCommit",
    "CommitReceipt",
    "Entry",
    "EventCommit",
    "FleetRecordReader",
    "GapCommit",
    "MaintenanceAdd",
    "MaintenanceDelete",
    "OutboxQueue",
    "QualityCommit",
    "ReviewAdd",
    "ServiceCommit",
    "Store",
    "StoreReader",
    "StoreWriter",
]


@dataclass(frozen=True, slots=True)
class CheckCommit:
    """A check's new snapshot and the events of the step that produced it."""

    snapshot: CheckSnapshot
    events: tuple[CheckEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceCommit:
    events: tuple[ServiceEvent, ...]


@dataclass(frozen=True, slots=True)
class QualityCommit:
    """Each change closes the service's open quality interval and opens the new priority's."""

    changes: tuple[QualityChange, ...]


@dataclass(frozen=True, slots=True)
class EventCommit:
    """Standalone news for the permanent event log (reboots, maintenance starts/ends)."""

    events: tuple[StandaloneEvent, ...]


@dataclass(frozen=True, slots=True)
class MaintenanceAdd:
    """A one-off window announced at run time (API, CLI)."""

    service: str
    start: datetime
    end: datetime
    kind: str
    announced_at: datetime
    reason: str
    now: datetime


@dataclass(frozen=True, slots=True)
class MaintenanceDelete:
    """Withdraw a window; it stays on the record with `deleted_at`."""

    window_id: int
    now: datetime


@dataclass(frozen=True, slots=True)
class ReviewAdd:
    """An incident review entry (SLA, monitord/sla/review.py): appended, never changed."""

    at: datetime
    who: str  # the API token's name
    service: str
    action: str  # reclassify, group, exclude, ticket, note
    targets: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    value: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class GapCommit:
    """Time nobody watched, found while running (e.g. the store was unavailable)."""

    start: datetime
    end: datetime
    cause: str


Entry = (
    CheckCommit
    | ServiceCommit
    | QualityCommit
    | EventCommit
    | MaintenanceAdd
    | MaintenanceDelete
    | GapCommit
    | ReviewAdd
)


@dataclass(frozen=True, slots=True)
class Batch:
    """Entries applied in order in one transaction; `last_seen` advances the run's last sign of life."""

    entries: tuple[Entry, ...] = ()
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class CommitReceipt:
    """What the store made of a batch, in entry order where it matters."""

    maintenance: tuple[MaintenanceRecord | None, ...] = ()  # per Maintenance* entry
    events_recorded: int = 0  # standalone events new to the log (not duplicates)
    outbox_rows: int = 0
    gaps: tuple[GapRecord, ...] = field(default=())
    reviews: tuple[ReviewRecord, ...] = field(default=())  # per ReviewAdd entry


class StoreWriter(Protocol):
    """The pipeline's side: lifecycle, runs, and the one commit."""

    async def open(self) -> None:
        """Take the single-writer lock, then create or migrate the schema.

        Raises StoreLockedError if another process holds the store, and
        SchemaVersionError if the schema is newer than this monitord.
        """

    async def close(self) -> None: ...

    async def start_run(self, now: datetime) -> GapRecord | None:
        """Record this start; store and return the gap since the previous run's last sign of life."""

    async def heartbeat(self, now: datetime) -> None: ...

    async def stop_run(self, now: datetime) -> None:
        """Clean shutdown: the last sign of life is `now`."""

    async def commit(self, batch: Batch) -> CommitReceipt: ...


class StoreReader(Protocol):
    """What the API, the SLA engine, reports and start-up read."""

    async def load_check_snapshots(self) -> dict[str, CheckSnapshot]: ...

    async def downtimes(
        self,
        *,
        level: Level | None = None,
        name: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[DowntimeRecord]:
        """Intervals overlapping [since, until), oldest first; open ones overlap everything after their start."""

    async def episodes(
        self,
        *,
        check: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EpisodeRecord]: ...

    async def gaps(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[GapRecord]: ...

    async def runs(self) -> list[RunRecord]:
        """Every daemon run on this store, oldest first (coverage starts at the first)."""

    async def closed_downtime_seconds(self) -> dict[tuple[Level, str], float]:
        """Sum of closed interval lengths per (level, name): seeds the downtime counters."""

    async def events(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EventRecord]:
        """Logged standalone events in [since, until), oldest first."""

    async def maintenance_windows(
        self,
        *,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_deleted: bool = False,
    ) -> list[MaintenanceRecord]:
        """Windows overlapping [since, until), oldest first; withdrawn ones only if asked."""

    async def quality_intervals(
        self,
        *,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
    ) -> list[QualityRecord]:
        """Quality intervals overlapping [since, until), oldest first; never downtime."""

    async def reviews(self, *, service: str | None = None) -> list[ReviewRecord]:
        """Incident review entries (of `service`), in the order written."""


@runtime_checkable
class FleetRecordReader(Protocol):
    """What only a fleet's judged record holds (docs/fleet.md): each location's own
    intervals (the evidence) and the stretches a check or service was judged UNKNOWN."""

    async def evidence(self, *, level: Level | None = None, name: str | None = None,
                       since: datetime | None = None, until: datetime | None = None
                       ) -> list[EvidenceRecord]:
        """Location intervals overlapping [since, until), oldest first."""

    async def subject_gaps(self, level: Level | None = None, name: str | None = None, *,
                           since: datetime | None = None, until: datetime | None = None
                           ) -> list[SubjectGapRecord]:
        """Unmonitored stretches of checks or services (fewer than K locations fresh)."""


class OutboxQueue(Protocol):
    """The relay's side of the transactional outbox (monitord/storage/relay.py)."""

    async def outbox_pending(self, limit: int) -> list[OutboxRecord]:
        """Up to `limit` rows, lowest `seq` first."""

    async def outbox_done(self, up_to_seq: int) -> int:
        """Drop rows up to and including `up_to_seq` (delivered); return how many."""

    async def outbox_count(self) -> int: ...


class Store(StoreWriter, StoreReader, OutboxQueue, Protocol):
    """A whole backend: what the daemon opens."""

