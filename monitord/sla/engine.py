"""Glue from configuration to a report: policy, period, calendar and maintenance resolved.

Why a separate step: `report.build_report` takes only intervals, so the API,
Prometheus gauges and the CLI all call `compute` with their own sources
(the store, a ticketing export) and get the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitord.errors import SlaError
from monitord.sla.availability import Downtime, Gap
from monitord.sla.calendars import TWENTY_FOUR_SEVEN, calendar_intervals
from monitord.sla.config import CalendarConfig, MaintenanceConfig, OneOffWindow, SlaPolicy
from monitord.sla.maintenance import maintenance_for
from monitord.sla.periods import Period, resolve_period
from monitord.sla.report import Report, build_report


@dataclass(frozen=True, slots=True)
class SlaSetup:
    """The SLA part of a Config, detached so pure code need not import the daemon's models."""

    policies: dict[str, SlaPolicy]
    calendars: dict[str, CalendarConfig] = field(default_factory=dict)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)

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
    return SlaSetup(policies=setup.policies, calendars=setup.calendars, maintenance=merged)


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
) -> Report:
    """The report for `service` under `policy`; `now` bounds what has happened yet."""
    if now.tzinfo is None:
        raise SlaError("now must be timezone-aware")
    return build_report(
        service=service,
        policy=policy,
        period=period,
        now=now,
        downtimes=downtimes,
        gaps=gaps,
        maintenance=maintenance_for(setup.maintenance, policy, service, period.interval),
        in_hours=calendar_intervals(setup.calendar(policy), period.interval),
    )
