"""The SLA engine inside the running daemon: reports over what the store recorded.

Why one object: the API, the Prometheus gauges and `monitord report` must
judge the same windows and intervals the same way. This module only gathers
inputs (the store's service intervals, gaps and one-off windows) and hands
them to `monitord.sla.engine`; no figure is computed here. Windows are
written through the pipeline (the one writer), which also runs the
maintenance calendar that suppresses alerts.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from monitord.config.models import Config, ServiceConfig
from monitord.errors import SlaError
from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import OneOffWindow, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, period_for, with_windows
from monitord.sla.periods import Period
from monitord.sla.report import Report
from monitord.sla.windows import as_window
from monitord.storage.interface import FleetRecordReader, StoreReader
from monitord.storage.records import MaintenanceRecord


def setup_from(config: Config) -> SlaSetup:
    return SlaSetup(
        policies={p.name: p for p in config.sla_policies},
        calendars={c.name: c for c in config.calendars},
        maintenance=config.maintenance,
    )


async def gather(
    store: StoreReader, service: str, since: datetime, until: datetime, now: datetime
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
    if isinstance(store, FleetRecordReader):  # a fleet: stretches judged UNKNOWN for it
        gaps += [Gap(g.start, g.end, g.cause) for g in
                 await store.subject_gaps("service", service, since=since, until=until)]
    return downs, gaps, [as_window(w) for w in windows]


async def report_from_store(
    setup: SlaSetup, store: StoreReader, service: str, policy: SlaPolicy, period: Period, now: datetime
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
    """Configured SLA setup plus what the store recorded, for reports: read only."""

    def __init__(self, config: Config, store: StoreReader) -> None:
        self.setup = setup_from(config)
        self.services: dict[str, ServiceConfig] = {s.name: s for s in config.services}
        self._store = store

    def reconfigure(self, config: Config) -> None:
        """A config reload: other policies, calendars, services."""
        self.setup = setup_from(config)
        self.services = {s.name: s for s in config.services}

    # --- maintenance windows (written through the pipeline, read here) ---------

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
