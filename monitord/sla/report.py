"""The SLA report per service and period: every figure an SLA manager checks.

Why so much in one record: a service-credit dispute needs the figure, the
inputs it was computed from (each interval with its reason and whether it
counted), the policy version applied, and a timeline the HTML report draws.
Exact values (fractions of microseconds, config decimals) are kept; floats
appear only in `render.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from monitord.core.intervals import Interval, union
from monitord.sla.availability import (
    Downtime,
    Figures,
    Gap,
    Segment,
    State,
    figures,
    interruptions,
    segments,
)
from monitord.sla.config import PRIORITIES, SlaPolicy
from monitord.sla.credits import as_fraction, credit_percent, rounded
from monitord.sla.maintenance import MaintenanceOccurrence
from monitord.sla.periods import Period, month_starts

IntervalKind = Literal[
    "downtime", "downtime_not_counted", "maintenance", "maintenance_not_honoured", "unmonitored"
]


@dataclass(frozen=True, slots=True)
class ReportInterval:
    kind: IntervalKind
    start: datetime  # clipped to the period
    end: datetime
    seconds: float
    counted_seconds: float  # the part that counted against availability
    priority: str | None = None
    reason: str = ""
    reports: int = 1  # input intervals merged into this one (one problem counts once)
    users: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class TimelineBand:
    start: datetime
    end: datetime
    state: State


@dataclass(frozen=True, slots=True)
class ScopeFigures:
    """Figures for the time outside the calendar's hours (Infravision: 95 % outside)."""

    measured_seconds: float
    maintenance_seconds: float
    downtime_seconds: float
    unmonitored_seconds: float
    availability: Fraction
    target_percent: Decimal
    met: bool


@dataclass(frozen=True, slots=True)
class MonthFigures:
    start: datetime
    end: datetime
    measured_seconds: float
    downtime_seconds: float
    availability: Fraction


@dataclass(frozen=True, slots=True)
class Report:
    service: str
    policy: str
    policy_version: str
    period_kind: str
    period_label: str
    period_start: datetime
    period_end: datetime
    as_of: datetime  # min(now, period_end): later time is pending
    period_seconds: float
    calendar: str
    maintenance_treatment: str
    unmonitored_treatment: str
    measured_seconds: float
    maintenance_seconds: float
    downtime_seconds: float  # counted, user-weighted when the policy weighs
    downtime_by_priority: dict[str, float]  # all priorities, outside maintenance
    downtime_user_seconds: float | None
    unmonitored_seconds: float
    availability: Fraction  # exact percent
    availability_decided: Fraction  # after the policy's rounding: what targets and credits use
    target_percent: Decimal
    availability_met: bool
    error_budget_seconds: float  # allowed unavailability over the whole period minus used; < 0 = overrun
    interruptions: int
    max_interruptions: int | None
    interruptions_met: bool
    met: bool
    credit_percent: Fraction
    outside_hours: ScopeFigures | None
    months: tuple[MonthFigures, ...]
    intervals: tuple[ReportInterval, ...]
    timeline: tuple[TimelineBand, ...]

    @property
    def complete(self) -> bool:
        return self.as_of >= self.period_end


def _s(us: int | Fraction) -> float:
    """Microseconds -> seconds, rounded to the microsecond."""
    return round(float(Fraction(us) / 1_000_000), 6)


def build_report(
    *,
    service: str,
    policy: SlaPolicy,
    period: Period,
    now: datetime,
    downtimes: Sequence[Downtime],
    gaps: Sequence[Gap],
    maintenance: Sequence[MaintenanceOccurrence],
    in_hours: Sequence[Interval],
) -> Report:
    """Compute one report; `in_hours` is the calendar's time in the period ([period] for 24x7)."""
    months = month_starts(period, policy.timezone)
    segs = segments(
        policy=policy,
        period=period.interval,
        now=now,
        in_hours=in_hours,
        outside_measured=policy.outside_target_percent is not None,
        maintenance=[o.interval for o in maintenance if o.honoured],
        downtimes=downtimes,
        gaps=gaps,
        extra_cuts=[m.start for m in months],
    )
    main = figures(segs, policy, "in", period.start, period.end)
    decided = rounded(main.availability, policy.rounding)
    target = as_fraction(policy.target_percent)
    availability_met = decided >= target
    outside = _outside(segs, policy, period)
    count = interruptions(segs, downtimes, policy)
    interruptions_met = policy.max_interruptions is None or count <= policy.max_interruptions
    budget = Fraction(main.planned_measured_us) * (100 - target) / 100 - main.unavailable_us
    total_users = policy.weighting.total_users if policy.weighting else None
    as_of = min(max(now, period.start), period.end)
    return Report(
        service=service,
        policy=policy.name,
        policy_version=policy.version,
        period_kind=period.kind,
        period_label=period.label,
        period_start=period.start,
        period_end=period.end,
        as_of=as_of,
        period_seconds=period.seconds,
        calendar=policy.calendar,
        maintenance_treatment=policy.maintenance,
        unmonitored_treatment=policy.unmonitored,
        measured_seconds=_s(main.measured_us),
        maintenance_seconds=_s(main.maintenance_us),
        downtime_seconds=_s(main.weighted_down_us),
        downtime_by_priority={p: _s(main.by_priority_us.get(p, 0)) for p in PRIORITIES},
        downtime_user_seconds=None if total_users is None else _s(main.weighted_down_us * total_users),
        unmonitored_seconds=_s(main.unmonitored_us),
        availability=main.availability,
        availability_decided=decided,
        target_percent=policy.target_percent,
        availability_met=availability_met,
        error_budget_seconds=_s(budget),
        interruptions=count,
        max_interruptions=policy.max_interruptions,
        interruptions_met=interruptions_met,
        met=availability_met and interruptions_met and (outside is None or outside.met),
        credit_percent=credit_percent(decided, policy.credits),
        outside_hours=outside,
        months=tuple(_month(segs, policy, m) for m in months) if len(months) > 1 else (),
        intervals=tuple(_intervals(segs, policy, period, as_of, downtimes, gaps, maintenance)),
        timeline=tuple(_timeline(segs)),
    )


def _outside(segs: Sequence[Segment], policy: SlaPolicy, period: Period) -> ScopeFigures | None:
    if policy.outside_target_percent is None:
        return None
    f = figures(segs, policy, "out", period.start, period.end)
    decided = rounded(f.availability, policy.rounding)
    return ScopeFigures(
        measured_seconds=_s(f.measured_us),
        maintenance_seconds=_s(f.maintenance_us),
        downtime_seconds=_s(f.weighted_down_us),
        unmonitored_seconds=_s(f.unmonitored_us),
        availability=f.availability,
        target_percent=policy.outside_target_percent,
        met=decided >= as_fraction(policy.outside_target_percent),
    )


def _month(segs: Sequence[Segment], policy: SlaPolicy, month: Interval) -> MonthFigures:
    f: Figures = figures(segs, policy, "in", month.start, month.end)
    return MonthFigures(
        month.start, month.end, _s(f.measured_us), _s(f.weighted_down_us), f.availability
    )


def _counted_us(segs: Sequence[Segment], iv: Interval) -> int:
    return sum(
        s.us
        for s in segs
        if s.start >= iv.start
        and s.end <= iv.end
        and s.down_weight
        and s.scope is not None
        and not s.maintenance
        and not s.pending
    )


def _intervals(
    segs: Sequence[Segment],
    policy: SlaPolicy,
    period: Period,
    as_of: datetime,
    downtimes: Sequence[Downtime],
    gaps: Sequence[Gap],
    maintenance: Sequence[MaintenanceOccurrence],
) -> list[ReportInterval]:
    out: list[ReportInterval] = []
    counted = [d for d in downtimes if policy.counts(d.priority)]
    for problem in union(d.interval for d in counted):
        clipped = problem.clip(period.start, as_of)
        if clipped is None:
            continue
        members = [d for d in counted if d.start < problem.end and d.end > problem.start]
        members = members or [d for d in counted if d.start == problem.start]
        reasons = list(dict.fromkeys(d.reason for d in members if d.reason))
        users = [d.users for d in members]
        out.append(
            ReportInterval(
                kind="downtime",
                start=clipped.start,
                end=clipped.end,
                seconds=_s(_us(clipped)),
                counted_seconds=_s(_counted_us(segs, clipped)),
                priority=min(d.priority for d in members),
                reason="; ".join(reasons),
                reports=len(members),
                users=None if None in users else max(u for u in users if u is not None),
            )
        )
    for d in downtimes:
        clipped = d.interval.clip(period.start, as_of)
        if clipped is None or policy.counts(d.priority):
            continue
        out.append(
            ReportInterval(
                kind="downtime_not_counted",
                start=clipped.start,
                end=clipped.end,
                seconds=_s(_us(clipped)),
                counted_seconds=0.0,
                priority=d.priority,
                reason=d.reason,
                users=d.users,
                note=f"{d.priority} does not count under policy {policy.name!r}",
            )
        )
    for o in maintenance:
        out.append(
            ReportInterval(
                kind="maintenance" if o.honoured else "maintenance_not_honoured",
                start=o.interval.start,
                end=o.interval.end,
                seconds=_s(_us(o.interval)),
                counted_seconds=0.0,
                reason=f"{o.window} ({o.kind})",
                note=o.note,
            )
        )
    for g in union(g.interval for g in gaps):
        clipped = g.clip(period.start, as_of)
        if clipped is None:
            continue
        causes = list(dict.fromkeys(x.cause for x in gaps if x.start < g.end and x.end > g.start))
        out.append(
            ReportInterval(
                kind="unmonitored",
                start=clipped.start,
                end=clipped.end,
                seconds=_s(_us(clipped)),
                counted_seconds=0.0,
                reason="; ".join(causes),
                note=f"counted as {policy.unmonitored}",
            )
        )
    return sorted(out, key=lambda r: (r.start, r.end, r.kind))


def _us(iv: Interval) -> int:
    return iv.duration // timedelta(microseconds=1)


def _timeline(segs: Sequence[Segment]) -> list[TimelineBand]:
    out: list[TimelineBand] = []
    for s in segs:
        state = s.state
        if out and out[-1].state == state and out[-1].end == s.start:
            out[-1] = TimelineBand(out[-1].start, s.end, state)
        else:
            out.append(TimelineBand(s.start, s.end, state))
    return out
