"""Maintenance windows starting and ending, as events from the clock.

Why a pure step: a window starts and ends by the clock, and through the API
at any moment; the pipeline asks this calendar on every input whether a
boundary has passed and commits what it says together with that input. The
calendar only keeps which occurrences it has announced and when it must look
again, so a thousand services cost nothing between boundaries.

A window counts from the later of its start and its announcement, exactly as
alert suppression and the SLA engine count it. Each occurrence is named
`<site>/<service>/<window>/<start>`, which gives its stored events stable ids:
after a restart the event log recognises a window already announced. Windows
that ended while nobody watched (since the previous run's last sign of life,
at most `MAX_CATCH_UP` back) are announced late, with their true times, as a
started/ended pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from monitord.core.events import MaintenanceEnded, MaintenanceEvent, MaintenanceStarted
from monitord.core.intervals import Interval
from monitord.sla.config import MaintenanceConfig
from monitord.sla.maintenance import MaintenanceOccurrence, occurrences

__all__ = [
    "END_HORIZON",
    "LOOK_AHEAD",
    "MAX_CATCH_UP",
    "MaintenanceCalendar",
    "iso",
]

MAX_CATCH_UP = timedelta(days=35)  # how far back a restart looks for windows it missed
END_HORIZON = timedelta(days=32)  # a planned end further out is announced as null
LOOK_AHEAD = timedelta(hours=6)  # how far ahead the next boundary is searched
_US = timedelta(microseconds=1)


class MaintenanceCalendar:
    """Which windows are on, for `services`; `tick(now)` returns what started or ended."""

    def __init__(self, site: str, services: Sequence[str], config: MaintenanceConfig) -> None:
        self._site = site
        self._services = list(services)
        self._config = config
        self._announced: dict[str, MaintenanceStarted] = {}
        self._last: datetime | None = None
        self._next: datetime | None = None  # None: look now

    @property
    def config(self) -> MaintenanceConfig:
        return self._config

    def active(self) -> list[MaintenanceStarted]:
        return list(self._announced.values())

    def in_maintenance(self, service: str) -> bool:
        return any(w.service == service for w in self._announced.values())

    def resume_from(self, last_alive: datetime | None, now: datetime) -> None:
        """Look back to the previous run's last sign of life on the first tick."""
        if last_alive is not None:
            self._last = max(last_alive, now - MAX_CATCH_UP)

    def rebuild(self, services: Sequence[str], config: MaintenanceConfig) -> None:
        """A reload: other services, other windows; what is announced stays announced."""
        self._services = list(services)
        self.replace(config)

    def replace(self, config: MaintenanceConfig) -> None:
        """The windows changed (an API add or delete): look again at the next input."""
        self._config = config
        self._next = None

    def due(self, now: datetime) -> bool:
        return self._next is None or now >= self._next

    def tick(self, now: datetime) -> list[MaintenanceEvent]:
        """Every window start and end since the previous tick, oldest first."""
        cfg = self._config
        since = self._last or now
        events: list[MaintenanceEvent] = []
        active: dict[str, MaintenanceStarted] = {}
        ended: list[tuple[MaintenanceEnded, MaintenanceStarted, bool]] = []
        upcoming: list[datetime] = []
        for service in self._services:
            for occ in occurrences(cfg, service, Interval(since, now + LOOK_AHEAD)):
                eff = max(occ.starts_at, occ.announced_at or occ.starts_at)
                if eff > now:
                    upcoming.append(eff)
                    continue  # not announced or started yet
                if occ.interval.end <= now:
                    if eff < occ.interval.end:
                        started = self._started(service, occ, occ.interval.end)
                        end = MaintenanceEnded(service, occ.window, occ.kind, occ.starts_at,
                                               occ.interval.end, "elapsed", started.key)
                        ended.append((end, started, started.key in self._announced))
                    continue
                upcoming.append(occ.interval.end)
                key = self._key(service, occ)
                active[key] = self._announced.get(key) or self._started(service, occ, None)
        for end, started, announced in ended:
            if not announced:  # ran out while nobody watched, or between two looks
                events.append(started)
            events.append(end)
        done = {started.key for _, started, _ in ended}
        for key, w in self._announced.items():
            if key not in active and key not in done:  # withdrawn while running
                events.append(MaintenanceEnded(w.service, w.window, w.kind, w.start, now,
                                               "withdrawn", key))
        for key, w in active.items():
            if key not in self._announced:
                events.append(w)
        events.sort(key=lambda e: (_at(e), isinstance(e, MaintenanceStarted)))
        self._announced = active
        self._last = now
        self._next = min([*upcoming, now + LOOK_AHEAD])
        return events

    def _key(self, service: str, occ: MaintenanceOccurrence) -> str:
        return f"{self._site}/{service}/{occ.window}/{iso(occ.starts_at)}"

    def _started(self, service: str, occ: MaintenanceOccurrence,
                 end: datetime | None) -> MaintenanceStarted:
        effective = max(occ.starts_at, occ.announced_at or occ.starts_at)
        if end is None:  # still running: find its planned end
            horizon = Interval(occ.starts_at, occ.starts_at + END_HORIZON)
            for o in occurrences(self._config, service, horizon):
                if o.window == occ.window and o.starts_at == occ.starts_at:
                    end = o.interval.end if o.interval.end < horizon.end else None
        return MaintenanceStarted(service, occ.window, occ.kind, occ.starts_at, effective, end,
                                  self._key(service, occ))


def iso(t: datetime) -> str:
    """UTC with a Z, as in the event ids: never change it, ids must not move."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _at(ev: MaintenanceEvent) -> datetime:
    return ev.effective if isinstance(ev, MaintenanceStarted) else ev.end

