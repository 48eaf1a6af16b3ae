"""Logs every check transition, service change, quality change and reboot exactly once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog

from monitord.config.models import ServiceConfig
from monitord.core.callquality import QualityChange
from monitord.core.events import (
    RebootDetected,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.core.stream import Committed, ProbeOutcome, Reconfigured

log = structlog.get_logger("monitord.transitions")


def services_of(services: Sequence[ServiceConfig]) -> dict[str, list[str]]:
    """check -> the services it belongs to, in config order."""
    out: dict[str, list[str]] = {}
    for svc in services:
        for check in svc.checks:
            out.setdefault(check, []).append(svc.name)
    return out


class LogSink:
    QUIET = False  # logs events and state changes, never a quiet probe

    def __init__(self, services_of: Mapping[str, Sequence[str]]) -> None:
        self._services_of = services_of

    def consume(self, c: Committed) -> None:
        if c.probe is not None:
            self._transition(c)
        check = c.probe.check.name if c.probe is not None else None
        for ev in c.events:
            if isinstance(ev, ServiceDowntimeRecorded):
                log.warning("service_downtime_recorded", service=ev.service,
                            since=ev.start.isoformat(), until=ev.end.isoformat(),
                            reason=ev.reason, detail=ev.detail, check=check)
            elif isinstance(ev, ServiceDowntimeOpened):
                log.warning("service_down", service=ev.service, since=ev.start.isoformat(),
                            reason=ev.reason, detail=ev.detail, check=check)
            elif isinstance(ev, ServiceDowntimeClosed):
                log.info("service_up", service=ev.service, since=ev.start.isoformat(),
                         until=ev.end.isoformat(), check=check)
            elif isinstance(ev, QualityChange):
                worse = ev.after.severity() > ev.before.severity()
                (log.warning if worse else log.info)(
                    "call_quality_changed", service=ev.service, at=ev.at.isoformat(),
                    from_priority=ev.before.label, to_priority=ev.after.label, check=check,
                    detail=ev.figures.describe(),
                )
            elif isinstance(ev, Reconfigured):
                self._services_of = services_of(ev.services)
            elif isinstance(ev, RebootDetected):
                log.warning("reboot_detected", check=ev.check, device=ev.device,
                            at=ev.at.isoformat(),
                            previous_uptime_seconds=round(ev.previous_uptime, 2),
                            uptime_seconds=round(ev.uptime, 2))

    def _transition(self, c: Committed) -> None:
        o: ProbeOutcome | None = c.probe
        if o is None or o.before.state is o.after.state:
            return
        name = o.check.name
        log.info(
            "check_transition",
            check=name,
            at=o.at.isoformat(),
            services=list(self._services_of.get(name, [])),
            from_state=o.before.state.value,
            to_state=o.after.state.value,
            failures=o.after.consecutive_failures,
            reason=o.result.reason.value if o.result.reason else o.after.streak_reason,
            detail=o.result.detail,
            events=[type(e).__name__ for e in c.check_events],
        )
