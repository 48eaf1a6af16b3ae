"""The fleet's one judge: location evidence in PostgreSQL -> judged record, alerts.

One process at a time holds the lease (the judged record's writer lock, see
storage/postgresql/judged.py); the others wait and try every heartbeat. Each
round (every heartbeat) the judge:

1. reads the members of every location (its own failure detector per
   location, monitord/fleet/membership.py), the tenures (who watched which
   unit when) and the locations' own intervals from the earliest instant
   whose evidence changed (`fleet.locations.dirty_from_us`) or the last
   minutes, whichever is earlier;
2. builds each location's evidence per check and service (`assemble`: a
   location is fresh while a tenure covers it, silences up to the failover
   bound bridged), judges it (quorum.judge) and sets the verdict against the
   judged record (quorum.reconcile);
3. writes what the record lacks in ONE transaction, then hands the events
   to its sinks (logs, Alertmanager, MQTT via the outbox, metrics).

Because each round compares the evidence with what is written, a judge that
takes over from a dead one writes every transition once and misses none,
and the alerts it re-seeds at takeover are the open judged intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.core.intervals import Interval
from monitord.core.stream import Committed, Event, Resumed, Sink, publish
from monitord.errors import StorageError, StoreLockedError
from monitord.fleet.membership import Membership
from monitord.fleet.quorum import (
    OPEN_END,
    JudgedChange,
    JudgedClosed,
    JudgedGap,
    JudgedOpened,
    JudgedPast,
    JudgedState,
    LocationEvidence,
    Recorded,
    bridged,
    judge,
    reconcile,
)
from monitord.storage.postgresql.coordination import FleetDb, Member, Tenure
from monitord.storage.postgresql.judged import JudgedWrite, JudgeStore
from monitord.storage.records import EvidenceRecord, Level

__all__ = ["JudgeRuntime", "Subject", "assemble", "events_of", "tenure_span"]

log = structlog.get_logger("monitord.fleet.judge")

LIVE_HORIZON = timedelta(minutes=10)  # always judged again: liveness moves recent freshness


@dataclass(frozen=True, slots=True)
class Subject:
    level: Level
    name: str
    at_least: int
    unit: str


def tenure_span(t: Tenure, live: bool, seen: datetime | None, now: datetime,
                bridge: timedelta) -> Interval:
    """When a tenure had (or has) fresh results.

    A live holder's tenure runs on. A dead one's ends at its last sign of life
    (`seen`), but only once the failover bound has passed since: until then a
    taker may still come, and the silence would be a hand-over, not a gap.
    """
    if t.until is not None:
        return Interval(t.since, max(t.since, t.until))
    if live or seen is None or now - seen < bridge:
        return Interval(t.since, OPEN_END)
    return Interval(t.since, max(t.since, seen))


def assemble(subject: Subject, locations: Sequence[str],
             spans: Mapping[tuple[str, str], Sequence[Interval]],
             rows: Mapping[tuple[str, Level, str], Sequence[EvidenceRecord]],
             bridge: timedelta) -> list[LocationEvidence]:
    """Each location's evidence for one check or service."""
    out = []
    for loc in locations:
        watched = bridged(spans.get((loc, subject.unit), ()), bridge)
        down = tuple(Interval(r.start, r.end or OPEN_END)
                     for r in rows.get((loc, subject.level, subject.name), ()))
        out.append(LocationEvidence(loc, down, tuple(watched)))
    return out


def _why(subject: Subject, start: datetime, rows: Sequence[EvidenceRecord]) -> tuple[str, str]:
    """Reason and detail of a judged interval: each location's own interval around `start`."""
    inside = [r for r in rows if r.start <= start and (r.end is None or r.end > start)] or list(rows)
    if not inside:
        return "unknown", "no location evidence"
    first = min(inside, key=lambda r: r.start)
    detail = "; ".join(f"{r.location}: down since {r.start.isoformat()}"
                       + (f" ({r.detail})" if r.detail else "") for r in inside)
    return first.reason, detail


def events_of(w: JudgedWrite, fresh_open: bool, now: datetime) -> list[Event]:
    """What the sinks hear of a judged change: the events a single daemon would emit."""
    c = w.change
    if w.level == "service":
        if isinstance(c, JudgedOpened):
            return [ServiceDowntimeOpened(w.name, c.start, w.reason, w.detail)]
        if isinstance(c, JudgedClosed):
            return [ServiceDowntimeClosed(w.name, c.start, c.end, c.cause)]
        if isinstance(c, JudgedPast):
            return [ServiceDowntimeRecorded(w.name, c.start, c.end, w.reason, w.detail)]
        return []
    if isinstance(c, JudgedOpened):
        if not fresh_open:
            return []  # an earlier start for an interval already announced
        return [AlertRaised(w.name, now, c.start, 0, w.reason, w.detail),
                DowntimeOpened(w.name, c.start, now, w.reason, w.detail)]
    if isinstance(c, JudgedClosed):
        return [DowntimeClosed(w.name, c.start, c.end, w.reason, c.cause),
                AlertResolved(w.name, c.end, c.start)]
    if isinstance(c, JudgedPast):
        return [AlertRaised(w.name, now, c.start, 0, w.reason, w.detail),
                DowntimeOpened(w.name, c.start, now, w.reason, w.detail),
                DowntimeClosed(w.name, c.start, c.end, w.reason, c.cause),
                AlertResolved(w.name, c.end, c.start)]
    return []


class JudgeRuntime:
    """The judge's loop (a supervised task); idle while another process holds the lease."""

    def __init__(self, subjects: Sequence[Subject], db: FleetDb,
                 open_store: Callable[[], JudgeStore], sinks: Sequence[Sink], *,
                 location: str, agent: str, heartbeat: float, lease: float,
                 bridge: timedelta, lag: Callable[[float], None] | None = None,
                 on_lease: Callable[[bool], Awaitable[None]] | None = None) -> None:
        self.subjects = list(subjects)
        self._db = db
        self._open_store = open_store
        self._sinks = list(sinks)
        self.location, self.agent = location, agent
        self._heartbeat = heartbeat
        self._lease = lease
        self.bridge = bridge
        self._lag = lag
        self._on_lease = on_lease
        self._store: JudgeStore | None = None
        self.states: dict[tuple[Level, str], JudgedState] = {}
        self._members: dict[str, Membership] = {}
        self.judging_since: datetime | None = None
        self.rounds = 0

    @property
    def holds_lease(self) -> bool:
        return self._store is not None

    async def run(self) -> None:
        try:
            while True:
                if self._store is None:
                    await self._try_lease()
                if self._store is not None:
                    try:
                        await self.round()
                    except StoreLockedError as exc:
                        log.error("judge_lease_lost", problem=str(exc))
                        await self._let_go()
                    except StorageError as exc:
                        log.warning("judge_round_failed", problem=str(exc))
                        mono = asyncio.get_running_loop().time()
                        for observer in self._members.values():  # silence we could not see
                            observer.unreachable(mono)
                await asyncio.sleep(self._heartbeat)
        finally:
            await self._let_go()

    async def stop(self) -> None:
        await self._let_go()

    async def _try_lease(self) -> None:
        store = self._open_store()
        try:
            await store.open()
        except StoreLockedError:
            return  # another judge holds it: try again next heartbeat
        except StorageError as exc:
            log.warning("judge_lease_unavailable", problem=str(exc))
            return
        self._store = store
        now = datetime.now(UTC)
        self.judging_since = now
        self._members = {}
        try:
            await store.announce(self.location, self.agent, now, new=True)
            await self._reseed(store, now)
        except StorageError as exc:
            log.warning("judge_start_failed", problem=str(exc))
            await self._let_go()
            return
        log.warning("judge_lease_taken", location=self.location, agent=self.agent)
        if self._on_lease is not None:
            await self._on_lease(True)

    async def _let_go(self) -> None:
        store, self._store = self._store, None
        self.judging_since = None
        self.states = {}
        if store is not None:
            with contextlib.suppress(StorageError):
                await store.close()
            if self._on_lease is not None:
                await self._on_lease(False)

    async def _reseed(self, store: JudgeStore, now: datetime) -> None:
        """Alerts of the judged intervals open now: a new judge's sinks start from the record."""
        recorded = await store.judged(now)
        snapshots = {name: CheckSnapshot(name, CheckState.DOWN, 0, 0, rec.open_start, "unknown",
                                         "open when this judge took over", rec.open_start, None)
                     for (level, name), rec in recorded.items()
                     if level == "check" and rec.open_start is not None}
        services = {name: rec.open_start for (level, name), rec in recorded.items()
                    if level == "service" and rec.open_start is not None}
        self._publish(Committed(now, None, (Resumed(now, snapshots, services, ()),)))

    # --- one round ------------------------------------------------------------------

    async def round(self) -> int:
        """Judge once; return how many changes were written."""
        store = self._store
        if store is None:
            return 0
        now = datetime.now(UTC)
        mono = asyncio.get_running_loop().time()
        members = await self._db.members()
        by_location: dict[str, list[Member]] = {}
        for m in members:
            by_location.setdefault(m.location, []).append(m)
        for loc, ms in by_location.items():
            self._members.setdefault(loc, Membership(None, self._lease)).observed(
                mono, [m.row for m in ms])
        dirty = await store.dirty()
        since = min([now - LIVE_HORIZON, *(d for d, _ in dirty.values())])
        tenures = await self._db.tenures(since - self.bridge)
        first = await self._db.first_watch()
        rows = await self._db.location_intervals(since)
        recorded = await store.judged(since)
        writes, lags = self._judge(now, mono, since, members, tenures, first, rows, recorded)
        await store.commit_judged(writes, now)
        await store.announce(self.location, self.agent, now, new=False)
        late = (datetime.now(UTC) - now).total_seconds()  # this round's reads and write
        if dirty:
            await store.judged_through({loc: v for loc, (_, v) in dirty.items()})
        events: list[Event] = []
        for w, lag in zip(writes, lags, strict=True):
            rec = recorded.get((w.level, w.name), Recorded())
            events.extend(events_of(w, rec.open_start is None, now))
            lag = None if lag is None else round(lag + late, 6)
            log.info("judged", **{w.level: w.name}, change=type(w.change).__name__,
                     start=w.change.start.isoformat(), end=_end(w.change), detail=w.detail,
                     lag_seconds=lag)
            if lag is not None and self._lag is not None:
                self._lag(lag)
        if events:
            self._publish(Committed(now, None, tuple(events)))
        self.rounds += 1
        return len(writes)

    def _judge(self, now: datetime, mono: float, since: datetime, members: Sequence[Member],
               tenures: Sequence[Tenure], first: Mapping[tuple[str, str], datetime],
               rows: Sequence[EvidenceRecord], recorded: Mapping[tuple[Level, str], Recorded]
               ) -> tuple[list[JudgedWrite], list[float | None]]:
        seen = {(m.location, m.row.agent): m.seen for m in members}
        through = {(m.location, m.row.agent): m.through for m in members}
        live = {loc: mem.live(mono) for loc, mem in self._members.items()}
        spans: dict[tuple[str, str], list[Interval]] = {}
        told: dict[str, datetime] = {}  # unit -> every live holder's evidence is in up to here
        for t in tenures:
            holder_live = t.until is None and t.agent in live.get(t.location, ())
            span = tenure_span(t, holder_live, seen.get((t.location, t.agent)), now, self.bridge)
            spans.setdefault((t.location, t.unit), []).append(span)
            if holder_live:
                mark = through.get((t.location, t.agent)) or since - self.bridge
                told[t.unit] = min(told.get(t.unit, mark), mark)
        by_subject: dict[tuple[str, Level, str], list[EvidenceRecord]] = {}
        for r in rows:
            by_subject.setdefault((r.location, r.level, r.name), []).append(r)
        locations = sorted({loc for loc, _ in first})
        writes: list[JudgedWrite] = []
        lags: list[float | None] = []  # per write: seconds from its deciding probe
        for subject in self.subjects:
            began = [first[(loc, subject.unit)] for loc in locations if (loc, subject.unit) in first]
            if not began:
                continue  # no location has watched it yet: nothing to judge
            evidence = assemble(subject, locations, spans, by_subject, self.bridge)
            verdict = judge(evidence, subject.at_least, max(since, min(began)))
            self.states[(subject.level, subject.name)] = verdict.state_at(now)
            rec = recorded.get((subject.level, subject.name), Recorded())
            mine = [r for loc in locations for r in by_subject.get((loc, subject.level,
                                                                     subject.name), ())]
            changes = reconcile(verdict, rec)
            held_back = told.get(subject.unit)
            if held_back is not None and any(
                    isinstance(c, JudgedClosed | JudgedPast) and c.end > held_back
                    for c in changes):
                # a location still holds evidence back (journaled, or a probe in flight) for
                # the instant this would end at: it may have recovered earlier. Wait for it.
                changes = [c for c in changes if isinstance(c, JudgedGap)]
            for change in changes:
                reason, detail = _why(subject, change.start, mine)
                writes.append(JudgedWrite(subject.level, subject.name, change, reason, detail))
                lags.append(_lag_of(change, rec, mine, subject.at_least, now))
        return writes, lags

    def _publish(self, committed: Committed) -> None:
        publish(self._sinks, committed, log)


def _end(change: JudgedChange) -> str | None:
    end = getattr(change, "end", None)
    return end.isoformat() if isinstance(end, datetime) else None


def _lag_of(change: JudgedChange, rec: Recorded, rows: Sequence[EvidenceRecord], k: int,
            now: datetime) -> float | None:
    """Seconds from the probe that decided a judged transition to its write.

    An interval opens when the K-th location confirms (its `confirmed_at`
    probe); it closes at the first success that left fewer than K down (its
    end). Only fresh transitions count: a late stretch has no live decider.
    """
    if isinstance(change, JudgedOpened) and rec.open_start is None:
        confirms = sorted((r.confirmed_at for r in rows if r.confirmed_at is not None
                           and r.start <= change.start
                           and (r.end is None or r.end > change.start)), reverse=True)
        decided = confirms[-k] if len(confirms) >= k else None
        return (now - decided).total_seconds() if decided is not None else None
    if isinstance(change, JudgedClosed) and change.cause == "recovered":
        return (now - change.end).total_seconds()
    return None
