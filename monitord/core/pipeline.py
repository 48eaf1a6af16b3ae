"""The one writer of monitoring facts and the only source of events.

Data flows one way: an input (a probe result, the clock, an API request) ->
pure steps (check state machine, service coverage, call-quality judgement,
reboot detection, maintenance calendar) -> ONE commit of everything that step
changed -> one `Committed` to every sink, in order. Sinks never call back.

When the store fails (a full disk, an I/O error) the record must not change
silently: the steps keep advancing in memory, what could not be written
waits in an ordered backlog (monitord/core/backlog.py) and is written, in
order, when the store answers again, so a downtime that began or ended
meanwhile keeps its true start and end. Sinks keep hearing of events
meanwhile (`Committed.recorded` is False), so alerts still go out. If the
backlog reaches its bound the record freezes: nothing more is queued, and
when the store returns the frozen span is written as an unmonitored gap and
the intervals are brought in line with what the daemon saw (see `_resync`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.backlog import WriteBacklog
from monitord.core.callquality import (
    CallQualityJudge,
    Priority,
    QualityChange,
    WindowFigures,
)
from monitord.core.checkstate import CheckMachine
from monitord.core.events import (
    CheckEvent,
    CheckSnapshot,
    CheckState,
    ServiceDowntimeClosed,
    ServiceEvent,
)
from monitord.core.lanes import Lane, bind_lanes, observation, persistent, progress_only
from monitord.core.maintenance import MaintenanceCalendar, iso
from monitord.core.reboots import RebootDetector, device_of, uptime_of
from monitord.core.reconfigure import plan
from monitord.core.resync import resync
from monitord.core.services import ServiceTracker
from monitord.core.steps import calls_of, judge_call, maintenance_step, open_checks, recordable
from monitord.core.stream import (
    Committed,
    Event,
    ProbeOutcome,
    Reconfigured,
    RecordHealth,
    Resumed,
    Sink,
    follows_probes,
    publish,
    quiet_commit,
)
from monitord.errors import StorageError, StoreConflictError, StoreUnavailableError
from monitord.sla.config import MaintenanceConfig
from monitord.sla.windows import merged
from monitord.storage.interface import (
    Batch,
    CheckCommit,
    CommitReceipt,
    Entry,
    EventCommit,
    MaintenanceAdd,
    MaintenanceDelete,
    ReviewAdd,
    ServiceCommit,
    StoreWriter,
)
from monitord.storage.records import (
    MaintenanceRecord,
    QualityRecord,
    ReviewRecord,
    StandaloneEvent,
)
from probes.base import ProbeResult

__all__ = ["BACKLOG_LIMIT", "Pipeline", "ResumeState"]

log = structlog.get_logger("monitord.pipeline")

BACKLOG_LIMIT = 100_000  # entries waiting for the store before the record freezes
STEP_ENTRIES_MAX = 8  # entries one input can add (check, service, quality, events, maintenance)
RETRY_EVERY = 1.0  # seconds between attempts to write the backlog from the probe path


@dataclass(frozen=True, slots=True)
class ResumeState:
    """What the store held at start-up (read once by the daemon)."""

    snapshots: Mapping[str, CheckSnapshot] = field(default_factory=dict)
    open_services: Mapping[str, datetime] = field(default_factory=dict)
    open_quality: Sequence[QualityRecord] = ()
    windows: Sequence[MaintenanceRecord] = ()  # live one-off windows stored via the API


class Pipeline:
    def __init__(
        self,
        checks: Sequence[EffectiveCheck],
        services: Sequence[ServiceConfig],
        store: StoreWriter,
        resume: ResumeState,
        sinks: Sequence[Sink],
        *,
        site: str = "default",
        maintenance: MaintenanceConfig | None = None,
        backlog_limit: int = BACKLOG_LIMIT,
    ) -> None:
        self.checks = {c.name: c for c in checks}
        self.services = {s.name: s for s in services}
        self._machines = {c.name: CheckMachine(c.name, c.thresholds) for c in checks}
        self._snapshots: dict[str, CheckSnapshot] = {
            c.name: resume.snapshots.get(c.name) or CheckSnapshot.initial(c.name) for c in checks
        }
        self.tracker = ServiceTracker(services, open_checks(self._snapshots),
                                      resume.open_services)
        self._quality = CallQualityJudge(calls_of(checks, services))
        self._resumed_quality: list[QualityChange] = []
        for rec in resume.open_quality:
            if rec.service in self._quality.services:
                self._quality.resume(rec.service, rec.priority)
                self._resumed_quality.append(QualityChange(
                    rec.service, rec.start, Priority.NONE, rec.priority,
                    WindowFigures(rec.calls, rec.poor_audio, rec.dropped)))
        self._reboots = RebootDetector()
        self._devices = {c.name: d for c in checks if (d := device_of(c)) is not None}
        self._configured = maintenance or MaintenanceConfig()
        self._windows = [w for w in resume.windows if w.deleted_at is None]
        self._calendar = MaintenanceCalendar(site, list(self.services),
                                             merged(self._configured, self._windows))
        self._site = site
        self._store = store
        self._sinks = list(sinks)
        self._quiet_sinks = [s for s in self._sinks if follows_probes(s)]
        self._lanes = self._bind()
        self._lock = asyncio.Lock()
        # DOWN checks' newer failure counts (`progress_only`), written with the next commit
        self._progress: dict[str, CheckSnapshot] = {}
        self._backlog = WriteBacklog(backlog_limit)
        self._backlog_limit = backlog_limit
        self._failing_since: datetime | None = None
        self._error: str | None = None
        self._retry_at = 0.0
        # the record froze (backlog bound): what the store holds is as of `_frozen_at`
        self._frozen_at: datetime | None = None
        self._frozen_checks: dict[str, CheckSnapshot] = {}
        self._frozen_services: dict[str, datetime] = {}

    def _bind(self) -> dict[str, Lane]:
        return bind_lanes(self.checks.values(), self._machines,
                          lambda name: name in self._devices or self._quality.judges(name),
                          self._sinks)

    # --- reading ------------------------------------------------------------------

    def snapshot(self, check: str) -> CheckSnapshot:
        return self._snapshots[check]

    @property
    def maintenance(self) -> MaintenanceConfig:
        """Configured plus stored windows, as the calendar judges them."""
        return self._calendar.config

    def health(self, at: datetime) -> RecordHealth:
        return RecordHealth(at, len(self._backlog), self._failing_since, self._error,
                            self._frozen_at)

    # --- inputs -------------------------------------------------------------------

    async def resume(self, now: datetime, *, last_alive: datetime | None = None) -> Committed:
        """After a (re)start: tell the sinks what we resume from, then reconcile services.

        `last_alive` is the previous run's last sign of life: maintenance windows
        that started or ended since are announced late, with their true times.
        """
        async with self._lock:
            self._calendar.resume_from(last_alive, now)
            self._guard(now)
            resumed = Resumed(now, dict(self._snapshots), {
                s: start for s in self.services if (start := self.tracker.down_since(s))
            }, tuple(self._resumed_quality))
            service_events = self.tracker.reconcile(now)
            for ev in service_events:
                log.info("service_reconciled", event=type(ev).__name__, service=ev.service)
            maintenance = self._calendar.tick(now)
            entries: list[Entry] = []
            if service_events:
                entries.append(ServiceCommit(tuple(service_events)))
            if maintenance:
                entries.append(EventCommit(tuple(recordable(e, self._site) for e in maintenance)))
            return await self._commit(now, None, [resumed, *service_events, *maintenance], entries)

    async def observe(self, name: str, at: datetime, result: ProbeResult, duration: float
                      ) -> Committed:
        lane = self._lanes[name]
        check = lane.check
        if result.inconclusive:
            return self._not_judged(lane, at, result, duration)
        if lane.plain and not self._lock.locked() and self._keeps_up(at):
            quiet = self._quiet_step(lane, at, result, duration)
            if quiet is not None:
                return quiet
        obs = observation(at, result)
        async with self._lock:
            self._guard(at)
            events: list[Event] = []
            entries: list[Entry] = []
            if self._calendar.due(at):
                self._maintenance(at, events, entries)
            before = self._snapshots[name]
            after, check_events = self._machines[name].step(before, obs)
            self._snapshots[name] = after
            if check_events or persistent(after) != persistent(before):
                entries.append(CheckCommit(after, tuple(check_events)))
            events.extend(check_events)
            service_events = self.tracker.on_check_events(check_events)
            if service_events:
                entries.append(ServiceCommit(tuple(service_events)))
                events.extend(service_events)
            if self._quality.judges(name):
                judge_call(self._quality, name, result, at, events, entries)
            device = self._devices.get(name)
            uptime = uptime_of(result) if device is not None else None
            if device is not None and uptime is not None:
                reboot = self._reboots.observe(name, device, uptime, at)
                if reboot is not None:
                    entries.append(EventCommit((recordable(reboot, self._site),)))
                    events.append(reboot)
            outcome = ProbeOutcome(check, at, result, duration, before, after)
            return await self._commit(at, outcome, events, entries)

    def _keeps_up(self, at: datetime) -> bool:
        """Only the probe can make news: the record keeps up, no window starts or ends."""
        return not (self._backlog or self._failing_since or self._frozen_at
                    or self._calendar.due(at))

    def _quiet_step(self, lane: Lane, at: datetime, result: ProbeResult, duration: float
                    ) -> Committed | None:
        """Most probes change nothing recorded (an UP check answered again): published at
        once, without the lock that orders steps around awaited store commits. The stream
        stays in order: nobody holds the lock (the caller looked) and nothing here awaits.
        A step with news returns None; `observe` takes it again under the lock (the step
        is pure: nothing was kept). What it publishes is quiet (no event, the same state):
        it goes to the sinks that read this check's quiet commits (`Lane.sinks`)."""
        check = lane.check
        name = check.name
        before = self._snapshots[name]
        if result.ok and before.state is CheckState.UP:  # most probes: only last_probe moves
            after = CheckMachine.answered(before, at)
        else:
            after, check_events = lane.machine.step(before, observation(at, result))
            if check_events:
                return None
            if persistent(after) != persistent(before):
                if not progress_only(before, after):
                    return None
                self._progress[name] = after
        self._snapshots[name] = after
        committed = quiet_commit(check, at, result, duration, before, after)
        publish(lane.sinks, committed, log)
        return committed

    def _not_judged(self, lane: Lane, at: datetime, result: ProbeResult, duration: float
                    ) -> Committed:
        """Our own lateness made the probe say nothing: no step, nothing recorded; sinks
        still see it (the API's last result, the inconclusive counter). Quiet, as above."""
        snap = self._snapshots[lane.check.name]
        committed = quiet_commit(lane.check, at, result, duration, snap, snap)
        publish(lane.sinks, committed, log)
        return committed

    async def tick(self, now: datetime) -> Committed | None:
        """The clock: maintenance windows that started or ended since the last input."""
        async with self._lock:
            if not self._calendar.due(now):
                return None
            self._guard(now)
            events: list[Event] = []
            entries: list[Entry] = []
            self._maintenance(now, events, entries)
            if not events:
                return None
            return await self._commit(now, None, events, entries)

    async def add_review(self, add: ReviewAdd) -> ReviewRecord:
        """Append an incident review entry (SLA, issue 16); it changes no recorded interval."""
        async with self._lock:
            (record,) = (await self._commit_now(add)).reviews
            return record

    async def add_maintenance(self, add: MaintenanceAdd) -> MaintenanceRecord:
        """Store a window announced at run time; the calendar follows at once."""
        async with self._lock:
            (record,) = await self._write_now(add)
            if record is None:  # pragma: no cover - an add always returns its row
                raise StorageError("the store returned no row for the new maintenance window")
            self._windows.append(record)
            self._calendar.replace(merged(self._configured, self._windows))
            await self._tick_locked(add.now)
            return record

    async def delete_maintenance(self, delete: MaintenanceDelete) -> MaintenanceRecord | None:
        """Withdraw a window (kept on the record); a running one ends now."""
        async with self._lock:
            (record,) = await self._write_now(delete)
            if record is not None:
                self._windows = [w for w in self._windows if w.id != record.id]
                self._calendar.replace(merged(self._configured, self._windows))
                await self._tick_locked(delete.now)
            return record

    async def reconfigure(self, checks: Sequence[EffectiveCheck],
                          services: Sequence[ServiceConfig], maintenance: MaintenanceConfig,
                          now: datetime) -> Committed:
        """A config reload (monitord/core/reconfigure.py says what it does to the record)."""
        async with self._lock:
            self._guard(now)
            open_services = {s: start for s in self.services
                             if (start := self.tracker.down_since(s)) is not None}
            p = plan(self.checks, checks, self._snapshots, self.services, services,
                     open_services, now)
            events: list[Event] = []
            entries: list[Entry] = []
            retired_events: list[CheckEvent] = []
            for name, check_events in p.check_events.items():
                entries.append(CheckCommit(CheckSnapshot.initial(name), check_events))
                retired_events.extend(check_events)
            # a service's interval ended by a member leaving was not seen to recover
            gone = {e.service for e in p.service_events}
            service_events: list[ServiceEvent] = [
                replace(e, cause="removed") if isinstance(e, ServiceDowntimeClosed) else e
                for e in self.tracker.on_check_events(retired_events) if e.service not in gone]
            service_events += p.service_events
            self._rebuild(checks, services, maintenance, p.removed)
            service_events += self.tracker.reconcile(now)
            if service_events:
                entries.append(ServiceCommit(tuple(service_events)))
            changed = StandaloneEvent(
                "monitoring_changed", "service", "*", now,
                {"added": list(p.added), "removed": list(p.removed), "changed": list(p.changed)},
                key=f"{self._site}/reload/{iso(now)}")
            entries.append(EventCommit((changed,)))
            events += [*retired_events, *service_events]
            events.append(Reconfigured(now, tuple(checks), tuple(services), p.added, p.removed,
                                       p.changed))
            log.warning("config_reloaded", added=list(p.added), removed=list(p.removed),
                        changed=list(p.changed))
            return await self._commit(now, None, events, entries)

    async def reassign(self, checks: Sequence[EffectiveCheck], services: Sequence[ServiceConfig],
                       adopted: Mapping[str, CheckSnapshot], adopted_open: Mapping[str, datetime],
                       now: datetime) -> Committed:
        """A fleet agent's share of its location changed (docs/fleet.md): a hand-over.

        Unlike a reload, nothing ends here. Checks handed to another agent leave
        this pipeline as they are: their state and open intervals stay on the
        location's record, and the taker resumes them. Adopted checks resume from
        the state their previous holder recorded (`adopted`, and `adopted_open`
        for their services' open intervals): streak counters, open interval and
        all, so a hand-over neither invents downtime nor drops any.
        """
        async with self._lock:
            names = {c.name for c in checks}
            gone = tuple(n for n in self.checks if n not in names)
            added = tuple(n for n in names if n not in self.checks)
            for name in added:
                self._snapshots[name] = adopted.get(name) or CheckSnapshot.initial(name)
            self._rebuild(checks, services, self._configured, (), adopted_open)
            for name in gone:
                self._frozen_checks.pop(name, None)
            events: list[Event] = [Reconfigured(now, tuple(checks), tuple(services), added, gone,
                                                ())]
            if added:
                events.append(Resumed(now, {n: self._snapshots[n] for n in added}, {
                    s: start for s, start in adopted_open.items() if s in self.services}, ()))
            return await self._commit(now, None, events, [])

    def _rebuild(self, checks: Sequence[EffectiveCheck], services: Sequence[ServiceConfig],
                 maintenance: MaintenanceConfig, retired: Sequence[str],
                 adopted_open: Mapping[str, datetime] | None = None) -> None:
        """The steps' state for the new config; kept checks and services keep theirs."""
        snapshots = {c.name: (self._snapshots.get(c.name) if c.name not in retired else None)
                     or CheckSnapshot.initial(c.name) for c in checks}
        names = {s.name for s in services}
        open_services = {s: start for s in self.services
                         if s in names and (start := self.tracker.down_since(s)) is not None}
        for s, start in (adopted_open or {}).items():
            if s in names and s not in self.services:
                open_services[s] = start
        priorities = {name: sq.priority for name, sq in self._quality.services.items()}
        self.checks = {c.name: c for c in checks}
        self.services = {s.name: s for s in services}
        self._machines = {c.name: CheckMachine(c.name, c.thresholds) for c in checks}
        self._snapshots = snapshots
        self.tracker = ServiceTracker(services, open_checks(snapshots), open_services)
        self._quality = CallQualityJudge(calls_of(checks, services))
        for name, priority in priorities.items():
            self._quality.resume(name, priority)
        self._devices = {c.name: d for c in checks if (d := device_of(c)) is not None}
        self._lanes = self._bind()
        self._configured = maintenance
        self._calendar.rebuild(list(self.services), merged(maintenance, self._windows))

    async def _commit_progress(self, now: datetime) -> None:
        """DOWN checks' newer failure counts, written with the heartbeat if nothing else
        was committed since: a crash leaves the count of a heartbeat ago, as it leaves
        an UP check's last probe (lanes.py, `progress_only`)."""
        if self._progress:
            await self._record(now, Batch(self._take_progress(), now))

    def _take_progress(self) -> tuple[Entry, ...]:
        entries = tuple(CheckCommit(s, ()) for s in self._progress.values())
        self._progress.clear()
        return entries

    async def heartbeat(self, now: datetime) -> None:
        """The daemon's sign of life (so a crash leaves an honest gap), and a backlog retry."""
        async with self._lock:
            await self._commit_progress(now)
            if self._backlog or self._frozen_at is not None:
                await self._flush(now)
                return
            try:
                await self._store.heartbeat(now)
            except StorageError as exc:
                self._trouble(now, exc)
                self._publish(Committed(now, None, (self.health(now),), recorded=False))

    async def flush(self, now: datetime) -> bool:
        """Write what waits; True when nothing is left. Called at stop and by the upkeep task."""
        async with self._lock:
            await self._commit_progress(now)
            await self._flush(now)
            return not self._backlog and self._frozen_at is None

    # --- steps --------------------------------------------------------------------

    def _maintenance(self, now: datetime, events: list[Event], entries: list[Entry]) -> None:
        maintenance_step(self._calendar, self._site, now, events, entries)

    async def _tick_locked(self, now: datetime) -> None:
        events: list[Event] = []
        entries: list[Entry] = []
        self._maintenance(now, events, entries)
        if events:
            await self._commit(now, None, events, entries)

    # --- the commit ---------------------------------------------------------------

    async def _commit(self, at: datetime, probe: ProbeOutcome | None, events: list[Event],
                      entries: list[Entry]) -> Committed:
        recorded = True
        if self._progress:  # older than this step's entries: written first, in order
            entries = [*self._take_progress(), *entries]
        if entries:
            recorded = await self._record(at, Batch(tuple(entries), at))
        if not recorded or self._backlog or self._failing_since:
            events.append(self.health(at))
        committed = Committed(at, probe, tuple(events), recorded)
        self._publish(committed)
        return committed

    async def _record(self, at: datetime, batch: Batch) -> bool:
        if self._frozen_at is not None:
            await self._maybe_retry(at)
            return False
        if self._backlog:
            if not self._backlog.append(batch):
                self._freeze(at)
            await self._maybe_retry(at)
            return False
        try:
            await self._store.commit(batch)
        except StoreConflictError as exc:
            log.error("commit_refused", problem=str(exc), entries=len(batch.entries))
            raise
        except StorageError as exc:
            self._trouble(at, exc)
            self._backlog.append(batch)
            return False
        except BaseException:
            # cancelled (shutdown): it may or may not have landed. Queued, the final flush
            # writes it; if it had landed, the store refuses the replay as a conflict.
            self._backlog.append(batch)
            raise
        self._recovered(at)
        return True

    async def _write_now(self, entry: MaintenanceAdd | MaintenanceDelete
                         ) -> tuple[MaintenanceRecord | None, ...]:
        return (await self._commit_now(entry)).maintenance

    async def _commit_now(self, entry: MaintenanceAdd | MaintenanceDelete | ReviewAdd
                          ) -> CommitReceipt:
        """An API write: only straight into a store that keeps up, else a clear refusal."""
        if self._backlog or self._frozen_at is not None:
            raise StoreUnavailableError(
                f"the store is behind ({len(self._backlog)} changes waiting since "
                f"{self._failing_since}): try again once /healthz is ok")
        try:
            receipt = await self._store.commit(Batch((entry,)))
        except StoreConflictError:
            raise
        except StorageError as exc:
            raise StoreUnavailableError(f"the store refused the write: {exc}") from exc
        return receipt

    async def _maybe_retry(self, at: datetime) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() >= self._retry_at:
            self._retry_at = loop.time() + RETRY_EVERY
            await self._flush(at)

    async def _flush(self, now: datetime) -> None:
        while self._backlog:
            batch = self._backlog.peek()
            try:
                await self._store.commit(batch)
            except StoreConflictError:
                try:
                    await self._one_by_one(batch)
                except StorageError as exc:
                    self._trouble(now, exc)
                    return
            except StorageError as exc:
                self._trouble(now, exc)
                return
            self._backlog.done(batch)
        if self._frozen_at is not None:
            try:
                await self._store.commit(self._resync(now))
            except StorageError as exc:
                self._trouble(now, exc)
                return
            log.warning("record_resynced", frozen_at=self._frozen_at.isoformat(),
                        until=now.isoformat())
            self._frozen_at = None
        self._recovered(now)
        self._publish(Committed(now, None, (self.health(now),)))

    async def _one_by_one(self, batch: Batch) -> None:
        """A merged batch the store refused: write its entries alone, dropping only those the
        record contradicts (a replay of a commit that had landed before a cancellation)."""
        for entry in batch.entries:
            try:
                await self._store.commit(Batch((entry,), batch.last_seen))
            except StoreConflictError as exc:
                log.error("commit_refused", problem=str(exc), entry=type(entry).__name__)

    def _trouble(self, at: datetime, exc: Exception) -> None:
        if self._failing_since is None:
            self._failing_since = at
            log.error("store_failing", problem=str(exc), waiting=len(self._backlog))
        self._error = str(exc)

    def _recovered(self, at: datetime) -> None:
        if self._failing_since is not None:
            log.warning("store_recovered", since=self._failing_since.isoformat(),
                        at=at.isoformat())
        self._failing_since = None
        self._error = None

    def _guard(self, at: datetime) -> None:
        """Freeze before a step that might not fit: the frozen view must match the backlog."""
        if (self._frozen_at is None and self._backlog
                and len(self._backlog) + STEP_ENTRIES_MAX > self._backlog_limit):
            self._freeze(at)

    def _freeze(self, at: datetime) -> None:
        """The backlog is full: keep what it holds, queue nothing more, note what is recorded."""
        self._frozen_at = at
        self._frozen_checks = dict(self._snapshots)
        self._frozen_services = {s: start for s in self.services
                                 if (start := self.tracker.down_since(s)) is not None}
        log.error("record_frozen", at=at.isoformat(), waiting=len(self._backlog))

    def _resync(self, now: datetime) -> Batch:
        assert self._frozen_at is not None
        open_now = {s: start for s in self.services
                    if (start := self.tracker.down_since(s)) is not None}
        return resync(self._frozen_at, now, self._frozen_checks, self._snapshots,
                      self._frozen_services, open_now)

    def _publish(self, committed: Committed) -> None:
        publish(self._quiet_sinks if committed.quiet else self._sinks, committed, log)

