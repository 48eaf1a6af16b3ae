"""Standalone events: SNMP reboots and maintenance windows starting or ending.

Why a task of its own: these are not state changes of a check, so the
pipeline does not store them. A reboot is seen by the SNMP sink (synchronous,
on the probe path), which only queues it here; a maintenance window starts
and ends by the clock, and through the API at any moment. This task records
each in the store's permanent event log (`Store.record_event`, its own
transaction; served at /api/v1/events) and, when MQTT is configured, in the
outbox too, then wakes the publisher.

Maintenance: every `tick` seconds (and at once after an API add or delete)
the windows the alert sinks use (`SlaRuntime.maintenance_config`) are
expanded around now. A window counts from the later of its start and its
announcement, exactly as alert suppression counts it. Each occurrence is
named `<site>/<service>/<window>/<start>`, which makes its event ids stable
(UUIDv5): after a restart the event log recognises a window already
announced and nothing is queued twice (and a consumer that de-duplicates on
`id` is safe either way). Windows that ended while nobody watched (since the previous run's last
sign of life, at most `MAX_CATCH_UP` back, or between two ticks) are
announced late, with their true times, as a started/ended pair.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from monitord.core.intervals import Interval
from monitord.core.pipeline import ProbeOutcome
from monitord.errors import StorageError
from monitord.sinks.snmp import Reboot
from monitord.sla.config import MaintenanceConfig
from monitord.sla.maintenance import MaintenanceOccurrence, occurrences
from monitord.storage.base import StandaloneEvent, Store
from monitord.storage.outbox import iso

log = structlog.get_logger("monitord.announce")

TICK = 5.0
MAX_CATCH_UP = timedelta(days=35)  # how far back a restart looks for windows it missed
END_HORIZON = timedelta(days=32)  # a planned end further out is announced as null
MAX_QUEUED_REBOOTS = 10_000  # far beyond any real burst; past it the oldest is logged and dropped
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class _Window:
    key: str
    service: str
    window: str
    kind: str
    start: datetime  # the occurrence's own start
    effective: datetime  # max(start, announced_at): when suppression began
    end: datetime | None  # planned end; None beyond END_HORIZON

    def body(self) -> dict[str, object]:
        return {"service": self.service, "window": self.window, "maintenance_kind": self.kind,
                "start": iso(self.start), "end": iso(self.end) if self.end else None}


class Announcer:
    """Records reboot and maintenance events in the store, off the probe path."""

    def __init__(
        self,
        store: Store,
        site: str,
        maintenance: Callable[[], MaintenanceConfig],
        services: Sequence[str],
        *,
        tick: float = TICK,
    ) -> None:
        self._store = store
        self._site = site
        self._maintenance = maintenance
        self._services = list(services)
        self._tick = tick
        self.wake: Callable[[], None] = lambda: None  # the publisher's, set by the wiring
        self._reboots: deque[StandaloneEvent] = deque()
        self._nudge = asyncio.Event()
        self._announced: dict[str, _Window] = {}
        self._last: datetime | None = None  # last tick, or the previous run's last sign of life
        self._task: asyncio.Task[None] | None = None
        self.recorded = 0

    # --- inputs -----------------------------------------------------------------

    def resume_from(self, last_alive: datetime | None, now: datetime) -> None:
        """Where the first tick looks back to: the previous run's last sign of life."""
        if last_alive is not None:
            self._last = max(last_alive, now - MAX_CATCH_UP)

    def reboot(self, reboot: Reboot, device: str) -> None:
        """The SNMP sink's hook: queue only, the write happens in our task."""
        if self._task is None:
            return  # not started (the daemon is starting or stopping): logged and counted only
        if len(self._reboots) >= MAX_QUEUED_REBOOTS:
            lost = self._reboots.popleft()
            log.error("reboot_event_dropped", check=lost.subject, at=iso(lost.at))
        booted = reboot.at - timedelta(seconds=reboot.uptime)
        self._reboots.append(StandaloneEvent(
            "reboot", "check", reboot.check, reboot.at,
            {"check": reboot.check, "device": device,
             "previous_uptime_seconds": round(reboot.previous_uptime, 2),
             "uptime_seconds": round(reboot.uptime, 2), "booted_at": iso(booted)},
            key=f"{self._site}/reboot/{reboot.check}/{iso(reboot.at)}",
        ))
        self._nudge.set()

    def windows_changed(self) -> None:
        """SlaRuntime's hook after an API add or delete: look again now, not at the next tick."""
        self._nudge.set()

    def outcome(self, o: ProbeOutcome) -> None:
        """Pipeline sink interface: nothing to do per probe."""

    # --- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="announcer")

    async def stop(self) -> None:
        """Cancel, then write what is still queued so a clean stop loses no reboot."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(StorageError):
                await self._flush_reboots()

    async def _run(self) -> None:
        while True:
            self._nudge.clear()
            try:
                await self._flush_reboots()
                await self.tick(datetime.now(UTC))
            except StorageError as exc:  # the rows stay queued or are recomputed next tick
                log.warning("announce_failed", problem=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudge.wait(), self._tick)

    async def _record(self, event: StandaloneEvent) -> None:
        if await self._store.record_event(event):
            self.recorded += 1
            self.wake()

    async def _flush_reboots(self) -> None:
        while self._reboots:
            await self._record(self._reboots[0])  # removed only once stored
            self._reboots.popleft()

    # --- maintenance ------------------------------------------------------------

    def _window(self, cfg: MaintenanceConfig, service: str, occ: MaintenanceOccurrence,
                end: datetime | None) -> _Window:
        effective = max(occ.starts_at, occ.announced_at or occ.starts_at)
        key = f"{self._site}/{service}/{occ.window}/{iso(occ.starts_at)}"
        if end is None:  # still running: find its planned end
            horizon = Interval(occ.starts_at, occ.starts_at + END_HORIZON)
            for o in occurrences(cfg, service, horizon):
                if o.window == occ.window and o.starts_at == occ.starts_at:
                    end = o.interval.end if o.interval.end < horizon.end else None
        return _Window(key, service, occ.window, occ.kind, occ.starts_at, effective, end)

    def _event(self, kind: str, w: _Window, at: datetime, cause: str | None = None) -> StandaloneEvent:
        body = w.body()
        if cause is not None:
            body["cause"] = cause
        return StandaloneEvent(kind, "service", w.service, at, body, key=f"{w.key}/{kind}")

    async def tick(self, now: datetime) -> None:
        """Announce every window start and end since the previous tick."""
        cfg = self._maintenance()
        since = self._last or now
        events: list[StandaloneEvent] = []
        active: dict[str, _Window] = {}
        ended: list[tuple[_Window, bool]] = []  # (window, was announced by this run)
        for service in self._services:
            for occ in occurrences(cfg, service, Interval(since, now + _US)):
                eff = max(occ.starts_at, occ.announced_at or occ.starts_at)
                if eff > now:
                    continue  # not announced yet: suppression has not begun
                if occ.interval.end <= now:  # clipped at now+1us: this is its true end
                    if eff < occ.interval.end:
                        w = self._window(cfg, service, occ, occ.interval.end)
                        ended.append((w, w.key in self._announced))
                    continue
                known = self._announced.get(f"{self._site}/{service}/{occ.window}/{iso(occ.starts_at)}")
                w = known or self._window(cfg, service, occ, None)
                active[w.key] = w
        for w, announced in ended:
            if not announced:  # ran out while nobody watched, or between two ticks
                events.append(self._event("maintenance_started", w, w.effective))
            assert w.end is not None
            events.append(self._event("maintenance_ended", w, w.end, "elapsed"))
        done = {w.key for w, _ in ended}
        for key, w in self._announced.items():
            if key not in active and key not in done:  # deleted through the API while running
                events.append(self._event("maintenance_ended", w, now, "withdrawn"))
        for key, w in active.items():
            if key not in self._announced:
                events.append(self._event("maintenance_started", w, w.effective))
        for ev in sorted(events, key=lambda e: (e.at, e.kind != "maintenance_ended")):
            await self._record(ev)
        self._announced = active
        self._last = now
