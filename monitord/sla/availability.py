"""The availability formulas of sla-rules §4, computed exactly over intervals.

One sweep cuts the period into elementary segments at every boundary (period,
`now`, calendar hours, maintenance, each downtime, each gap) and classifies
each segment once. Precedence inside measured time, highest first:

1. honoured maintenance: `excluded` takes it out of the measured time
   (voizXL, XTIUM); `counts_as_up` keeps it measured and up (Xelion);
2. counted downtime (priority selected by `downtime_counts`): down, weighted
   by affected users when the policy weighs;
3. unmonitored gap: `up` (default), `down` or `excluded`, always reported;
   recorded downtime wins over a gap because it is evidence, a gap is none;
4. otherwise up.

Overlapping downtimes of one problem count once (XTIUM §1): a segment is down
or not, however many intervals cover it. All arithmetic is in integer
microseconds and exact fractions; floats appear only when rendering.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

from monitord.core.intervals import Interval, union
from monitord.sla.config import PRIORITIES, SlaPolicy

Scope = Literal["in", "out"]
State = Literal["up", "down", "maintenance", "planned_down", "unmonitored", "outside_hours", "pending"]


@dataclass(frozen=True, slots=True)
class Downtime:
    """One downtime interval as recorded by the daemon or a ticketing system."""

    start: datetime
    end: datetime
    priority: str = "P1"
    users: int | None = None  # affected users; None = everyone
    reason: str = ""
    source: str = ""  # where it came from: "store:12", "file[3]"

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


@dataclass(frozen=True, slots=True)
class Gap:
    """Time nobody was watching (daemon not running, or a hole in the ticket data)."""

    start: datetime
    end: datetime
    cause: str = "unmonitored"

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


@dataclass(frozen=True, slots=True)
class Segment:
    """An elementary piece of the period with one classification (and the timeline band)."""

    start: datetime
    end: datetime
    scope: Scope | None  # None: outside the measurement calendar
    maintenance: bool
    down_weight: Fraction  # 0 = not down, 1 = everyone down
    down_any: bool  # any downtime at all, counted or not (planned_down in maintenance)
    gap: bool
    priorities: frozenset[str]
    pending: bool  # after `now`: not yet happened

    @property
    def us(self) -> int:
        return _us(self.end - self.start)

    @property
    def state(self) -> State:
        if self.pending:
            return "pending"
        if self.scope is None:
            return "outside_hours"
        if self.maintenance:
            return "planned_down" if self.down_any else "maintenance"
        if self.down_weight:
            return "down"
        return "unmonitored" if self.gap else "up"


@dataclass(frozen=True, slots=True)
class Figures:
    """Sums over one scope of one window, in microseconds (exact)."""

    window_us: int
    measured_us: int
    maintenance_us: int
    downtime_us: int  # time with counted downtime, unweighted
    weighted_down_us: Fraction  # counted downtime, weighted by affected users
    unavailable_us: Fraction  # what the formula subtracts: downtime + unmonitored-as-down
    unmonitored_us: int
    by_priority_us: dict[str, int]
    planned_measured_us: int  # measured time over the whole period, `now` ignored

    @property
    def availability(self) -> Fraction:
        """Percent, exact. No measured time means nothing could fail: 100."""
        if self.measured_us <= 0:
            return Fraction(100)
        return (self.measured_us - self.unavailable_us) * 100 / self.measured_us


def _us(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def segments(
    *,
    policy: SlaPolicy,
    period: Interval,
    now: datetime,
    in_hours: Sequence[Interval],
    outside_measured: bool,
    maintenance: Sequence[Interval],
    downtimes: Sequence[Downtime],
    gaps: Sequence[Gap],
    extra_cuts: Sequence[datetime] = (),
) -> list[Segment]:
    """Cut `period` into segments and classify each (the one sweep of this module)."""
    as_of = min(max(now, period.start), period.end)
    events: dict[datetime, list[tuple[str, int, int]]] = {}

    def add(iv: Interval, key: str, idx: int = 0) -> None:
        clipped = iv.clip(period.start, period.end)
        if clipped is not None:
            events.setdefault(clipped.start, []).append((key, idx, 1))
            events.setdefault(clipped.end, []).append((key, idx, -1))

    for iv in union(in_hours):
        add(iv, "in")
    for iv in union(maintenance):
        add(iv, "maint")
    for iv in union(g.interval for g in gaps):
        add(iv, "gap")
    for i, d in enumerate(downtimes):
        add(d.interval, "down", i)
    for t in (period.start, as_of, period.end, *extra_cuts):
        if period.start <= t <= period.end:
            events.setdefault(t, [])
    total_users = policy.weighting.total_users if policy.weighting else None
    counters = {"in": 0, "maint": 0, "gap": 0}
    active: dict[int, int] = {}  # downtime index -> how many times open (duplicates)
    out: list[Segment] = []
    times = sorted(events)
    for t, nxt in itertools.pairwise(times):
        for key, idx, delta in events[t]:
            if key == "down":
                active[idx] = active.get(idx, 0) + delta
                if not active[idx]:
                    del active[idx]
            else:
                counters[key] += delta
        in_scope = counters["in"] > 0
        scope: Scope | None = "in" if in_scope else ("out" if outside_measured else None)
        covering = [downtimes[i] for i in active]
        counted = [d for d in covering if policy.counts(d.priority)]
        out.append(
            Segment(
                start=t,
                end=nxt,
                scope=scope,
                maintenance=counters["maint"] > 0,
                down_weight=_weight(counted, total_users, policy),
                down_any=bool(covering),
                gap=counters["gap"] > 0,
                priorities=frozenset(d.priority for d in covering),
                pending=t >= as_of,
            )
        )
    return out


def _weight(counted: Sequence[Downtime], total: int | None, policy: SlaPolicy) -> Fraction:
    if not counted:
        return Fraction(0)
    if total is None or policy.weighting is None:
        return Fraction(1)
    users = [total if d.users is None else min(d.users, total) for d in counted]
    hit = max(users) if policy.weighting.overlap == "max" else min(sum(users), total)
    return Fraction(hit, total)


def figures(
    segs: Sequence[Segment], policy: SlaPolicy, scope: Scope, lo: datetime, hi: datetime
) -> Figures:
    """Sum the segments of `scope` inside [lo, hi) (segment bounds include lo and hi)."""
    excluded = policy.maintenance == "excluded"
    window = measured = maint = down = unmon = planned = gap_down = 0
    weighted = Fraction(0)
    by_priority: dict[str, int] = dict.fromkeys(PRIORITIES, 0)
    for s in segs:
        if s.scope != scope or s.start < lo or s.end > hi:
            continue
        us = s.us
        if not (s.maintenance and excluded) and not (s.gap and policy.unmonitored == "excluded"):
            planned += us
        if s.pending:
            continue
        window += us
        if s.maintenance:
            maint += us
            if not excluded:
                measured += us
            continue
        for p in s.priorities:
            by_priority[p] = by_priority.get(p, 0) + us
        if s.down_weight:
            measured += us
            down += us
            weighted += s.down_weight * us
        elif s.gap:
            unmon += us
            if policy.unmonitored == "down":
                measured += us
                gap_down += us
            elif policy.unmonitored == "up":
                measured += us
        else:
            measured += us
    return Figures(
        window, measured, maint, down, weighted, weighted + gap_down, unmon, by_priority, planned
    )


def interruptions(segs: Sequence[Segment], downtimes: Sequence[Downtime], policy: SlaPolicy) -> int:
    """Distinct problems (merged counted downtimes) with counted time in measured scope.

    Infravision §3.1 "≤ 3 onderbrekingen / maand": overlapping or touching
    reports of one problem are one interruption.
    """
    down = [
        Interval(s.start, s.end)
        for s in segs
        if s.down_weight and not s.pending and s.scope is not None and not s.maintenance
    ]
    merged = union(d.interval for d in downtimes if policy.counts(d.priority))
    count = 0
    for problem in merged:
        if any(iv.start < problem.end and iv.end > problem.start for iv in down):
            count += 1
    return count
