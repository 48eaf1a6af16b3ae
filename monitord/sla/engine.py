"""Glue from configuration to a report: policy, period, calendar and maintenance resolved.

Why a separate step: the engine takes only intervals, so the API,
Prometheus gauges and the CLI all call `compute` (one service) or a
`Batch` (many, sharing the calendar and maintenance work) with their own
sources (the store, a ticketing export) and get the same figures.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from monitord.errors import SlaError
from monitord.sla.assemble import ReportInputs, assemble
from monitord.sla.availability import Downtime, Gap
from monitord.sla.batch import Batch
from monitord.sla.calendars import TWENTY_FOUR_SEVEN, calendar_intervals
from monitord.sla.caps import apply_cap
from monitord.sla.config import CalendarConfig, MaintenanceConfig, OneOffWindow, SlaPolicy
from monitord.sla.maintenance import maintenance_for
from monitord.sla.periods import Period, month_starts, resolve_period
from monitord.sla.reference import measure_reference
from monitord.sla.report import Report
from monitord.sla.review import ReviewFold


class ServiceTerms(Protocol):
    """A configured service as far as its reports care (the daemon's or the offline loader's)."""

    @property
    def name(self) -> str: ...

    @property
    def customer(self) -> str: ...

    @property
    def default_priority(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SlaSetup:
    """The SLA part of a Config, detached so pure code need not import the daemon's models."""

    policies: dict[str, SlaPolicy]
    calendars: dict[str, CalendarConfig] = field(default_factory=dict)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)
    customers: dict[str, str] = field(default_factory=dict)  # service -> customer name
    default_priorities: dict[str, str] = field(default_factory=dict)  # service -> P1..P4
    service_checks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # for incident rows

    @classmethod
    def of(
        cls,
        policies: Iterable[SlaPolicy],
        calendars: Iterable[CalendarConfig],
        maintenance: MaintenanceConfig,
        services: Sequence[ServiceTerms],
        service_checks: dict[str, tuple[str, ...]] | None = None,
    ) -> SlaSetup:
        """From the config's sections, keyed by name."""
        return cls(
            policies={p.name: p for p in policies},
            calendars={c.name: c for c in calendars},
            maintenance=maintenance,
            customers={s.name: s.customer for s in services if s.customer},
            default_priorities={s.name: s.default_priority for s in services},
            service_checks=service_checks or {},
        )

    def default_priority(self, service: str) -> str:
        """Priority of a service's recorded downtime until a review says otherwise."""
        return self.default_priorities.get(service, "P1")

    def policy(self, name: str) -> SlaPolicy:
        try:
            return self.policies[name]
        except KeyError:
            known = ", ".join(sorted(self.policies)) or "none are configured"
            raise SlaError(f"unknown SLA policy {name!r} (known: {known})") from None

    def calendar(self, policy: SlaPolicy) -> CalendarConfig | None:
        if policy.calendar == TWENTY_FOUR_SEVEN:
            return None
        try:
            return self.calendars[policy.calendar]
        except KeyError:
            raise SlaError(
                f"policy {policy.name!r} names calendar {policy.calendar!r}, which is not configured"
            ) from None


def with_windows(setup: SlaSetup, windows: Sequence[OneOffWindow]) -> SlaSetup:
    """`setup` with one-off windows added to the configured ones (those stored via the API).

    Merged here, once, so reports, alert suppression and the gauges judge a
    stored window exactly like a configured one (kind, notice, services).
    """
    if not windows:
        return setup
    merged = MaintenanceConfig(
        recurring=setup.maintenance.recurring, windows=[*setup.maintenance.windows, *windows]
    )
    return dataclasses.replace(setup, maintenance=merged)


def period_for(policy: SlaPolicy, spec: str) -> Period:
    return resolve_period(
        policy.period, spec, timezone=policy.timezone, contract_start=policy.contract_start
    )


def compute(
    setup: SlaSetup,
    *,
    service: str,
    policy: SlaPolicy,
    period: Period,
    now: datetime,
    downtimes: Sequence[Downtime],
    gaps: Sequence[Gap] = (),
    review: ReviewFold | None = None,
) -> Report:
    """The report for `service` under `policy`; `now` bounds what has happened yet."""
    return Batch(setup, now).report(
        service=service, policy=policy, period=period, downtimes=downtimes, gaps=gaps,
        review=review,
    )


def compute_reference(
    setup: SlaSetup,
    *,
    service: str,
    policy: SlaPolicy,
    period: Period,
    now: datetime,
    downtimes: Sequence[Downtime],
    gaps: Sequence[Gap] = (),
) -> Report:
    """`compute` by the straightforward sweep (`reference.py`): for tests and the bench."""
    if now.tzinfo is None:
        raise SlaError("now must be timezone-aware")
    months = month_starts(period, policy.timezone)
    maintenance, beyond = apply_cap(
        maintenance_for(setup.maintenance, policy, service, period.interval), months, policy
    )
    downtimes = [*downtimes, *beyond]
    measurement = measure_reference(
        policy=policy,
        period=period.interval,
        now=now,
        months=months,
        in_hours=calendar_intervals(setup.calendar(policy), period.interval),
        maintenance=[o.interval for o in maintenance if o.honoured],
        downtimes=downtimes,
        gaps=gaps,
    )
    inputs = ReportInputs(
        policy, period, period.as_of(now), measurement, downtimes, gaps, maintenance
    )
    return assemble(inputs, service=service, customer=setup.customers.get(service, ""))


Job = tuple[str, SlaPolicy, Period]


def group_by_service(
    downtimes: Iterable[tuple[str, Downtime]], gaps: Iterable[tuple[str | None, Gap]]
) -> tuple[dict[str, list[Downtime]], dict[str, list[tuple[int, Gap]]], list[tuple[int, Gap]]]:
    """Intervals per service in one pass, input order kept (gaps numbered, to merge in order)."""
    downs: dict[str, list[Downtime]] = {}
    for name, d in downtimes:
        downs.setdefault(name, []).append(d)
    own: dict[str, list[tuple[int, Gap]]] = {}
    shared: list[tuple[int, Gap]] = []
    for i, (where, g) in enumerate(gaps):
        if where is None:
            shared.append((i, g))
        else:
            own.setdefault(where, []).append((i, g))
    return downs, own, shared


def compute_many(
    setup: SlaSetup,
    jobs: Iterable[Job],
    *,
    now: datetime,
    downtimes: Iterable[tuple[str, Downtime]],
    gaps: Iterable[tuple[str | None, Gap]] = (),
    reviews: Mapping[str, ReviewFold] | None = None,
) -> Iterator[Report]:
    """One report per job, in order, each equal to its `compute` report; yields as it goes.

    `downtimes` and `gaps` name their service (a gap with None applies to
    every service). Intervals are grouped once; calendars, window
    occurrences and quiet-time sums are shared through one `Batch`.
    """
    downs, own_gaps, shared = group_by_service(downtimes, gaps)
    shared_gaps = [g for _, g in shared]
    batch = Batch(setup, now)
    for service, policy, period in jobs:
        mine = own_gaps.get(service)
        yield batch.report(
            service=service,
            policy=policy,
            period=period,
            downtimes=downs.get(service, []),
            gaps=[g for _, g in heapq.merge(shared, mine, key=lambda x: x[0])] if mine else shared_gaps,
            review=(reviews or {}).get(service),
        )
