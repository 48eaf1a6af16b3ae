"""The straightforward sweep: the engine as it was before the fleet rework (issue 18).

Why it is kept: it is the plainest statement of the rules in
`availability.py` — cut the period at every boundary (calendar hours,
maintenance, each downtime, each gap, `now`, month starts), classify each
piece once, sum. The fast engine (`sweep.py`) must give the same
`Measurement` for any input; tests compare the two on seeded fleets and on
hypothesis-generated data, and `bench/sla_report.py` measures against this
one called per service. Not used by the daemon or the CLI.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from monitord.core.intervals import Interval, union
from monitord.sla.availability import (
    Downtime,
    Figures,
    Gap,
    Measurement,
    Scope,
    State,
    unmonitored_mode,
)
from monitord.sla.config import PRIORITIES, SlaPolicy
from monitord.sla.timebase import to_us


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
    mode = unmonitored_mode(policy)
    window = measured = maint = down = unmon = planned = gap_down = 0
    weighted = Fraction(0)
    by_priority: dict[str, int] = dict.fromkeys(PRIORITIES, 0)
    for s in segs:
        if s.scope != scope or s.start < lo or s.end > hi:
            continue
        us = s.us
        if not (s.maintenance and excluded) and not (s.gap and mode == "excluded"):
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
            if mode == "down":
                measured += us
                gap_down += us
            elif mode == "up":
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


def _counted_us(segs: Sequence[Segment], iv: Interval, *, weighted: bool = False) -> Fraction:
    return sum(
        (s.down_weight * s.us if weighted else Fraction(s.us))
        for s in segs
        if s.start >= iv.start
        and s.end <= iv.end
        and s.down_weight
        and s.scope is not None
        and not s.maintenance
        and not s.pending
    ) or Fraction(0)


def measure_reference(
    *,
    policy: SlaPolicy,
    period: Interval,
    now: datetime,
    months: Sequence[Interval],
    in_hours: Sequence[Interval],
    maintenance: Sequence[Interval],
    downtimes: Sequence[Downtime],
    gaps: Sequence[Gap],
) -> Measurement:
    """The Measurement by the plain sweep; `maintenance` is the honoured windows only."""
    segs = segments(
        policy=policy,
        period=period,
        now=now,
        in_hours=in_hours,
        outside_measured=policy.outside_target_percent is not None,
        maintenance=maintenance,
        downtimes=downtimes,
        gaps=gaps,
        extra_cuts=[m.start for m in months],
    )
    as_of = min(max(now, period.start), period.end)
    counted: dict[int, int] = {}
    weighted: dict[int, Fraction] = {}
    for problem in union(d.interval for d in downtimes if policy.counts(d.priority)):
        clipped = problem.clip(period.start, as_of)
        if clipped is not None:
            counted[to_us(problem.start)] = int(_counted_us(segs, clipped))
            weighted[to_us(problem.start)] = _counted_us(segs, clipped, weighted=True)

    def timeline() -> list[tuple[datetime, datetime, State]]:
        out: list[tuple[datetime, datetime, State]] = []
        for s in segs:
            state = s.state
            if out and out[-1][2] == state and out[-1][1] == s.start:
                out[-1] = (out[-1][0], s.end, state)
            else:
                out.append((s.start, s.end, state))
        return out

    outside = None
    if policy.outside_target_percent is not None:
        outside = figures(segs, policy, "out", period.start, period.end)
    return Measurement(
        main=figures(segs, policy, "in", period.start, period.end),
        outside=outside,
        months=tuple((m, figures(segs, policy, "in", m.start, m.end)) for m in months)
        if len(months) > 1
        else (),
        interruptions=interruptions(segs, downtimes, policy),
        counted_us=counted,
        weighted_us=weighted,
        timeline=timeline,
    )
