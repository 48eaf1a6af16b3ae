"""Small translations between the pipeline's steps and the record.

Kept apart from the pipeline so it reads as the flow it is: which checks a
call-quality judge watches, which intervals a tracker resumes, how a reboot or
a maintenance boundary is written to the event log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import structlog

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.callquality import CallQualityJudge, QualityChange, ServiceCalls
from monitord.core.events import (
    CheckSnapshot,
    CheckState,
    MaintenanceEnded,
    MaintenanceEvent,
    MaintenanceStarted,
    RebootDetected,
)
from monitord.core.maintenance import MaintenanceCalendar, iso
from monitord.core.services import OpenCheckDowntime
from monitord.core.stream import Event, QualityWindow
from monitord.storage.interface import Entry, EventCommit, QualityCommit
from monitord.storage.records import StandaloneEvent
from probes.base import ProbeResult

__all__ = ["calls_of", "judge_call", "maintenance_step", "open_checks", "recordable"]

log = structlog.get_logger("monitord.pipeline")  # the pipeline's steps, logged as its own


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


def maintenance_step(calendar: MaintenanceCalendar, site: str, now: datetime,
                     events: list[Event], entries: list[Entry]) -> None:
    """Maintenance windows that started or ended by `now`: recorded, announced, logged."""
    changes = calendar.tick(now)
    if changes:
        entries.append(EventCommit(tuple(recordable(e, site) for e in changes)))
        events.extend(changes)
        for ev in changes:
            (log.info if isinstance(ev, MaintenanceEnded) else log.warning)(
                "maintenance_ended" if isinstance(ev, MaintenanceEnded)
                else "maintenance_started", service=ev.service, window=ev.window)


def judge_call(quality: CallQualityJudge, name: str, result: ProbeResult, at: datetime,
               events: list[Event], entries: list[Entry]) -> None:
    """A synthetic call's result, judged for its services' call quality (issue 16)."""
    changes: list[QualityChange] = []
    for sq, change in quality.observe(name, result, at):
        if change is not None:
            changes.append(change)
            events.append(change)
        events.append(QualityWindow(sq.service, at, sq.figures, sq.priority))
    if changes:
        entries.append(QualityCommit(tuple(changes)))
