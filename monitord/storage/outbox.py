"""Outbox rows: what the MQTT publisher will announce, built inside the store's transaction.

Why here and not in the publisher: the row must be committed atomically with
the state change (schema 2, `0002_outbox.sql`), so the store writes it; the
publisher only reads rows in order and deletes them once the broker took
them. Rows hold each kind's own fields; the publisher wraps them in the
versioned envelope (id, seq, site), which is why `seq` is not in the payload.

A check's retained state is announced whenever its state changes (UP,
FAILING, ALERTING, DOWN), read from the stored row before it is replaced; a
service's whenever its downtime opens or closes.

Standalone events (`reboot`, `maintenance_started`, `maintenance_ended`)
change no interval; an `EventCommit` writes them. When the caller names the
event (`key`), its id is a UUIDv5 of that name and the insert does nothing
on a conflicting id: announcing the same maintenance start again after a
restart adds no second row while the first is waiting, and gives a consumer
the same id to drop once it was delivered.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, assert_never

from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckEvent,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    EpisodeRecorded,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
    ServiceEvent,
)
from monitord.storage.records import Level, StandaloneEvent
from monitord.storage.timestamps import EPOCH, datetime_to_us
from monitord.storage.tx import Tx

EVENT_KINDS = (
    "alert_raised",
    "alert_resolved",
    "downtime_opened",
    "downtime_closed",
    "episode",
    "service_downtime_opened",
    "service_downtime_closed",
    "reboot",
    "maintenance_started",
    "maintenance_ended",
    "monitoring_changed",
)
# Namespace of the ids derived from an event's key (uuid5): fixed forever, ids must not move.
EVENT_ID_NAMESPACE = uuid.UUID("5f0d6a52-3c1e-4c8e-9a7b-2d6f4c1b9e30")


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _us(t: datetime) -> int:
    return datetime_to_us(t)


@dataclass(frozen=True, slots=True)
class NewRow:
    channel: str  # "event" or "state"
    kind: str
    level: Level
    subject: str
    at: datetime
    body: dict[str, Any]
    key: str | None = None  # names the event: a stable id, inserted once


def event_id(row: NewRow) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, row.key) if row.key else uuid.uuid4())


def check_event_row(ev: CheckEvent) -> NewRow:
    body: dict[str, Any]
    match ev:
        case AlertRaised():
            body = {"check": ev.check, "since": iso(ev.since), "failures": ev.failures,
                    "reason": ev.reason, "detail": ev.detail}
            return NewRow("event", "alert_raised", "check", ev.check, ev.at, body)
        case AlertResolved():
            body = {"check": ev.check, "since": iso(ev.since)}
            return NewRow("event", "alert_resolved", "check", ev.check, ev.at, body)
        case DowntimeOpened():
            body = {"check": ev.check, "start": iso(ev.start),
                    "confirmed_at": iso(ev.confirmed_at), "reason": ev.reason,
                    "detail": ev.detail}
            return NewRow("event", "downtime_opened", "check", ev.check, ev.confirmed_at, body)
        case DowntimeClosed():
            body = {"check": ev.check, "start": iso(ev.start), "end": iso(ev.end),
                    "reason": ev.reason,
                    "duration_seconds": (ev.end - ev.start).total_seconds(), "cause": ev.cause}
            return NewRow("event", "downtime_closed", "check", ev.check, ev.end, body)
        case EpisodeRecorded():
            body = {"check": ev.check, "start": iso(ev.start), "end": iso(ev.end),
                    "failures": ev.failures, "reason": ev.reason, "detail": ev.detail}
            return NewRow("event", "episode", "check", ev.check, ev.end, body)
        case _:
            assert_never(ev)


def service_event_rows(ev: ServiceEvent) -> list[NewRow]:
    """A past interval is announced as the opened/closed pair consumers already know."""
    if isinstance(ev, ServiceDowntimeRecorded):
        return [service_event_row(ServiceDowntimeOpened(ev.service, ev.start, ev.reason, ev.detail)),
                service_event_row(ServiceDowntimeClosed(ev.service, ev.start, ev.end))]
    return [service_event_row(ev)]


def service_event_row(ev: ServiceDowntimeOpened | ServiceDowntimeClosed) -> NewRow:
    body: dict[str, Any]
    match ev:
        case ServiceDowntimeOpened():
            body = {"service": ev.service, "start": iso(ev.start), "reason": ev.reason,
                    "detail": ev.detail}
            return NewRow("event", "service_downtime_opened", "service", ev.service, ev.start, body)
        case ServiceDowntimeClosed():
            body = {"service": ev.service, "start": iso(ev.start), "end": iso(ev.end),
                    "duration_seconds": (ev.end - ev.start).total_seconds(), "cause": ev.cause}
            return NewRow("event", "service_downtime_closed", "service", ev.service, ev.end, body)
        case _:
            assert_never(ev)


def check_state_row(snap: CheckSnapshot) -> NewRow:
    at = snap.last_probe or snap.streak_start or EPOCH
    up = snap.state is CheckState.UP
    since = at if up else (snap.downtime_start or snap.streak_start or at)
    body = {"check": snap.check, "state": snap.state.value, "since": iso(since),
            "consecutive_failures": snap.consecutive_failures,
            "reason": None if up else snap.streak_reason}
    return NewRow("state", "check_state", "check", snap.check, at, body)


def service_state_rows(events: Sequence[ServiceEvent]) -> list[NewRow]:
    """The last word on each service in this batch; a past interval changes no state."""
    last: dict[str, ServiceDowntimeOpened | ServiceDowntimeClosed] = {}
    for ev in events:
        if isinstance(ev, ServiceDowntimeRecorded):
            continue
        last.pop(ev.service, None)
        last[ev.service] = ev
    rows = []
    for ev in last.values():
        down = isinstance(ev, ServiceDowntimeOpened)
        at = ev.start if isinstance(ev, ServiceDowntimeOpened) else ev.end
        body = {"service": ev.service, "state": "down" if down else "up", "since": iso(at)}
        rows.append(NewRow("state", "service_state", "service", ev.service, at, body))
    return rows


_INSERT = (
    "INSERT INTO outbox (event_id, channel, kind, level, subject, at_us, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING"
)


def _params(row: NewRow) -> tuple[Any, ...]:
    return (event_id(row), row.channel, row.kind, row.level, row.subject, _us(row.at),
            json.dumps(row.body, separators=(",", ":"), ensure_ascii=False))


async def add_standalone(tx: Tx, ev: StandaloneEvent) -> bool:
    """Call inside the commit's transaction; True if the row was added (its id was not waiting)."""
    if ev.kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {ev.kind!r}: add it to the schema first")
    row = NewRow("event", ev.kind, ev.level, ev.subject, ev.at, ev.body, ev.key)
    return await tx.execute(_INSERT, _params(row)) == 1


async def add(tx: Tx, rows: Sequence[NewRow]) -> None:
    """Queue rows in order, inside the transaction of the change they announce."""
    if rows:
        await tx.executemany(_INSERT, [_params(r) for r in rows])


async def add_check(tx: Tx, snap: CheckSnapshot, events: Sequence[CheckEvent]) -> None:
    """Call inside the check's commit, BEFORE the snapshot is upserted."""
    rows = [check_event_row(ev) for ev in events]
    stored = await tx.fetch("SELECT state FROM check_state WHERE check_name = ?", (snap.check,))
    if (stored[0][0] if stored else "up") != snap.state.value:
        rows.append(check_state_row(snap))
    await add(tx, rows)


async def add_service(tx: Tx, events: Sequence[ServiceEvent]) -> None:
    """Call inside the service's commit."""
    if events:
        rows = [row for ev in events for row in service_event_rows(ev)]
        await add(tx, [*rows, *service_state_rows(events)])
