"""The store interface every backend implements, and the records it returns.

Why one interface: the daemon, API and reports must not care which backend
holds the intervals an SLA dispute will be settled on; one contract test suite
(tests/unit/storage/test_contract.py) runs against every backend.

Rules every backend keeps:
- `commit_check` applies a check's new snapshot and the effects of its events
  in ONE transaction: a crash never leaves an opened downtime without the
  state that explains it, or the other way round.
- A downtime interval is never duplicated: opening one for a check that
  already has an open one is an error; re-opening a service interval whose
  predecessor ended at or after the new start merges into it (one problem
  counts once).
- A service open may move the open interval's start back (a check confirmed
  later failed earlier), folding in recorded intervals it touches; an Opened
  followed in the same batch by the Closed of the same service and start
  records a past interval and folds in only what it touches.
- All datetimes in and out are timezone-aware UTC, microsecond precision.
- With the outbox enabled, `commit_check` and `commit_service` add one outbox
  row per event (and per state change) in the same transaction, in event
  order; `outbox_pending` returns them oldest first and `outbox_done` drops
  them once the consumer (the MQTT publisher) has them. Without it the store
  writes no rows, so nothing piles up that nobody will read.
- `record_event` writes one standalone event (an SNMP reboot, a maintenance
  window starting or ending: news that changes no interval) as an outbox row
  in its own transaction. An event with a `key` gets an id derived from it,
  and a second row with the same id is ignored, so an event announced again
  after a restart is one event to a consumer that de-duplicates on `id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from monitord.core.callquality import Priority, QualityChange
from monitord.core.events import CheckEvent, CheckSnapshot, ServiceEvent

Level = Literal["check", "service"]


@dataclass(frozen=True, slots=True)
class DowntimeRecord:
    id: int
    level: Level
    name: str  # check name or service name, per `level`
    start: datetime
    end: datetime | None  # None while open
    reason: str
    detail: str  # evidence: the first failed probe's detail
    confirmed_at: datetime | None  # when down_after was reached (check level)

    def duration_seconds(self, now: datetime) -> float:
        return ((self.end or now) - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    id: int
    check: str
    start: datetime
    end: datetime
    failures: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class GapRecord:
    """Time the daemon was not monitoring: never silently up or down."""

    id: int
    start: datetime
    end: datetime
    cause: str  # "clean_shutdown" or "unclean_shutdown"


@dataclass(frozen=True, slots=True)
class ProbeSample:
    check: str
    at: datetime
    ok: bool
    latency: float | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class ProbeRollup:
    """One check's probes aggregated over one bucket (default one minute)."""

    check: str
    bucket_start: datetime
    probes: int
    failures: int
    latency_sum: float  # over probes that had a latency
    latency_count: int
    latency_max: float | None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One announcement waiting for the MQTT publisher (schema 2, `outbox` table)."""

    seq: int  # publish order, never reused
    event_id: str  # stable across retries: consumers de-duplicate on it
    channel: str  # "event" (monitord/<site>/events/<kind>) or "state" (retained)
    kind: str
    level: Level
    subject: str  # check or service name
    at: datetime
    payload: str  # JSON object with the kind's own fields


@dataclass(frozen=True, slots=True)
class StandaloneEvent:
    """News that is not a check or service state change: `reboot`, `maintenance_started`...

    `key` names the event in the world (e.g. site, window and its start), so
    the same event announced twice gets the same id; None means a fresh id.
    """

    kind: str
    level: Level
    subject: str  # check or service name
    at: datetime
    body: dict[str, Any]
    key: str | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A standalone event as kept in the permanent log (schema 5)."""

    id: int
    event_id: str  # the id MQTT consumers see for the same event
    kind: str
    level: Level
    subject: str  # check or service name
    at: datetime
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MaintenanceRecord:
    """A one-off maintenance window announced at run time (schema 3); deleted = withdrawn."""

    id: int
    service: str
    start: datetime
    end: datetime
    kind: str
    announced_at: datetime
    reason: str
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QualityRecord:
    """A stretch of one call-quality priority of a service (schema 4): degraded, not down."""

    id: int
    service: str
    priority: Priority
    start: datetime
    end: datetime | None  # None while it is the service's current priority
    calls: int  # the window that opened it: answered calls ...
    poor_audio: int  # ... with MOS < 3.5 or no audio ...
    dropped: int  # ... and dropped
    detail: str


class Store(Protocol):
    async def open(self) -> None:
        """Create or migrate the schema; raise SchemaVersionError if it is newer than us."""

    async def close(self) -> None: ...

    async def start_run(self, now: datetime) -> GapRecord | None:
        """Record this daemon start; store and return the gap since the previous run's last sign of life."""

    async def heartbeat(self, now: datetime) -> None: ...

    async def stop_run(self, now: datetime) -> None:
        """Clean shutdown: the last sign of life is `now`."""

    async def load_check_snapshots(self) -> dict[str, CheckSnapshot]: ...

    async def commit_check(self, snapshot: CheckSnapshot, events: Sequence[CheckEvent]) -> None: ...

    async def commit_service(self, events: Sequence[ServiceEvent]) -> None: ...

    async def record_probes(self, samples: Sequence[ProbeSample]) -> None: ...

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

    async def probe_rollups(
        self, check: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[ProbeRollup]: ...

    async def prune(self, now: datetime) -> int:
        """Drop rollups older than the retention; return rows removed. Never touches intervals."""

    async def closed_downtime_seconds(self) -> dict[tuple[Level, str], float]:
        """Sum of closed interval lengths per (level, name): seeds the downtime counters."""

    async def outbox_pending(self, limit: int) -> list[OutboxRecord]:
        """Up to `limit` outbox rows, lowest `seq` first."""

    async def outbox_done(self, up_to_seq: int) -> int:
        """Drop the rows up to and including `up_to_seq` (delivered); return how many."""

    async def outbox_count(self) -> int:
        """Rows waiting for the publisher (0 without the outbox)."""

    async def record_event(self, event: StandaloneEvent) -> bool:
        """Keep a standalone event in the permanent log (and the outbox when MQTT is
        configured), in one transaction; False if an event with its id is already recorded."""

    async def events(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EventRecord]:
        """Logged standalone events in [since, until), oldest first."""

    async def add_maintenance(
        self,
        *,
        service: str,
        start: datetime,
        end: datetime,
        kind: str,
        announced_at: datetime,
        reason: str,
        now: datetime,
    ) -> MaintenanceRecord:
        """Store a one-off window announced at run time (API, CLI)."""

    async def delete_maintenance(self, window_id: int, now: datetime) -> MaintenanceRecord | None:
        """Withdraw a window (kept on the record); None if there is no such live window."""

    async def maintenance_windows(
        self,
        *,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_deleted: bool = False,
    ) -> list[MaintenanceRecord]:
        """Windows overlapping [since, until), oldest first; withdrawn ones only if asked."""

    async def commit_quality(self, changes: Sequence[QualityChange]) -> None:
        """Close each service's open quality interval at the change and open the new
        priority's (none opens nothing), in order, in one transaction; outbox rows too."""

    async def quality_intervals(
        self,
        *,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
    ) -> list[QualityRecord]:
        """Quality intervals overlapping [since, until), oldest first; never downtime."""
