"""Logs every check transition and service change exactly once."""

from __future__ import annotations

import structlog

from monitord.core.events import ServiceDowntimeOpened, ServiceDowntimeRecorded
from monitord.core.pipeline import ProbeOutcome

log = structlog.get_logger("monitord.transitions")


class LogSink:
    def __init__(self, services_of: dict[str, list[str]]) -> None:
        self._services_of = services_of

    def outcome(self, o: ProbeOutcome) -> None:
        name = o.check.name
        if o.before.state is not o.after.state:
            log.info(
                "check_transition",
                check=name,
                at=o.at.isoformat(),
                services=self._services_of.get(name, []),
                from_state=o.before.state.value,
                to_state=o.after.state.value,
                failures=o.after.consecutive_failures,
                reason=o.result.reason.value if o.result.reason else o.after.streak_reason,
                detail=o.result.detail,
                events=[type(e).__name__ for e in o.check_events],
            )
        for ev in o.service_events:
            if isinstance(ev, ServiceDowntimeRecorded):
                log.warning(
                    "service_downtime_recorded",
                    service=ev.service,
                    since=ev.start.isoformat(),
                    until=ev.end.isoformat(),
                    reason=ev.reason,
                    detail=ev.detail,
                    check=name,
                )
            elif isinstance(ev, ServiceDowntimeOpened):
                log.warning(
                    "service_down",
                    service=ev.service,
                    since=ev.start.isoformat(),
                    reason=ev.reason,
                    detail=ev.detail,
                    check=name,
                )
            else:
                log.info(
                    "service_up",
                    service=ev.service,
                    since=ev.start.isoformat(),
                    until=ev.end.isoformat(),
                    check=name,
                )
