"""What the API shows as "now": each check's state and last result, each service's.

Why a sink: the API must not read the pipeline's internals (its state is the
writer's business); like every other consumer it learns the present from the
stream, seeded by the `Resumed` event at start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.events import (
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    MaintenanceEnded,
    MaintenanceStarted,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
)
from monitord.core.stream import Committed, Reconfigured, RecordHealth, Resumed
from probes.base import ProbeResult

__all__ = ["LastProbe", "LiveView"]


class LastProbe(NamedTuple):
    at: datetime
    result: ProbeResult


class LiveView:
    def __init__(self, checks: Sequence[EffectiveCheck], services: Sequence[ServiceConfig],
                 timezone: str = "Europe/Amsterdam") -> None:
        self.timezone = timezone  # how people read its times (the status page)
        self.checks: dict[str, EffectiveCheck] = {c.name: c for c in checks}
        self.services: dict[str, ServiceConfig] = {s.name: s for s in services}
        self.snapshots: dict[str, CheckSnapshot] = {
            c.name: CheckSnapshot.initial(c.name) for c in checks
        }
        # each check's last probe, as the API shows it. Kept as its two parts, not the
        # outcome: an outcome also holds the snapshot before it, and every object kept
        # from one probe to the next is one more for each full GC pass to walk
        self._last_at: dict[str, datetime] = {}
        self._last_result: dict[str, ProbeResult] = {}
        self._down_since: dict[str, datetime] = {}
        self._down_checks: set[str] = set()
        self._maintenance: dict[str, set[str]] = {}
        self.record: RecordHealth | None = None

    # --- reading -------------------------------------------------------------------

    def last(self, check: str) -> LastProbe | None:
        """When `check` was last probed and what that probe found (None: not yet)."""
        result = self._last_result.get(check)
        return None if result is None else LastProbe(self._last_at[check], result)

    def services_of(self, check: str) -> list[str]:
        return [s for s, cfg in self.services.items() if check in cfg.checks]

    def service_down_since(self, service: str) -> datetime | None:
        return self._down_since.get(service)

    def down_checks(self, service: str) -> list[str]:
        return [c for c in self.services[service].checks if c in self._down_checks]

    def in_maintenance(self, service: str) -> bool:
        return bool(self._maintenance.get(service))

    # --- the stream ----------------------------------------------------------------

    def consume(self, c: Committed) -> None:
        if c.probe is not None:
            o = c.probe
            name = o.check.name
            self.snapshots[name] = o.after
            self._last_at[name] = o.at
            self._last_result[name] = o.result
        for ev in c.events:
            if isinstance(ev, Resumed):
                self._resume(ev.snapshots, ev.open_services)
            elif isinstance(ev, DowntimeOpened):
                self._down_checks.add(ev.check)
            elif isinstance(ev, DowntimeClosed):
                self._down_checks.discard(ev.check)
            elif isinstance(ev, ServiceDowntimeOpened):
                current = self._down_since.get(ev.service)
                self._down_since[ev.service] = min(current, ev.start) if current else ev.start
            elif isinstance(ev, ServiceDowntimeClosed):
                self._down_since.pop(ev.service, None)
            elif isinstance(ev, MaintenanceStarted):
                self._maintenance.setdefault(ev.service, set()).add(ev.key)
            elif isinstance(ev, MaintenanceEnded):
                self._maintenance.get(ev.service, set()).discard(ev.key)
            elif isinstance(ev, Reconfigured):
                self.checks = {ch.name: ch for ch in ev.checks}
                self.services = {s.name: s for s in ev.services}
                self.snapshots = {
                    n: (None if n in ev.removed else self.snapshots.get(n))
                    or CheckSnapshot.initial(n) for n in self.checks}
                for n in ev.removed:
                    self._last_at.pop(n, None)
                    self._last_result.pop(n, None)
                    self._down_checks.discard(n)
                self._down_since = {s: t for s, t in self._down_since.items() if s in self.services}
            elif isinstance(ev, RecordHealth):
                self.record = ev

    def _resume(self, snapshots: Mapping[str, CheckSnapshot],
                open_services: Mapping[str, datetime]) -> None:
        for name, snap in snapshots.items():
            if name in self.snapshots:
                self.snapshots[name] = snap
                if snap.state is CheckState.DOWN:
                    self._down_checks.add(name)
        self._down_since.update(open_services)
