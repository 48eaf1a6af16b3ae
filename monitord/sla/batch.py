"""Many reports from one setup and one `now`, sharing everything that is the same for them.

Why: a fleet has thousands of services but a handful of policies, calendars
and recurring windows. Periods, calendar hours, each window's occurrences
(once per window and period), their judgement under a policy, and the sums
of quiet time (`sweep.Basis`, once per policy, period and recurring window
set) are computed on first use and reused; each service then only adds its
own intervals. A single report is a batch of one, so the single-service
report and the bulk report are the same computation.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from monitord.core.intervals import Interval
from monitord.errors import SlaError
from monitord.sla.assemble import Occurrences, ReportInputs, assemble
from monitord.sla.availability import Downtime, Gap, Measurement
from monitord.sla.calendars import TWENTY_FOUR_SEVEN, calendar_intervals
from monitord.sla.caps import apply_cap
from monitord.sla.config import CalendarConfig, OneOffWindow, RecurringWindow, SlaPolicy
from monitord.sla.maintenance import MaintenanceOccurrence, judge, window_occurrences
from monitord.sla.periods import Period, month_starts
from monitord.sla.report import BeforeReview, Report, ReportInterval
from monitord.sla.review import ReviewFold, exclusion_occurrences, reviewed
from monitord.sla.sweep import Basis, measure
from monitord.sla.timebase import Cover, Pair, intersect, to_us

if TYPE_CHECKING:  # engine imports this module
    from monitord.sla.engine import SlaSetup

Window = RecurringWindow | OneOffWindow


class Batch:
    """Shared work for reports computed from `setup` as of `now`."""

    def __init__(self, setup: SlaSetup, now: datetime) -> None:
        if now.tzinfo is None:
            raise SlaError("now must be timezone-aware")
        self.setup = setup
        self.now = now
        self._recurring: list[RecurringWindow] = list(setup.maintenance.recurring)
        self._one_off: list[OneOffWindow] = list(setup.maintenance.windows)
        self._everyone = [i for i, w in enumerate(self._recurring) if not w.services]
        self._by_service: dict[str, list[int]] = {}
        for i, w in enumerate(self._recurring):
            for s in dict.fromkeys(w.services):
                self._by_service.setdefault(s, []).append(i)
        self._one_off_by_service: dict[str, list[int]] = {}
        self._one_off_everyone = [i for i, w in enumerate(self._one_off) if not w.services]
        for i, one in enumerate(self._one_off):
            for s in dict.fromkeys(one.services):
                self._one_off_by_service.setdefault(s, []).append(i)
        self._hours: dict[tuple[str, Interval], Cover] = {}
        self._occurrences: dict[tuple[str, int, Interval], list[tuple[Interval, datetime]]] = {}
        # keyed by id(policy): two policies may share a name (a gauge window's copy); each
        # cached value holds its policy, so the id cannot be reused while cached
        self._judged: dict[tuple[str, int, int, Interval], list[MaintenanceOccurrence]] = {}
        self._policies: list[SlaPolicy] = []
        self._bases: dict[tuple[int, Interval, tuple[int, ...]], Basis] = {}
        self._months: dict[tuple[str, Interval], list[Interval]] = {}
        self._rows: dict[int, tuple[MaintenanceOccurrence, ReportInterval]] = {}
        # the recurring occurrences of a window set, in report order (keyed like _judged)
        self._ordered: dict[tuple[tuple[int, ...], int, Interval], list[MaintenanceOccurrence]] = {}

    # --- shared pieces -------------------------------------------------------------

    def _windows_of(self, service: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Indices of the recurring and one-off windows that apply to `service`."""
        rec = sorted({*self._everyone, *self._by_service.get(service, ())})
        one = sorted({*self._one_off_everyone, *self._one_off_by_service.get(service, ())})
        return tuple(rec), tuple(one)

    def _window_occurrences(self, kind: str, i: int, period: Interval) -> list[tuple[Interval, datetime]]:
        key = (kind, i, period)
        found = self._occurrences.get(key)
        if found is None:
            win: Window = self._recurring[i] if kind == "r" else self._one_off[i]
            found = self._occurrences[key] = window_occurrences(win, period)
        return found

    def _judged_occurrences(
        self, kind: str, i: int, policy: SlaPolicy, period: Interval
    ) -> list[MaintenanceOccurrence]:
        key = (kind, i, id(policy), period)
        found = self._judged.get(key)
        if found is None:
            self._policies.append(policy)
            win: Window = self._recurring[i] if kind == "r" else self._one_off[i]
            found = self._judged[key] = [
                judge(MaintenanceOccurrence(win.name, win.kind, iv, win.announced_at, start), policy)
                for iv, start in self._window_occurrences(kind, i, period)
            ]
        return found

    def _calendar_hours(self, policy: SlaPolicy, period: Interval) -> Cover:
        key = (policy.calendar, period)
        found = self._hours.get(key)
        if found is None:
            ivs = calendar_intervals(self.setup.calendar(policy), period)
            found = self._hours[key] = Cover.of((to_us(iv.start), to_us(iv.end)) for iv in ivs)
        return found

    def _month_list(self, policy: SlaPolicy, period: Period) -> list[Interval]:
        key = (policy.timezone, period.interval)
        found = self._months.get(key)
        if found is None:
            found = self._months[key] = month_starts(period, policy.timezone)
        return found

    def basis(self, policy: SlaPolicy, period: Period, recurring: tuple[int, ...]) -> Basis:
        key = (id(policy), period.interval, recurring)
        found = self._bases.get(key)
        if found is None:
            p = period.interval
            honoured: list[Pair] = [
                (to_us(o.interval.start), to_us(o.interval.end))
                for i in recurring
                for o in self._judged_occurrences("r", i, policy, p)
                if o.honoured
            ]
            hours = self._calendar_hours(policy, p)
            maint = Cover.of(honoured)
            found = self._bases[key] = Basis.build(
                policy, self._month_list(policy, period), period.as_of(self.now), hours, maint,
                intersect(hours, maint),
            )
        return found

    # --- reports ---------------------------------------------------------------------

    def maintenance(
        self, service: str, policy: SlaPolicy, period: Period
    ) -> list[MaintenanceOccurrence]:
        """The service's judged occurrences, ordered as `maintenance.maintenance_for` orders them."""
        rec, one = self._windows_of(service)
        p = period.interval
        key = (rec, id(policy), p)
        ordered = self._ordered.get(key)
        if ordered is None:
            found = [o for i in rec for o in self._judged_occurrences("r", i, policy, p)]
            ordered = self._ordered[key] = sorted(found, key=_order)
        out = list(ordered)
        # the service's own windows go in after the equal ones: sorted() of rec + one, stable
        for o in sorted((o for i in one for o in self._judged_occurrences("o", i, policy, p)),
                        key=_order):
            out.insert(bisect_right(out, _order(o), key=_order), o)
        return out

    def report(
        self,
        *,
        service: str,
        policy: SlaPolicy,
        period: Period,
        downtimes: Sequence[Downtime],
        gaps: Sequence[Gap] = (),
        review: ReviewFold | None = None,
    ) -> Report:
        """The service's report; with a review, the reviewed one, and what it was before."""
        if review is None or not review.log:
            return self._report(service, policy, period, downtimes, gaps, None)
        after = self._report(service, policy, period, reviewed(downtimes, review), gaps, review)
        if not review.changes_figures:
            return dataclasses.replace(after, before_review=_before(after))
        before = self._report(service, policy, period, downtimes, gaps, None)
        return dataclasses.replace(after, before_review=_before(before))

    def _calendar_of(self, policy: SlaPolicy) -> CalendarConfig | None:
        """The restore clock's office hours: the restore rules' calendar, else the policy's."""
        name = policy.restore.calendar if policy.restore and policy.restore.calendar else None
        name = name or policy.calendar
        return None if name == TWENTY_FOUR_SEVEN else self.setup.calendars.get(name)

    def _report(
        self,
        service: str,
        policy: SlaPolicy,
        period: Period,
        downtimes: Sequence[Downtime],
        gaps: Sequence[Gap],
        review: ReviewFold | None,
    ) -> Report:
        excluded = exclusion_occurrences(review)
        rows: dict[int, tuple[MaintenanceOccurrence, ReportInterval]] | None = None
        maintenance: Occurrences
        if policy.maintenance_cap is not None:
            measurement, downtimes, maintenance = self._capped(
                service, policy, period, downtimes, gaps, excluded
            )
        else:
            if review is None:
                downtimes = _near(downtimes, period.start, period.end)
            measurement, maintenance = self._uncapped(
                service, policy, period, downtimes, gaps, excluded
            )
            rows = self._rows
        inputs = ReportInputs(
            policy, period, period.as_of(self.now), measurement, downtimes, gaps, maintenance,
            rows=rows, calendar=self._calendar_of(policy), review=review,
        )
        return assemble(inputs, service=service, customer=self.setup.customers.get(service, ""))

    def _uncapped(
        self,
        service: str,
        policy: SlaPolicy,
        period: Period,
        downtimes: Sequence[Downtime],
        gaps: Sequence[Gap],
        excluded: list[MaintenanceOccurrence],
    ) -> tuple[Measurement, Occurrences]:
        """The usual policy: the shared basis, corrected by the service's own one-off windows.

        The occurrences are listed only when the report's interval list is asked for.
        """
        rec, one = self._windows_of(service)
        p = period.interval
        own = [
            (to_us(o.interval.start), to_us(o.interval.end))
            for i in one
            for o in self._judged_occurrences("o", i, policy, p)
            if o.honoured
        ]
        own += [(to_us(o.interval.start), to_us(o.interval.end)) for o in excluded]
        measurement = measure(
            self.basis(policy, period, rec), own_maintenance=own, downtimes=downtimes, gaps=gaps
        )

        def occurrences() -> list[MaintenanceOccurrence]:
            found = self.maintenance(service, policy, period)
            if not excluded:
                return found
            clipped = _clip(excluded, p)
            return sorted([*found, *clipped], key=lambda o: (o.interval, o.window))

        return measurement, occurrences

    def _capped(
        self,
        service: str,
        policy: SlaPolicy,
        period: Period,
        downtimes: Sequence[Downtime],
        gaps: Sequence[Gap],
        excluded: list[MaintenanceOccurrence],
    ) -> tuple[Measurement, list[Downtime], list[MaintenanceOccurrence]]:
        """A policy with a maintenance cap: the service's own honoured windows, capped per month.

        Not shared with other services (the cap cuts each service's windows
        differently); only policies that set a cap pay for it. Review
        exclusions are not maintenance and are not capped. Returns the
        measurement, the downtimes with the time beyond the cap added, and
        the occurrences.
        """
        months = self._month_list(policy, period)
        windows, beyond = apply_cap(self.maintenance(service, policy, period), months, policy)
        occurrences = sorted(
            [*windows, *_clip(excluded, period.interval)], key=lambda o: (o.interval, o.window)
        )
        honoured = Cover.of(
            (to_us(o.interval.start), to_us(o.interval.end)) for o in occurrences if o.honoured
        )
        hours = self._calendar_hours(policy, period.interval)
        as_of = period.as_of(self.now)
        basis = Basis.build(policy, months, as_of, hours, honoured, intersect(hours, honoured))
        counted = [*downtimes, *beyond]
        measurement = measure(basis, own_maintenance=[], downtimes=counted, gaps=gaps)
        return measurement, counted, occurrences


def _near(downtimes: Sequence[Downtime], lo: datetime, hi: datetime) -> Sequence[Downtime]:
    """The downtimes whose problem reaches [lo, hi] (touching counts), in their order.

    Why: a service's record spans many periods, and a report of one month
    otherwise weighs each of its downtimes three times (figures, interval
    list, incidents). A problem is a chain of overlapping or touching
    downtimes; it is kept or dropped whole, so no problem's start, members or
    counted time changes. Not with a review: its groups join by source.
    """
    order = sorted(range(len(downtimes)), key=lambda i: downtimes[i].start)
    keep = [False] * len(downtimes)
    chain: list[int] = []
    first = reach = lo
    for i in [*order, -1]:
        d = downtimes[i] if i >= 0 else None
        if d is not None and chain and d.start <= reach:
            chain.append(i)
            reach = max(reach, d.end)
            continue
        if chain and first <= hi and reach >= lo:
            for k in chain:
                keep[k] = True
        if d is not None:
            chain, first, reach = [i], d.start, max(d.start, d.end)
    if all(keep):
        return downtimes
    return [d for d, kept in zip(downtimes, keep, strict=True) if kept]


def _order(o: MaintenanceOccurrence) -> tuple[datetime, datetime, str]:
    """The order `maintenance_for` lists occurrences in: (interval, window), flattened."""
    return o.interval.start, o.interval.end, o.window


def _clip(occurrences: Sequence[MaintenanceOccurrence], window: Interval) -> list[MaintenanceOccurrence]:
    out = []
    for o in occurrences:
        iv = o.interval.clip(window.start, window.end)
        if iv is not None:
            out.append(dataclasses.replace(o, interval=iv))
    return out


def _before(r: Report) -> BeforeReview:
    return BeforeReview(
        availability=r.availability,
        downtime_seconds=r.downtime_seconds,
        downtime_by_priority=r.downtime_by_priority,
        interruptions=r.interruptions,
        met=r.met,
        credit_percent=r.credit_percent,
    )
