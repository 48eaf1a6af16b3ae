"""What a config reload does to the record, worked out without I/O.

Why a step of its own: a reload must neither lose nor invent downtime.
- A check that stays (same name, same type and target) keeps its state: its
  streak counters, its open interval, its alert. New thresholds or intervals
  apply from its next probe.
- A check that leaves the config, or whose identity (type, target) changed,
  is no longer watched: its open interval ends now with cause `removed` (not
  `recovered`), its alert is resolved, its stored state reset; a changed one
  then starts afresh as a new check.
- A service that leaves the config ends its open interval the same way; the
  services that stay are re-derived from their (possibly new) members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.events import (
    AlertResolved,
    CheckEvent,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    ServiceDowntimeClosed,
)

__all__ = ["Plan", "identity", "plan"]


def identity(check: EffectiveCheck) -> tuple[str, str]:
    """What makes a check the same check across a reload: its type and target."""
    return check.type, str(getattr(check.config, "target", ""))


@dataclass(frozen=True, slots=True)
class Plan:
    added: tuple[str, ...]
    removed: tuple[str, ...]  # gone, or identity changed (then also in `added`)
    changed: tuple[str, ...]  # same identity, other settings
    check_events: dict[str, tuple[CheckEvent, ...]]  # per retired check
    service_events: tuple[ServiceDowntimeClosed, ...]  # retired services' open intervals

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def plan(
    old_checks: Mapping[str, EffectiveCheck],
    new_checks: Sequence[EffectiveCheck],
    snapshots: Mapping[str, CheckSnapshot],
    old_services: Mapping[str, ServiceConfig],
    new_services: Sequence[ServiceConfig],
    open_services: Mapping[str, datetime],
    now: datetime,
) -> Plan:
    new = {c.name: c for c in new_checks}
    retired = [n for n, c in old_checks.items()
               if n not in new or identity(new[n]) != identity(c)]
    added = tuple(n for n in new if n not in old_checks or n in retired)
    changed = tuple(n for n, c in new.items() if n in old_checks and n not in retired
                    and c != old_checks[n])
    check_events: dict[str, tuple[CheckEvent, ...]] = {}
    for name in retired:
        snap = snapshots.get(name) or CheckSnapshot.initial(name)
        events: list[CheckEvent] = []
        if snap.state is CheckState.DOWN and snap.downtime_start is not None:
            events.append(DowntimeClosed(name, snap.downtime_start, max(now, snap.downtime_start),
                                         snap.streak_reason or "unknown", "removed"))
        if snap.state in (CheckState.ALERTING, CheckState.DOWN):
            since = snap.streak_start or now
            events.append(AlertResolved(name, max(now, since), since))
        check_events[name] = tuple(events)
    kept_services = {s.name for s in new_services}
    service_events = tuple(
        ServiceDowntimeClosed(name, start, max(now, start), "removed")
        for name, start in open_services.items()
        if name in old_services and name not in kept_services
    )
    return Plan(added, tuple(retired), changed, check_events, service_events)
