"""The judged record: what the fleet's one judge writes, and what it reads back to resume.

The judged record is the database's own schema (schema 1's tables): the API,
`monitord report` and the SLA engine read it as they read any store. The
judge's lease IS this store's writer lock (storage/postgresql/lock.py): a
session-level advisory lock, so a judge killed with -9 lets go the moment
its connection drops, and a judge that lost its session cannot write (every
write runs on the session holding the lock; reconnecting re-takes it or
fails with StoreLockedError). Another candidate takes it and resumes from
what is written here: `judged()` is the record `reconcile` compares with.

One round of judgement is one transaction: each change (monitord/fleet/quorum.py)
is applied with the store's own interval rules (storage/downtimes.py: an open
interval only widens back, a late stretch folds into what it touches), its
outbox rows are added, and UNKNOWN stretches go to `fleet.judged_gaps`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

from monitord.core.events import (
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
    ServiceEvent,
)
from monitord.core.intervals import Interval
from monitord.fleet.quorum import (
    JudgedChange,
    JudgedClosed,
    JudgedGap,
    JudgedOpened,
    JudgedPast,
    Recorded,
)
from monitord.storage import downtimes, outbox
from monitord.storage.postgresql.coordination import location_intervals
from monitord.storage.postgresql.store import PostgresStore
from monitord.storage.records import EvidenceRecord, Level, SubjectGapRecord
from monitord.storage.timestamps import datetime_to_us, us_to_datetime
from monitord.storage.tx import Filter, Tx, level_of

__all__ = ["GAP_CAUSE", "FleetRecord", "JudgeStore", "JudgedWrite"]

GAP_CAUSE = "quorum_unknown"  # fewer than K locations had fresh results


@dataclass(frozen=True, slots=True)
class JudgedWrite:
    level: Level
    name: str
    change: JudgedChange
    reason: str
    detail: str  # each location's own evidence, for the judged interval's row


class JudgeStore(PostgresStore):
    """The judged record with its writer lock held (`open()` raises StoreLockedError if
    another judge holds it)."""

    async def announce(self, location: str, agent: str, now: datetime, *, new: bool) -> None:
        now_us = datetime_to_us(now)

        async def work(tx: Tx) -> None:
            if new:
                await tx.execute(
                    "INSERT INTO fleet.judge (location, agent, since_us, seen_us)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET"
                    " location = excluded.location, agent = excluded.agent,"
                    " since_us = excluded.since_us, seen_us = excluded.seen_us",
                    (location, agent, now_us, now_us))
            else:
                await tx.execute("UPDATE fleet.judge SET seen_us = ?", (now_us,))

        await self._write("recording who judges", work)

    async def dirty(self) -> dict[str, tuple[datetime, int]]:
        """Locations whose evidence changed since the judge last looked: from when, version."""
        async def work(tx: Tx) -> dict[str, tuple[datetime, int]]:
            rows = await tx.fetch("SELECT location, dirty_from_us, version FROM fleet.locations"
                                  " WHERE dirty_from_us IS NOT NULL")
            return {str(r[0]): (us_to_datetime(r[1]), int(r[2])) for r in rows}

        return await self._read("reading what changed in the evidence", work)

    async def judged_through(self, versions: Mapping[str, int]) -> None:
        """The judge has looked at these locations' evidence as of these versions."""
        async def work(tx: Tx) -> None:
            for location, version in versions.items():
                await tx.execute("UPDATE fleet.locations SET dirty_from_us = NULL"
                                 " WHERE location = ? AND version = ?", (location, version))

        await self._write("marking evidence judged", work)

    async def judged(self, since: datetime) -> dict[tuple[Level, str], Recorded]:
        """What the judged record holds from `since` on, per (level, name)."""
        since_us = datetime_to_us(since)

        async def work(tx: Tx) -> dict[tuple[Level, str], Recorded]:
            opened: dict[tuple[Level, str], datetime] = {}
            closed: dict[tuple[Level, str], list[Interval]] = {}
            gaps: dict[tuple[Level, str], list[Interval]] = {}
            for r in await tx.fetch(
                    "SELECT level, name, start_us, end_us FROM downtimes"
                    " WHERE end_us IS NULL OR end_us >= ?", (since_us,)):
                key = (level_of(r[0]), str(r[1]))
                if r[3] is None:
                    opened[key] = us_to_datetime(r[2])
                else:
                    closed.setdefault(key, []).append(
                        Interval(us_to_datetime(r[2]), us_to_datetime(r[3])))
            for r in await tx.fetch(
                    "SELECT level, name, start_us, end_us FROM fleet.judged_gaps"
                    " WHERE end_us > ?", (since_us,)):
                gaps.setdefault((level_of(r[0]), str(r[1])), []).append(
                    Interval(us_to_datetime(r[2]), us_to_datetime(r[3])))
            keys = set(opened) | set(closed) | set(gaps)
            return {k: Recorded(opened.get(k), tuple(closed.get(k, ())), tuple(gaps.get(k, ())))
                    for k in keys}

        return await self._read("reading the judged record", work)

    async def commit_judged(self, writes: Sequence[JudgedWrite], now: datetime) -> None:
        """Every change of one round, in order, in one transaction."""
        if not writes:
            return

        async def work(tx: Tx) -> None:
            for w in writes:
                await self._one(tx, w, now)

        await self._write(f"writing {len(writes)} judged change(s)", work)

    async def _one(self, tx: Tx, w: JudgedWrite, now: datetime) -> None:
        c = w.change
        match c:
            case JudgedOpened():
                await downtimes.widen_open(tx, w.level, w.name, c.start, w.reason, w.detail,
                                           confirmed=now)
            case JudgedClosed():
                await downtimes.close_interval(tx, self._where, w.level, w.name, c.end, c.cause)
            case JudgedPast():
                await downtimes.record_past(tx, w.level, w.name, c.start, c.end, w.reason,
                                            w.detail, c.cause)
            case JudgedGap():
                await tx.execute(
                    "INSERT INTO fleet.judged_gaps (level, name, start_us, end_us, cause)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (w.level, w.name, datetime_to_us(c.start), datetime_to_us(c.end), GAP_CAUSE))
            case _:
                assert_never(c)
        if self._outbox and not isinstance(c, JudgedGap):
            await self._announce(tx, w, now)

    async def _announce(self, tx: Tx, w: JudgedWrite, now: datetime) -> None:
        """Outbox rows (MQTT) for a judged change, as a single daemon's would read."""
        c = w.change
        if w.level == "service":
            events: list[ServiceEvent] = []
            if isinstance(c, JudgedOpened):
                events.append(ServiceDowntimeOpened(w.name, c.start, w.reason, w.detail))
            elif isinstance(c, JudgedClosed):
                events.append(ServiceDowntimeClosed(w.name, c.start, c.end, c.cause))
            elif isinstance(c, JudgedPast):
                events.append(ServiceDowntimeRecorded(w.name, c.start, c.end, w.reason, w.detail))
            await outbox.add_service(tx, events)
            return
        rows = []
        if isinstance(c, JudgedOpened | JudgedPast):
            rows.append(outbox.check_event_row(
                DowntimeOpened(w.name, c.start, now, w.reason, w.detail)))
        if isinstance(c, JudgedClosed | JudgedPast):
            rows.append(outbox.check_event_row(
                DowntimeClosed(w.name, c.start, c.end, w.reason, c.cause)))
        await outbox.add(tx, rows)

    async def judged_gaps(self, *, level: Level | None = None, name: str | None = None,
                          since: datetime | None = None, until: datetime | None = None
                          ) -> list[tuple[Level, str, datetime, datetime, str]]:
        return await judged_gaps(self, level=level, name=name, since=since, until=until)


async def judged_gaps(store: PostgresStore, *, level: Level | None = None, name: str | None = None,
                      since: datetime | None = None, until: datetime | None = None
                      ) -> list[tuple[Level, str, datetime, datetime, str]]:
    """UNKNOWN stretches (fewer than K locations fresh) overlapping [since, until), oldest first."""
    where = Filter().equal("level", level).equal("name", name)
    if since is not None:
        where.holds("end_us > ?", datetime_to_us(since))
    if until is not None:
        where.holds("start_us < ?", datetime_to_us(until))

    async def work(tx: Tx) -> list[tuple[Level, str, datetime, datetime, str]]:
        rows = await tx.fetch("SELECT level, name, start_us, end_us, cause FROM"
                              f" fleet.judged_gaps{where.sql} ORDER BY start_us, id", where.params)
        return [(level_of(r[0]), str(r[1]), us_to_datetime(r[2]), us_to_datetime(r[3]), str(r[4]))
                for r in rows]

    return await store._read("reading the judged gaps", work)


class FleetRecord(PostgresStore):
    """The judged record for readers (API, reports, the SLA engine), with its evidence.

    Read only (no writer lock): every agent and `monitord report` may open it.
    """

    def __init__(self, url: str, *, password: str | None = None, outbox: bool = False) -> None:
        super().__init__(url, password=password, writer=False, outbox=outbox)

    async def evidence(self, *, level: Level | None = None, name: str | None = None,
                       since: datetime | None = None, until: datetime | None = None
                       ) -> list[EvidenceRecord]:
        return await location_intervals(self, since, level=level, name=name, until=until)

    async def subject_gaps(self, level: Level | None = None, name: str | None = None, *,
                           since: datetime | None = None, until: datetime | None = None
                           ) -> list[SubjectGapRecord]:
        rows = await judged_gaps(self, level=level, name=name, since=since, until=until)
        return [SubjectGapRecord(*row) for row in rows]
