"""The records stores return and the rows the writer is given: plain, frozen, UTC-aware.

Shared by every backend and every reader (API, SLA engine, reports), so they
carry no SQL and no behaviour beyond a derived figure or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # the SLA report imports these records; it need not load the probes
    from monitord.core.callquality import Priority

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
    end_cause: str | None = None  # recovered | removed | unmonitored; None while open

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
class RunRecord:
    """One daemon run on this store: from its start to its last sign of life."""

    id: int
    start: datetime
    last_seen: datetime
    stopped: datetime | None  # None: still running, or it died without a clean stop


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
class ReviewRecord:
    """An incident review entry (SQLite schema 9, PostgreSQL 2; monitord/sla/review.py).

    Append-only audit: who (the API token's name), when, what, why.
    """

    id: int
    at: datetime
    who: str
    service: str
    action: str  # reclassify, group, exclude, ticket, note
    targets: tuple[str, ...] = ()  # interval references, e.g. "store:12"
    start: datetime | None = None  # exclude only
    end: datetime | None = None
    value: str = ""  # priority, ticket reference, note text, or exclusion category
    reason: str = ""  # why


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


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """One location's own interval: in a fleet, the evidence beside a judged interval."""

    location: str
    level: Level
    name: str
    start: datetime
    end: datetime | None  # None while open
    reason: str
    detail: str
    confirmed_at: datetime | None
    end_cause: str | None


@dataclass(frozen=True, slots=True)
class SubjectGapRecord:
    """A stretch one check or service was not monitored: in a fleet, judged UNKNOWN
    (fewer than its `locations.at_least` had fresh results)."""

    level: Level
    name: str
    start: datetime
    end: datetime
    cause: str
