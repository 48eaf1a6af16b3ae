"""The SLA engine inside the running daemon: stored maintenance windows, reports, suppression.

Why one object: the API, the alert sinks (through `in_maintenance`), the
Prometheus gauges and `monitord report` must judge the same windows and
intervals the same way. This module only gathers inputs (the store's service
intervals, gaps and one-off windows) and hands them to `monitord.sla.engine`;
no figure is computed here.

Stored windows are cached in memory because `in_maintenance(service, t)` is
asked synchronously by the alert sinks; every add or delete through this
object reloads the cache, so suppression follows the API at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from monitord.config.models import Config, ServiceConfig
from monitord.errors import SlaError
from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import MaintenanceConfig, OneOffWindow, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, period_for, with_windows
from monitord.sla.maintenance import in_maintenance
from monitord.sla.periods import Period
from monitord.sla.report import Report
from monitord.storage.base import MaintenanceRecord, Store


def setup_from(config: Config) -> SlaSetup:
    return SlaSetup(
        policies={p.name: p for p in config.sla_policies},
        calendars={c.name: c for c in config.calendars},
        maintenance=config.maintenance,
    )


def as_window(rec: MaintenanceRecord) -> OneOffWindow:
    """A stored window in the engine's vocabulary (named `api-<id>` in reports)."""
    return OneOffWindow.model_validate(
        {
            "name": f"api-{rec.id}",
            "kind": rec.kind,
            "services": [rec.service],
            "start": rec.start,
            "end": rec.end,
            "announced_at": rec.announced_at,
            "reason": rec.reason,
        }
    )


async def gather(
    store: Store, service: str, since: datetime, until: datetime, now: datetime
) -> tuple[list[Downtime], list[Gap], list[OneOffWindow]]:
    """Service intervals, gaps and stored windows overlapping [since, until); open intervals run to `now`."""
    records = await store.downtimes(level="service", name=service, since=since, until=until)
    gap_records = await store.gaps(since=since, until=until)
    windows = await store.maintenance_windows(service=service, since=since, until=until)
    downs = [
        Downtime(r.start, max(r.start, r.end or now), "P1", None, r.reason, f"store:{r.id}")
        for r in records
    ]
    gaps = [Gap(g.start, g.end, g.cause) for g in gap_records]
    return downs, gaps, [as_window(w) for w in windows]


async def report_from_store(
    setup: SlaSetup, store: Store, service: str, policy: SlaPolicy, period: Period, now: datetime
) -> Report:
    """The engine's report over what the store recorded; the sweep runs in a worker thread."""
    downs, gaps, windows = await gather(store, service, period.start, period.end, now)
    merged = with_windows(setup, windows)
    return await asyncio.to_thread(
        compute,
        merged,
        service=service,
        policy=policy,
        period=period,
        now=now,
        downtimes=downs,
        gaps=gaps,
    )


class SlaRuntime:
    """Configured SLA setup plus the store's one-off windows, for one daemon."""

    def __init__(self, config: Config, store: Store) -> None:
        self.setup = setup_from(config)
        self.services: dict[str, ServiceConfig] = {s.name: s for s in config.services}
        self._store = store
        self._maintenance: MaintenanceConfig = config.maintenance
        # called after every add or delete (the Announcer looks for a start or end at once)
        self.on_windows_changed: Callable[[], None] = lambda: None

    # --- maintenance windows ---------------------------------------------------

    async def load(self) -> None:
        """(Re)read the stored windows into the cache `in_maintenance` answers from."""
        self._cache(await self._store.maintenance_windows())

    def _cache(self, records: Sequence[MaintenanceRecord]) -> None:
        self._maintenance = with_windows(self.setup, [as_window(r) for r in records]).maintenance

    def maintenance_config(self) -> MaintenanceConfig:
        """Configured plus stored windows, as `in_maintenance` judges them."""
        return self._maintenance

    def in_maintenance(self, service: str, t: datetime) -> bool:
        """The alert sinks' hook: configured and stored windows, announced by `t`."""
        return in_maintenance(self._maintenance, service, t)

    async def add_window(
        self,
        *,
        service: str,
        start: datetime,
        end: datetime,
        kind: str,
        announced_at: datetime,
        reason: str,
        now: datetime,
    ) -> MaintenanceRecord:
        rec = await self._store.add_maintenance(
            service=service,
            start=start,
            end=end,
            kind=kind,
            announced_at=announced_at,
            reason=reason,
            now=now,
        )
        await self.load()
        self.on_windows_changed()
        return rec

    async def delete_window(self, window_id: int, now: datetime) -> MaintenanceRecord | None:
        rec = await self._store.delete_maintenance(window_id, now)
        await self.load()
        self.on_windows_changed()
        return rec

    async def windows(
        self, service: str | None = None, *, include_deleted: bool = False
    ) -> list[MaintenanceRecord]:
        return await self._store.maintenance_windows(
            service=service, include_deleted=include_deleted
        )

    # --- reports -----------------------------------------------------------------

    def policy_of(self, service: str) -> SlaPolicy:
        svc = self.services.get(service)
        if svc is None:
            known = ", ".join(self.services) or "none configured"
            raise SlaError(f"unknown service {service!r} (known: {known})")
        if svc.sla_policy is None:
            raise SlaError(f"service {service!r} has no sla_policy: set one in the config")
        return self.setup.policy(svc.sla_policy)

    def period(self, policy: SlaPolicy, spec: str | None, now: datetime) -> Period:
        """`spec` (YYYY-MM or YYYY), or the period containing `now` in the policy's zone."""
        if spec is None:
            spec = now.astimezone(ZoneInfo(policy.timezone)).strftime("%Y-%m")
        return period_for(policy, spec)

    async def report(self, service: str, policy: SlaPolicy, period: Period, now: datetime) -> Report:
        return await report_from_store(self.setup, self._store, service, policy, period, now)
