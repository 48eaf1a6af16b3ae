"""Small translations between the pipeline's steps and the record.

Kept apart from the pipeline so it reads as the flow it is: which checks a
call-quality judge watches, which intervals a tracker resumes, how a reboot or
a maintenance boundary is written to the event log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.callquality import ServiceCalls
from monitord.core.events import (
    CheckSnapshot,
    CheckState,
    MaintenanceEvent,
    MaintenanceStarted,
    RebootDetected,
)
from monitord.core.maintenance import iso
from monitord.core.services import OpenCheckDowntime
from monitord.storage.records import StandaloneEvent

__all__ = ["calls_of", "open_checks", "recordable"]


def calls_of(checks: Sequence[EffectiveCheck], services: Sequence[ServiceConfig]
              ) -> list[ServiceCalls]:
    calls = {c.name for c in checks if c.type == "sip_call"}
    out = []
    for svc in services:
        mine = tuple(c for c in svc.checks if c in calls)
        if mine:
            w = svc.call_quality
            out.append(ServiceCalls(svc.name, mine, w.calls, timedelta(seconds=w.window),
                                    w.min_calls))
    return out


def open_checks(snapshots: Mapping[str, CheckSnapshot]) -> dict[str, OpenCheckDowntime]:
    return {
        name: OpenCheckDowntime(s.downtime_start, s.streak_reason or "unknown", s.streak_detail)
        for name, s in snapshots.items()
        if s.state is CheckState.DOWN and s.downtime_start is not None
    }


def recordable(ev: RebootDetected | MaintenanceEvent, site: str) -> StandaloneEvent:
    """The stored (event log, outbox) form of a standalone event; ids derive from `key`."""
    if isinstance(ev, RebootDetected):
        return StandaloneEvent(
            "reboot", "check", ev.check, ev.at,
            {"check": ev.check, "device": ev.device,
             "previous_uptime_seconds": round(ev.previous_uptime, 2),
             "uptime_seconds": round(ev.uptime, 2), "booted_at": iso(ev.booted_at)},
            key=f"{site}/reboot/{ev.check}/{iso(ev.at)}",
        )
    body: dict[str, object] = {"service": ev.service, "window": ev.window,
                               "maintenance_kind": ev.kind, "start": iso(ev.start)}
    if isinstance(ev, MaintenanceStarted):
        body["end"] = iso(ev.end) if ev.end else None
        return StandaloneEvent("maintenance_started", "service", ev.service, ev.effective, body,
                               key=f"{ev.key}/maintenance_started")
    body["end"] = iso(ev.end)
    body["cause"] = ev.cause
    return StandaloneEvent("maintenance_ended", "service", ev.service, ev.end, body,
                           key=f"{ev.key}/maintenance_ended")
