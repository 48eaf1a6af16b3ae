"""Service state, derived from its checks' downtime per `down_when`.

A service is down while at least k of its checks are down (any: k=1, all:
k=n). Because check intervals are backdated to their first failed probe, the
service interval starts at the k-th earliest start among its open check
intervals: exactly the k-coverage `monitord.intervals.coverage` computes. When
a new service interval would start at or before the end of the previous one,
the two are one problem and are merged (XTIUM §1: counted once).

Pure: fed check events, returns service events; no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitord.config.models import ServiceConfig
from monitord.events import (
    CheckEvent,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceEvent,
)


@dataclass(frozen=True, slots=True)
class OpenCheckDowntime:
    start: datetime
    reason: str
    detail: str


@dataclass
class _ServiceLive:
    config: ServiceConfig
    k: int
    open_start: datetime | None = None
    last_closed: tuple[datetime, datetime] | None = None
    members: frozenset[str] = field(default_factory=frozenset)


class ServiceTracker:
    def __init__(
        self,
        services: Sequence[ServiceConfig],
        open_checks: Mapping[str, OpenCheckDowntime],
        open_services: Mapping[str, datetime],
    ) -> None:
        """`open_checks`/`open_services` are the intervals still open at the last stop."""
        self._open: dict[str, OpenCheckDowntime] = dict(open_checks)
        self._services = {
            s.name: _ServiceLive(
                s, s.required_down(), open_services.get(s.name), None, frozenset(s.checks)
            )
            for s in services
        }
        self._by_check: dict[str, list[_ServiceLive]] = {}
        for live in self._services.values():
            for check in live.config.checks:
                self._by_check.setdefault(check, []).append(live)

    def reconcile(self, now: datetime) -> list[ServiceEvent]:
        """Re-derive every service after a restart or config change."""
        out: list[ServiceEvent] = []
        for live in self._services.values():
            out.extend(self._evaluate(live, closed_at=now))
        return out

    def on_check_events(self, events: Iterable[CheckEvent]) -> list[ServiceEvent]:
        out: list[ServiceEvent] = []
        for event in events:
            if isinstance(event, DowntimeOpened):
                self._open[event.check] = OpenCheckDowntime(event.start, event.reason, event.detail)
                closed_at = event.confirmed_at
            elif isinstance(event, DowntimeClosed):
                self._open.pop(event.check, None)
                closed_at = event.end
            else:
                continue
            for live in self._by_check.get(event.check, []):
                out.extend(self._evaluate(live, closed_at))
        return out

    def is_down(self, service: str) -> bool:
        return self._services[service].open_start is not None

    def down_since(self, service: str) -> datetime | None:
        return self._services[service].open_start

    def down_checks(self, service: str) -> list[str]:
        return [c for c in self._services[service].config.checks if c in self._open]

    def _evaluate(self, live: _ServiceLive, closed_at: datetime) -> list[ServiceEvent]:
        name = live.config.name
        down = sorted(
            ((self._open[c], c) for c in live.members if c in self._open),
            key=lambda item: item[0].start,
        )
        if len(down) >= live.k and live.open_start is None:
            start = down[live.k - 1][0].start
            if live.last_closed is not None and live.last_closed[1] >= start:
                start = live.last_closed[0]
            first, check = down[0]
            live.open_start = start
            detail = f"check {check}: {first.detail}" if first.detail else f"check {check} down"
            return [ServiceDowntimeOpened(name, start, first.reason, detail)]
        if len(down) < live.k and live.open_start is not None:
            start, live.open_start = live.open_start, None
            end = max(closed_at, start)
            live.last_closed = (start, end)
            return [ServiceDowntimeClosed(name, start, end)]
        return []
