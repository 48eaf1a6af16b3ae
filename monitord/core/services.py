"""Service state, derived from its checks' downtime per `down_when`.

A service is down while at least k of its checks are down (any: k=1, all:
k=n): its downtime is the k-coverage of its checks' intervals
(`monitord.core.intervals.k_of_n`). Check intervals are backdated to their first
failed probe and confirmed only `down_after` probes later, and checks run at
different intervals, so a check confirmed late can reveal that the service
went down EARLIER than recorded, or was down during a span already past. The
tracker therefore keeps each check's recent intervals, recomputes the
coverage on every change and emits what the record lacks: an earlier start
for the open interval, or a past interval (`ServiceDowntimeRecorded`). A new
interval touching a previous one is the same problem and is merged by the
store (XTIUM §1: counted once).

Pure: fed check events, returns service events; no clock, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitord.config.models import ServiceConfig
from monitord.core.events import (
    CheckEvent,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
    ServiceEvent,
)
from monitord.core.intervals import Interval, k_of_n

# End of a still-open interval in coverage arithmetic.
OPEN_END = datetime.max.replace(tzinfo=UTC)
# Closed intervals kept per check (and per service) so a late, backdated
# confirmation of another check can still be set against them.
KEEP_CLOSED = 32


@dataclass(frozen=True, slots=True)
class OpenCheckDowntime:
    start: datetime
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class _CheckInterval:
    check: str
    span: Interval
    reason: str
    detail: str


@dataclass
class _ServiceLive:
    config: ServiceConfig
    k: int
    open_start: datetime | None = None
    recorded: deque[Interval] = field(default_factory=lambda: deque(maxlen=KEEP_CLOSED))

    @property
    def members(self) -> list[str]:
        return self.config.checks


class ServiceTracker:
    def __init__(
        self,
        services: Sequence[ServiceConfig],
        open_checks: Mapping[str, OpenCheckDowntime],
        open_services: Mapping[str, datetime],
    ) -> None:
        """`open_checks`/`open_services` are the intervals still open at the last stop."""
        self._open: dict[str, _CheckInterval] = {
            c: _CheckInterval(c, Interval(o.start, OPEN_END), o.reason, o.detail)
            for c, o in open_checks.items()
        }
        self._closed: dict[str, deque[_CheckInterval]] = {}
        self._services = {
            s.name: _ServiceLive(s, s.required_down(), open_services.get(s.name)) for s in services
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
                self._open[event.check] = _CheckInterval(
                    event.check, Interval(event.start, OPEN_END), event.reason, event.detail
                )
                closed_at = event.confirmed_at
            elif isinstance(event, DowntimeClosed):
                was = self._open.pop(event.check, None)
                if was is None:
                    continue  # never seen open: not ours to derive a service interval from
                self._closed.setdefault(event.check, deque(maxlen=KEEP_CLOSED)).append(
                    _CheckInterval(event.check, Interval(event.start, event.end), was.reason, was.detail)
                )
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

    def _known(self, live: _ServiceLive) -> list[_CheckInterval]:
        out: list[_CheckInterval] = []
        for check in live.members:
            out.extend(self._closed.get(check, ()))
            if check in self._open:
                out.append(self._open[check])
        return out

    def _evaluate(self, live: _ServiceLive, closed_at: datetime) -> list[ServiceEvent]:
        name = live.config.name
        known = self._known(live)
        by_check: dict[str, list[Interval]] = {}
        for ci in known:
            by_check.setdefault(ci.check, []).append(ci.span)
        segments = k_of_n(list(by_check.values()), live.k)
        open_seg = segments[-1] if segments and segments[-1].end == OPEN_END else None
        out: list[ServiceEvent] = []
        for seg in segments:
            if seg is open_seg or _recorded(live, seg):
                continue
            if live.open_start is not None and seg.start <= live.open_start < seg.end:
                continue  # the open interval's own segment: closed below
            reason, detail = _evidence(known, seg)
            out.append(ServiceDowntimeRecorded(name, seg.start, seg.end, reason, detail))
            live.recorded.append(seg)
        if open_seg is not None:
            if live.open_start is None or open_seg.start < live.open_start:
                reason, detail = _evidence(known, open_seg)
                out.append(ServiceDowntimeOpened(name, open_seg.start, reason, detail))
                live.open_start = open_seg.start
        elif live.open_start is not None:
            start, live.open_start = live.open_start, None
            ends = [s.end for s in segments if s.start <= start < s.end]
            end = ends[0] if ends else max(closed_at, start)
            out.append(ServiceDowntimeClosed(name, start, end))
            live.recorded.append(Interval(start, end))
        return out


def _recorded(live: _ServiceLive, seg: Interval) -> bool:
    return any(r.start <= seg.start and seg.end <= r.end for r in live.recorded)


def _evidence(known: list[_CheckInterval], seg: Interval) -> tuple[str, str]:
    """Reason and evidence of the earliest-starting check interval inside `seg`."""
    inside = [ci for ci in known if ci.span.start < seg.end and seg.start < ci.span.end]
    first = min(inside, key=lambda ci: ci.span.start)
    detail = f"check {first.check}: {first.detail}" if first.detail else f"check {first.check} down"
    return first.reason, detail
