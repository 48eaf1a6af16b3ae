"""Building a Report from an engine's Measurement: verdicts, review, incidents, and the detail.

Why separate from the figures: both engines (`sweep.py`, `reference.py`)
produce the same Measurement, and everything a report adds on top of it —
the verdict on unwatched time (`verdict.py`), restore times and incidents
(`incidents.py`), the review's effect (`review.py`), the interval list —
is computed here once for both.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from monitord.core.intervals import Interval
from monitord.sla import incidents as incident_table
from monitord.sla.availability import Downtime, Figures, Gap, Measurement, State
from monitord.sla.config import PRIORITIES, CalendarConfig, SlaPolicy
from monitord.sla.credits import as_fraction
from monitord.sla.incidents import Incident
from monitord.sla.maintenance import MaintenanceOccurrence
from monitord.sla.periods import Period
from monitord.sla.report import (
    MonthFigures,
    Report,
    ReportInterval,
    ScopeFigures,
    TimelineBand,
    _s,
    _seconds,
)
from monitord.sla.review import EXCLUDED_KIND, ReviewFold, grouped_interruptions
from monitord.sla.timebase import to_us, union_pairs
from monitord.sla.verdict import combine, interruptions_met, judge, target_of
from monitord.sla.verdict import credit as credit_of

_ONE_US = timedelta(microseconds=1)
Occurrences = Sequence[MaintenanceOccurrence] | Callable[[], Sequence[MaintenanceOccurrence]]


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """What one report is built from: an engine's measurement and the intervals behind it.

    `as_of` is `now` held inside the period; `downtimes` are as reviewed;
    `maintenance` may be a function, called only when the interval list is
    asked for; `rows` are maintenance rows shared by a fleet's reports;
    `calendar` is the restore clock's office hours.
    """

    policy: SlaPolicy
    period: Period
    as_of: datetime
    measurement: Measurement
    downtimes: Sequence[Downtime]
    gaps: Sequence[Gap]
    maintenance: Occurrences
    rows: dict[int, tuple[MaintenanceOccurrence, ReportInterval]] | None = None
    calendar: CalendarConfig | None = None
    review: ReviewFold | None = None


class ReportDetail:
    """The interval list and timeline of one report, built when first asked for.

    Why lazy: a fleet summary needs neither, and for a year of weekly
    maintenance windows they are most of a report's cost and size.
    """

    __slots__ = ("_bands", "_incidents", "_inputs", "_intervals", "_timeline")

    def __init__(self, inputs: ReportInputs) -> None:
        self._inputs = inputs
        self._incidents: tuple[Incident, ...] | None = None
        self._intervals: tuple[ReportInterval, ...] | None = None
        self._timeline: tuple[TimelineBand, ...] | None = None
        self._bands: Sequence[tuple[datetime, datetime, State]] | None = None

    @property
    def period(self) -> Period:
        return self._inputs.period

    @property
    def as_of(self) -> datetime:
        return self._inputs.as_of

    @property
    def downtimes(self) -> Sequence[Downtime]:
        return self._inputs.downtimes

    def intervals(self) -> tuple[ReportInterval, ...]:
        if self._intervals is None:
            self._intervals = tuple(self._build_intervals())
        return self._intervals

    def incidents(self) -> tuple[Incident, ...]:
        if self._incidents is None:
            inputs = self._inputs
            review = inputs.review
            self._incidents = tuple(incident_table.build(
                policy=inputs.policy,
                period=inputs.period.interval,
                as_of=inputs.as_of,
                downtimes=inputs.downtimes,
                counted_us=inputs.measurement.counted_us,
                weighted_us=inputs.measurement.weighted_us,
                calendar=inputs.calendar,
                groups=review.groups if review else (),
                notes=review.notes if review else None,
                tickets=review.tickets if review else None,
            ))
        return self._incidents

    def timeline(self) -> tuple[TimelineBand, ...]:
        if self._timeline is None:
            self._timeline = tuple(TimelineBand(*b) for b in self.timeline_rows())
        return self._timeline

    def timeline_rows(self) -> Sequence[tuple[datetime, datetime, State]]:
        """The timeline as (start, end, state) tuples: what a writer needs, without a band each."""
        if self._bands is None:
            self._bands = self._inputs.measurement.timeline()
        return self._bands

    def _build_intervals(self) -> list[ReportInterval]:
        inputs = self._inputs
        policy, period, as_of = inputs.policy, inputs.period, inputs.as_of
        downtimes, gaps = inputs.downtimes, inputs.gaps
        counted_us = inputs.measurement.counted_us
        weighted_us = inputs.measurement.weighted_us
        weighs = policy.weighting is not None
        out: list[ReportInterval] = []
        lo, hi = period.start, as_of
        counted = [d for d in downtimes if policy.counts(d.priority)]
        problems = union_pairs([(d.start, d.end) for d in counted])
        members_of: list[list[Downtime]] = [[] for _ in problems]
        starts = [p[0] for p in problems]
        for d in counted:
            i = bisect_right(starts, d.start) - 1
            if i >= 0 and d.start < problems[i][1] and d.end > problems[i][0]:
                members_of[i].append(d)
        for (ps, pe), members in zip(problems, members_of, strict=True):
            cs, ce = _clip(ps, pe, lo, hi)
            if not cs < ce:
                continue
            members = members or [d for d in counted if d.start == ps]
            if len(members) == 1:  # most problems: one recorded interval
                only = members[0]
                priority, reason, users = only.priority, only.reason, only.users
            else:
                priority = min(d.priority for d in members)
                reason = "; ".join(dict.fromkeys(d.reason for d in members if d.reason))
                each = [d.users for d in members]
                users = None if None in each else max(u for u in each if u is not None)
            key = to_us(ps)
            out.append(
                ReportInterval(
                    kind="downtime",
                    start=cs,
                    end=ce,
                    seconds=_seconds((ce - cs) // _ONE_US),
                    counted_seconds=_seconds(counted_us.get(key, 0)),
                    weighted_seconds=_s(weighted_us.get(key, Fraction(0))) if weighs else None,
                    priority=priority,
                    reason=reason,
                    reports=len(members),
                    users=users,
                )
            )
        for d in downtimes:
            if policy.counts(d.priority):
                continue
            clipped = d.interval.clip(period.start, as_of)
            if clipped is None:
                continue
            out.append(
                ReportInterval(
                    kind="downtime_not_counted",
                    start=clipped.start,
                    end=clipped.end,
                    seconds=_seconds(_us(clipped)),
                    counted_seconds=0.0,
                    priority=d.priority,
                    reason=d.reason,
                    users=d.users,
                    note=f"{d.priority} does not count under policy {policy.name!r}",
                )
            )
        maintenance = inputs.maintenance() if callable(inputs.maintenance) else inputs.maintenance
        rows = inputs.rows
        for o in maintenance:
            shared = rows.get(id(o)) if rows is not None else None
            if shared is not None:
                out.append(shared[1])
                continue
            excluded = o.kind.startswith(EXCLUDED_KIND)
            row = ReportInterval(
                kind="excluded" if excluded else (
                    "maintenance" if o.honoured else "maintenance_not_honoured"
                ),
                start=o.interval.start,
                end=o.interval.end,
                seconds=_seconds(_us(o.interval)),
                counted_seconds=0.0,
                reason=f"{o.window} ({o.kind.removeprefix(EXCLUDED_KIND)})",
                note=o.note,
            )
            if rows is not None and not excluded:
                rows[id(o)] = (o, row)  # the occurrence kept alive: its id stays its own
            out.append(row)
        for gs, ge in union_pairs([(g.start, g.end) for g in gaps]):
            cs, ce = _clip(gs, ge, lo, hi)
            if not cs < ce:
                continue
            causes = list(dict.fromkeys(x.cause for x in gaps if x.start < ge and x.end > gs))
            out.append(
                ReportInterval(
                    kind="unmonitored",
                    start=cs,
                    end=ce,
                    seconds=_seconds((ce - cs) // _ONE_US),
                    counted_seconds=0.0,
                    reason="; ".join(causes),
                    note=f"counted as {policy.unmonitored}",
                )
            )
        return sorted(out, key=lambda r: (r.start, r.end, r.kind))


def _us(iv: Interval) -> int:
    return iv.duration // _ONE_US


def _clip(start: datetime, end: datetime, lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
    """`Interval.clip` without the Interval (empty when not start < end)."""
    return max(start, lo), min(end, hi)


def assemble(inputs: ReportInputs, *, service: str, customer: str = "") -> Report:
    """The report from an engine's measurement: verdicts, budget, credit, and the detail."""
    policy, period, as_of, review = inputs.policy, inputs.period, inputs.as_of, inputs.review
    measurement, calendar = inputs.measurement, inputs.calendar
    main = measurement.main
    target = target_of(policy)
    judged = judge(main, policy, target)
    outside = _outside(measurement.outside, policy)
    count = measurement.interruptions
    if review is not None and review.groups:
        count = grouped_interruptions(
            measurement.counted_us, [d for d in inputs.downtimes if policy.counts(d.priority)],
            review.groups,
        )
    unwatched = main.unmonitored_us + (
        measurement.outside.unmonitored_us if measurement.outside is not None else 0
    )
    count_met = interruptions_met(count, policy, unwatched)
    credit, credit_range = credit_of(judged, policy)
    budget = Fraction(main.planned_measured_us) * (100 - target) / 100 - main.unavailable_us
    total_users = policy.weighting.total_users if policy.weighting else None
    detail = ReportDetail(inputs)
    restore = (
        incident_table.summarise(policy, detail.incidents(), calendar, as_of)
        if policy.restore is not None
        else None
    )
    return Report(
        service=service,
        customer=customer,
        contract=policy.contract,
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
        measured_seconds=_seconds(main.measured_us),
        maintenance_seconds=_seconds(main.maintenance_us),
        downtime_seconds=_s(main.weighted_down_us),
        downtime_by_priority={p: _seconds(main.by_priority_us.get(p, 0)) for p in PRIORITIES},
        downtime_user_seconds=None if total_users is None else _s(main.weighted_down_us * total_users),
        unmonitored_seconds=_seconds(main.unmonitored_us),
        coverage_percent=judged.coverage,
        availability=judged.availability,
        availability_decided=judged.decided,
        availability_bounds=judged.bounds,
        target_percent=policy.target_percent,
        availability_met=judged.met,
        error_budget_seconds=_s(budget),
        interruptions=count,
        max_interruptions=policy.max_interruptions,
        interruptions_met=count_met,
        met=combine(judged.met, count_met, None if outside is None else outside.met)
        if outside is not None
        else combine(judged.met, count_met),
        credit_percent=credit,
        credit_bounds=credit_range,
        outside_hours=outside,
        months=tuple(_month(m, f) for m, f in measurement.months),
        detail=detail,
        restore=restore,
        review_version=review.version if review else 0,
        review_log=tuple(review.log) if review else (),
    )


def _outside(f: Figures | None, policy: SlaPolicy) -> ScopeFigures | None:
    if f is None or policy.outside_target_percent is None:
        return None
    judged = judge(f, policy, as_fraction(policy.outside_target_percent))
    return ScopeFigures(
        measured_seconds=_seconds(f.measured_us),
        maintenance_seconds=_seconds(f.maintenance_us),
        downtime_seconds=_s(f.weighted_down_us),
        unmonitored_seconds=_seconds(f.unmonitored_us),
        availability=judged.availability,
        target_percent=policy.outside_target_percent,
        met=judged.met,
        coverage_percent=judged.coverage,
        availability_bounds=judged.bounds,
    )


def _month(month: Interval, f: Figures) -> MonthFigures:
    return MonthFigures(month.start, month.end, f)
