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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from monitord.config.models import Config, ServiceConfig
from monitord.errors import SlaError
from monitord.sla.availability import Downtime, Gap
from monitord.sla.batch import Batch
from monitord.sla.config import OneOffWindow, SlaPolicy
from monitord.sla.engine import Job, SlaSetup, compute, period_for, with_windows
from monitord.sla.periods import Period
from monitord.sla.report import Report
from monitord.sla.review import ReviewFold, fold
from monitord.sla.windows import as_window
from monitord.storage.interface import FleetRecordReader, StoreReader
from monitord.storage.records import DowntimeRecord, MaintenanceRecord, ReviewRecord, RunRecord


def setup_from(config: Config) -> SlaSetup:
    return SlaSetup.of(
        config.sla_policies, config.calendars, config.maintenance, config.services,
        service_checks={s.name: tuple(s.checks) for s in config.services},
    )


def _downtime(r: DowntimeRecord, now: datetime, priority: str = "P1") -> Downtime:
    """A recorded service interval for the engine (evidence kept); open ones run to `now`."""
    return Downtime(
        r.start, max(r.start, r.end or now), priority, None, r.reason, f"store:{r.id}",
        "", (("evidence", r.detail),) if r.detail else (),
    )


@dataclass(frozen=True, slots=True)
class Shared:
    """What every service's report needs from the store, read once."""

    gaps: list[Gap]  # recorded gaps and the ones the runs imply
    windows: list[OneOffWindow]  # stored maintenance windows
    reach: datetime  # how far the record goes: `now`, or a running daemon's last sign of life
    reviews: dict[str, ReviewFold]  # each service's incident review, folded


def coverage_gaps(runs: Sequence[RunRecord], since: datetime, now: datetime, *, live: bool
                  ) -> tuple[list[Gap], datetime]:
    """Unwatched time the runs imply, and how far the record reaches (issue 12).

    Gaps between runs are recorded when the next run starts; what no gap row
    says is the time before the first start, and after a clean stop until
    `now`. A daemon that has not stopped is live to `now` when it is the one
    asking (`live`); asked by another process (`monitord report`) the record
    only reaches its last heartbeat, and later time is not yet known.
    """
    if not runs:
        return ([Gap(since, now, "never_monitored")] if since < now else []), now
    gaps: list[Gap] = []
    first = runs[0].start
    if since < first:
        gaps.append(Gap(since, first, "before_first_start"))
    last = runs[-1]
    reach = now
    if last.stopped is not None:
        stopped = max(last.last_seen, last.stopped)
        if stopped < now:
            gaps.append(Gap(stopped, now, "not_running"))
    elif not live:
        reach = max(min(now, last.last_seen), first)
    return gaps, reach


async def shared_inputs(
    store: StoreReader,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    service: str | None = None,
    live: bool,
) -> Shared:
    gap_records = await store.gaps(since=since, until=max(since, min(until, now)))
    windows = await store.maintenance_windows(service=service, since=since, until=until)
    implied: list[Gap]
    if isinstance(store, FleetRecordReader):
        # a fleet's judged record says what was watched itself: each subject's UNKNOWN
        # stretches (fewer than K locations fresh, before the agents started included)
        implied, reach = [], now
    else:
        implied, reach = coverage_gaps(await store.runs(), since, now, live=live)
    entries: dict[str, list[ReviewRecord]] = {}
    for rec in await store.reviews(service=service):
        entries.setdefault(rec.service, []).append(rec)
    return Shared(
        [*(Gap(g.start, g.end, g.cause) for g in gap_records), *implied],
        [as_window(w) for w in windows],
        reach,
        {name: fold(recs) for name, recs in entries.items()},
    )


async def judged_gaps(store: StoreReader, service: str, since: datetime, until: datetime
                      ) -> list[Gap]:
    """In a fleet, the stretches the service was judged UNKNOWN (fewer than K locations
    fresh): unmonitored for it alone. Nothing outside a fleet."""
    if not isinstance(store, FleetRecordReader):
        return []
    return [Gap(g.start, g.end, g.cause)
            for g in await store.subject_gaps("service", service, since=since, until=until)]


async def gather(
    store: StoreReader, service: str, since: datetime, until: datetime, now: datetime,
    *, live: bool = True, priority: str = "P1",
) -> tuple[list[Downtime], Shared]:
    """Service intervals overlapping [since, until) and the shared inputs; open intervals run to `now`."""
    shared = await shared_inputs(store, since, until, now, service=service, live=live)
    records = await store.downtimes(level="service", name=service, since=since, until=until)
    own = await judged_gaps(store, service, since, until)
    if own:
        shared = replace(shared, gaps=[*shared.gaps, *own])
    return [_downtime(r, shared.reach, priority) for r in records], shared


async def with_checks(
    store: StoreReader, setup: SlaSetup, service: str, downs: list[Downtime],
    since: datetime, until: datetime, now: datetime,
) -> list[Downtime]:
    """Each service interval with the checks that were down during it (the incident table)."""
    checks = setup.service_checks.get(service)
    if not checks or not downs:
        return downs
    records = [r for r in await store.downtimes(level="check", since=since, until=until)
               if r.name in checks]
    out = []
    for d in downs:
        names = sorted({r.name for r in records if r.start < d.end and (r.end or now) > d.start})
        out.append(d._replace(extra=(*d.extra, ("checks", ", ".join(names)))) if names else d)
    return out


async def report_from_store(
    setup: SlaSetup, store: StoreReader, service: str, policy: SlaPolicy, period: Period,
    now: datetime, *, live: bool = True,
) -> Report:
    """The engine's report over what the store recorded; the sweep runs in a worker thread."""
    downs, shared = await gather(
        store, service, period.start, period.end, now, live=live,
        priority=setup.default_priority(service),
    )
    downs = await with_checks(store, setup, service, downs, period.start, period.end, shared.reach)
    merged = with_windows(setup, shared.windows)
    return await asyncio.to_thread(
        compute,
        merged,
        service=service,
        policy=policy,
        period=period,
        now=shared.reach,
        downtimes=downs,
        gaps=shared.gaps,
        review=shared.reviews.get(service),
    )


async def reports_from_store(
    setup: SlaSetup, store: StoreReader, jobs: Sequence[Job], now: datetime, *, live: bool
) -> list[Report]:
    """Reports for many services through one Batch: gaps, windows and runs are read once."""
    if not jobs:
        return []
    since = min(period.start for _, _, period in jobs)
    until = max(period.end for _, _, period in jobs)
    shared = await shared_inputs(store, since, until, now, live=live)
    batch = Batch(with_windows(setup, shared.windows), shared.reach)
    out = []
    for service, policy, period in jobs:
        records = await store.downtimes(
            level="service", name=service, since=period.start, until=period.end
        )
        downs = [_downtime(r, shared.reach, setup.default_priority(service)) for r in records]
        downs = await with_checks(
            store, setup, service, downs, period.start, period.end, shared.reach
        )
        out.append(
            batch.report(
                service=service,
                policy=policy,
                period=period,
                downtimes=downs,
                gaps=[*shared.gaps,
                      *await judged_gaps(store, service, period.start, period.end)],
                review=shared.reviews.get(service),
            )
        )
    return out


@dataclass
class FleetInputs:
    """What a fleet's reports are computed from: one setup, each service's intervals, the gaps."""

    setup: SlaSetup  # configured plus stored windows
    downtimes: dict[str, list[Downtime]]
    gaps: list[Gap]
    reach: datetime  # compute as of this instant
    reviews: dict[str, ReviewFold]
    judged_gaps: dict[str, list[Gap]] = field(default_factory=dict)  # a fleet's, per service

    def gaps_of(self, service: str) -> list[Gap]:
        return [*self.gaps, *self.judged_gaps.get(service, ())]


async def fleet_inputs(
    setup: SlaSetup, store: StoreReader, services: Sequence[str], since: datetime, now: datetime,
    *, live: bool = True,
) -> FleetInputs:
    """Read per service, one small query each: a fleet's rows never land on the loop at once."""
    shared = await shared_inputs(store, since, now, now, live=live)
    downs: dict[str, list[Downtime]] = {}
    judged: dict[str, list[Gap]] = {}
    for service in services:
        records = await store.downtimes(level="service", name=service, since=since, until=now)
        priority = setup.default_priority(service)
        downs[service] = [_downtime(r, shared.reach, priority) for r in records]
        judged[service] = await judged_gaps(store, service, since, now)
    return FleetInputs(
        with_windows(setup, shared.windows), downs, shared.gaps, shared.reach, shared.reviews,
        judged,
    )


class SlaRuntime:
    """Configured SLA setup plus what the store recorded, for reports: read only."""

    def __init__(self, config: Config, store: StoreReader, *, live: bool = True) -> None:
        self.setup = setup_from(config)
        self.services: dict[str, ServiceConfig] = {s.name: s for s in config.services}
        self._store = store
        self._live = live  # the daemon itself asks: its own run is watching up to now

    def reconfigure(self, config: Config) -> None:
        """A config reload: other policies, calendars, services."""
        self.setup = setup_from(config)
        self.services = {s.name: s for s in config.services}

    # --- maintenance windows (written through the pipeline, read here) ---------

    async def intervals(self, service: str) -> list[DowntimeRecord]:
        """The service's recorded intervals (what a review may name)."""
        return await self._store.downtimes(level="service", name=service)

    async def reviews(self, service: str | None = None) -> list[ReviewRecord]:
        return await self._store.reviews(service=service)

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
        return await report_from_store(
            self.setup, self._store, service, policy, period, now, live=self._live
        )

    async def fleet_inputs(
        self, services: Sequence[str], since: datetime, now: datetime
    ) -> FleetInputs:
        return await fleet_inputs(self.setup, self._store, services, since, now, live=self._live)

    async def reports(self, jobs: Sequence[Job], now: datetime) -> list[Report]:
        """Many services' reports (the bulk form): read per service, computed in one worker thread."""
        if not jobs:
            return []
        since = min(period.start for _, _, period in jobs)
        inputs = await self.fleet_inputs(list(dict.fromkeys(j[0] for j in jobs)), since, now)

        def compute_all() -> list[Report]:
            batch = Batch(inputs.setup, inputs.reach)
            return [
                batch.report(
                    service=service, policy=policy, period=period,
                    downtimes=inputs.downtimes.get(service, []), gaps=inputs.gaps_of(service),
                    review=inputs.reviews.get(service),
                )
                for service, policy, period in jobs
            ]

        return await asyncio.to_thread(compute_all)
