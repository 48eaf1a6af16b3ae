"""Incidents and restore times: what an SLA manager's incident table and restore targets are made of.

An incident is one problem: recorded intervals that overlap or touch (of any
priority), plus those a review grouped as one (XTIUM §1: several reports of
the same problem count once). Its priority is the most severe of its members
(after review), its counted seconds what it took from availability.

Restore time (XTIUM §8, voizXL §4, VIOMS §3) is measured from the start to
the end of the incident, in clock hours or in a calendar's office hours,
always as real elapsed time (a P1 from 23:30 CEST to 07:00 CET lasted
8 h 30 m, the clocks went back in between). With `start_rule:
next_working_day` an incident that starts outside office hours starts the
clock at the next opening (VIOMS), except P1 and 24x7 calendars. Targets
(`share_percent` of one priority's incidents within `within`) are judged on
the incidents that started in the period; XTIUM §9's credit is due when any
of them took longer than `over`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from monitord.core.intervals import Interval
from monitord.sla.availability import Downtime
from monitord.sla.calendars import calendar_intervals
from monitord.sla.config import PRIORITIES, CalendarConfig, RestoreRules, SlaPolicy
from monitord.sla.credits import as_fraction
from monitord.sla.timebase import to_us

OPENING_SEARCH = timedelta(days=21)  # the next opening is found within three weeks (holidays)


@dataclass(frozen=True, slots=True)
class TargetResult:
    within_seconds: float
    clock: str
    met: bool | None  # None: still open and not yet over the target


@dataclass(frozen=True, slots=True)
class Incident:
    start: datetime
    end: datetime  # the last member's end, or `as_of` while open
    open: bool  # not restored as of the report
    priority: str
    counted_seconds: float
    weighted_seconds: float | None
    members: tuple[Downtime, ...]
    restore_start: datetime  # after the start rule
    restore_seconds: dict[str, float]  # per clock ("clock", "office") asked for
    targets: tuple[TargetResult, ...]
    started_in_period: bool
    notes: tuple[str, ...] = ()
    tickets: tuple[str, ...] = ()

    @property
    def duration_seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.reason for d in self.members if d.reason))

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(d.source for d in self.members if d.source)

    def extra(self, key: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for d in self.members for k, v in d.extra if k == key and v))

    @property
    def all_tickets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(d.ticket for d in self.members if d.ticket), *self.tickets]))


@dataclass(frozen=True, slots=True)
class TargetSummary:
    priority: str
    within_seconds: float
    clock: str
    share_percent: Fraction
    incidents: int
    within: int  # restored within the target
    pending: int  # still open, not yet over
    met: bool | None
    share: Fraction | None  # achieved share of the decided ones; None: no incident


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    targets: tuple[TargetSummary, ...]
    met: bool | None
    credit_percent: Fraction  # XTIUM §9
    credit_due_for: tuple[datetime, ...] = field(default=())  # starts of the incidents over


class _Groups:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _office_seconds(calendar: CalendarConfig | None, lo: datetime, hi: datetime) -> float:
    if hi <= lo:
        return 0.0
    return sum((iv.duration for iv in calendar_intervals(calendar, Interval(lo, hi))),
               timedelta()).total_seconds()


def _next_opening(calendar: CalendarConfig, t: datetime) -> datetime:
    found = calendar_intervals(calendar, Interval(t, t + OPENING_SEARCH))
    return found[0].start if found else t


def build(
    *,
    policy: SlaPolicy,
    period: Interval,
    as_of: datetime,
    downtimes: Sequence[Downtime],
    counted_us: Mapping[int, int],
    weighted_us: Mapping[int, Fraction],
    calendar: CalendarConfig | None,
    groups: Sequence[frozenset[str]] = (),
    notes: Mapping[str, Sequence[str]] | None = None,
    tickets: Mapping[str, Sequence[str]] | None = None,
) -> list[Incident]:
    """The incidents overlapping [period start, as_of), oldest first."""
    members = [
        (i, d) for i, d in enumerate(downtimes)
        if d.start < as_of and d.end > d.start and d.end > period.start
    ]
    if not members:
        return []
    members.sort(key=lambda x: (x[1].start, x[1].end, x[0]))
    g = _Groups(len(members))
    reach = members[0][1].end
    for k in range(1, len(members)):
        if members[k][1].start <= reach:
            g.join(k - 1, k)
        reach = max(reach, members[k][1].end)
    by_source: dict[str, list[int]] = {}
    for k, (_, d) in enumerate(members if groups else ()):
        if d.source:
            by_source.setdefault(d.source, []).append(k)
    for group in groups:
        ks = [k for s in group for k in by_source.get(s, ())]
        for k in ks[1:]:
            g.join(ks[0], k)
    parts: dict[int, list[Downtime]] = {}
    for k, (_, d) in enumerate(members):
        parts.setdefault(g.find(k), []).append(d)
    rules = policy.restore
    weighs = policy.weighting is not None
    problems = sorted(counted_us)
    out: list[Incident] = []
    for part in parts.values():
        if len(part) == 1:  # most incidents: one recorded interval
            only = part[0]
            start, last, priority = only.start, only.end, only.priority
        else:
            start = min(d.start for d in part)
            last = max(d.end for d in part)
            priority = min((d.priority for d in part), key=PRIORITIES.index)
        is_open = last > as_of
        end = min(last, as_of)
        lo, hi = to_us(start), to_us(max(last, start))
        inside = problems[bisect_left(problems, lo) : bisect_right(problems, hi)]
        counted = sum(counted_us[p] for p in inside)
        restore_start, restore, targets = _restore(rules, priority, start, end, is_open, calendar)
        srcs = [d.source for d in part] if notes or tickets else []
        out.append(
            Incident(
                start=start,
                end=end,
                open=is_open,
                priority=priority,
                counted_seconds=counted / 1_000_000,
                weighted_seconds=float(
                    sum((weighted_us.get(p, Fraction(0)) for p in inside), Fraction(0)) / 1_000_000
                ) if weighs else None,
                members=tuple(part),
                restore_start=restore_start,
                restore_seconds=restore,
                targets=targets,
                started_in_period=start >= period.start,
                notes=tuple(n for s in srcs for n in notes.get(s, ())) if notes else (),
                tickets=tuple(t for s in srcs for t in tickets.get(s, ())) if tickets else (),
            )
        )
    return sorted(out, key=lambda inc: (inc.start, inc.end))


def _restore(
    rules: RestoreRules | None,
    priority: str,
    start: datetime,
    end: datetime,
    is_open: bool,
    calendar: CalendarConfig | None,
) -> tuple[datetime, dict[str, float], tuple[TargetResult, ...]]:
    clocks: dict[str, float] = {}
    begin = start
    if rules is None:
        clocks["clock"] = (end - start).total_seconds()
        return begin, clocks, ()
    if (
        rules.start_rule == "next_working_day"
        and priority != "P1"
        and calendar is not None
        and not calendar_intervals(calendar, Interval(start, start + timedelta(microseconds=1)))
    ):
        begin = min(_next_opening(calendar, start), max(end, start))
    wanted = {t.clock or rules.clock for t in rules.targets if t.priority == priority}
    wanted.add(rules.clock)
    for clock in wanted:
        if clock == "office" and calendar is not None:
            clocks[clock] = _office_seconds(calendar, begin, end)
        else:
            clocks[clock] = max(0.0, (end - begin).total_seconds())
    results = []
    for t in rules.targets:
        if t.priority != priority:
            continue
        clock = t.clock or rules.clock
        took = clocks[clock]
        met: bool | None = took <= t.within
        if is_open and met:
            met = None  # still running, not over yet
        results.append(TargetResult(t.within, clock, met))
    return begin, clocks, tuple(results)


def summarise(policy: SlaPolicy, incidents: Sequence[Incident], calendar: CalendarConfig | None,
              as_of: datetime) -> RestoreSummary | None:
    """Per target: share within of the incidents that started in the period; §9 credit."""
    rules = policy.restore
    if rules is None:
        return None
    started = [i for i in incidents if i.started_in_period]
    summaries: list[TargetSummary] = []
    for t in rules.targets:
        clock = t.clock or rules.clock
        mine = [i for i in started if i.priority == t.priority]
        decided = [r for i in mine for r in i.targets
                   if r.within_seconds == t.within and r.clock == clock and r.met is not None]
        within = sum(1 for r in decided if r.met)
        pending = len(mine) - len(decided)
        need = as_fraction(t.share_percent)
        share = Fraction(within * 100, len(decided)) if decided else None
        if not mine:
            met: bool | None = True
        else:
            best = Fraction((within + pending) * 100, len(mine))
            worst = Fraction(within * 100, len(mine))
            met = True if worst >= need else (False if best < need else None)
        summaries.append(TargetSummary(t.priority, t.within, clock, need, len(mine), within,
                                       pending, met, share))
    credit = Fraction(0)
    due: list[datetime] = []
    if rules.credit is not None:
        rule = rules.credit
        for i in started:
            if i.priority != rule.priority:
                continue
            took = i.restore_seconds.get(rule.clock)
            if took is None:
                took = (_office_seconds(calendar, i.restore_start, i.end)
                        if rule.clock == "office" and calendar is not None
                        else (i.end - i.restore_start).total_seconds())
            if took > rule.over:
                due.append(i.start)
        if due:
            credit = as_fraction(rule.credit_percent)
    parts = [s.met for s in summaries]
    overall: bool | None = (
        False if any(p is False for p in parts) else (None if any(p is None for p in parts) else True)
    )
    return RestoreSummary(tuple(summaries), overall, credit, tuple(due))


Groups = Callable[[], Sequence[frozenset[str]]]
