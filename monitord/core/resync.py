"""Bringing a frozen record in line with what the daemon saw meanwhile.

When the write backlog reaches its bound the record freezes: the store holds
the state as of `frozen`. When it answers again, this batch makes the span an
unmonitored gap (`store_unavailable`), closes an interval recorded open that
has ended or changed meanwhile where the record froze (cause `unmonitored`),
and opens one that is open now at its true start (evidence the daemon
observed, which wins over the gap). Pure: state in, a batch out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from monitord.core.events import (
    CheckEvent,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceEvent,
)
from monitord.storage.interface import Batch, CheckCommit, Entry, GapCommit, ServiceCommit

__all__ = ["resync"]


def resync(frozen: datetime, now: datetime, frozen_checks: Mapping[str, CheckSnapshot],
           checks: Mapping[str, CheckSnapshot], frozen_services: Mapping[str, datetime],
           services: Mapping[str, datetime]) -> Batch:
    """`*_checks`: snapshots then and now; `*_services`: open service starts then and now."""
    entries: list[Entry] = [GapCommit(frozen, now, "store_unavailable")] if now > frozen else []
    for name, now_snap in checks.items():
        was = frozen_checks.get(name) or CheckSnapshot.initial(name)
        events: list[CheckEvent] = []
        was_open = was.downtime_start if was.state is CheckState.DOWN else None
        is_open = now_snap.downtime_start if now_snap.state is CheckState.DOWN else None
        if was_open is not None and was_open != is_open:
            events.append(DowntimeClosed(name, was_open, max(frozen, was_open),
                                         was.streak_reason or "unknown", "unmonitored"))
        if is_open is not None and is_open != was_open:
            events.append(DowntimeOpened(name, is_open, now, now_snap.streak_reason or "unknown",
                                         now_snap.streak_detail))
        entries.append(CheckCommit(now_snap, tuple(events)))
    service_events: list[ServiceEvent] = []
    for svc in sorted({*frozen_services, *services}):
        was_start, is_start = frozen_services.get(svc), services.get(svc)
        if was_start is not None and was_start != is_start:
            service_events.append(ServiceDowntimeClosed(svc, was_start, max(frozen, was_start),
                                                        "unmonitored"))
        if is_start is not None and is_start != was_start:
            service_events.append(ServiceDowntimeOpened(svc, is_start, "unknown",
                                                        "open when the record resumed"))
    if service_events:
        entries.append(ServiceCommit(tuple(service_events)))
    return Batch(tuple(entries), now)
