"""The fleet's judgement: each location's evidence in, one judged record out.

Rules (issue 13; what a location's own interval is: sla-rules §1):
- Every location keeps its own state and intervals for a check (or service):
  its interval starts at ITS first failed probe and ends at its first
  success; alert and down thresholds (3/5) stay per location. Those
  intervals are the evidence.
- With `locations: {at_least: K}` the judged state is DOWN while at least K
  locations are down. The judged interval therefore starts at the instant the
  K-th location's interval began and ends at the first instant fewer than K
  locations are down: the K-coverage of the location intervals.
- A location counts only while its results are fresh (`watched`). While fewer
  than K locations are fresh the judged state is UNKNOWN: unmonitored, never
  up. A location that went silent while down stops counting as down when it
  stops counting at all, so a judged interval can end as unmonitored.
- Default K = 1 with one location: the judged record is that location's own,
  i.e. what a single daemon records.

Pure: evidence and a horizon in, a `Verdict` out; no clock, no I/O.
`reconcile` sets a verdict against what the judged record already holds and
returns only what it lacks, so a judge that restarts, or takes over from a
dead one, writes every transition once and misses none.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitord.core.intervals import Interval, intersection, k_of_n, subtract, union
from monitord.core.services import OPEN_END

__all__ = [
    "OPEN_END",
    "JudgedChange",
    "JudgedClosed",
    "JudgedGap",
    "JudgedOpened",
    "JudgedPast",
    "JudgedState",
    "LocationEvidence",
    "LocationInterval",
    "Recorded",
    "Verdict",
    "bridged",
    "evidence_of",
    "judge",
    "reconcile",
]


class JudgedState(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"  # fewer than K locations fresh: unmonitored, never up


@dataclass(frozen=True, slots=True)
class LocationEvidence:
    """One location's view of one check or service.

    `down`: its downtime intervals (an open one ends at OPEN_END);
    `watched`: the spans during which it had fresh results (open: OPEN_END).
    """

    location: str
    down: tuple[Interval, ...] = ()
    watched: tuple[Interval, ...] = ()


@dataclass(frozen=True, slots=True)
class LocationInterval:
    """A location's own interval, as listed beside a judged interval."""

    location: str
    start: datetime
    end: datetime | None  # None while open


@dataclass(frozen=True, slots=True)
class Verdict:
    """Judged DOWN and UNKNOWN stretches from `since` on; the rest is UP.

    A stretch still going on ends at OPEN_END.
    """

    at_least: int
    since: datetime
    down: tuple[Interval, ...]
    unknown: tuple[Interval, ...]

    def state_at(self, t: datetime) -> JudgedState:
        if t < self.since:
            return JudgedState.UNKNOWN
        if any(iv.start <= t < iv.end for iv in self.down):
            return JudgedState.DOWN
        if any(iv.start <= t < iv.end for iv in self.unknown):
            return JudgedState.UNKNOWN
        return JudgedState.UP

    @property
    def open_down(self) -> Interval | None:
        return self.down[-1] if self.down and self.down[-1].end == OPEN_END else None

    def cause_at(self, end: datetime) -> str:
        """Why a judged interval ending at `end` ended: recovery, or the evidence went stale."""
        return "unmonitored" if any(u.start == end for u in self.unknown) else "recovered"


def _clip(spans: Iterable[Interval], since: datetime) -> list[Interval]:
    return [c for iv in union(spans) if (c := iv.clip(since, OPEN_END)) is not None]


def judge(evidence: Sequence[LocationEvidence], at_least: int, since: datetime) -> Verdict:
    """The judged record from `since` on (see the module docstring for the rules)."""
    if at_least < 1:
        raise ValueError(f"at_least must be at least 1, got {at_least}")
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    seen = [ev.location for ev in evidence]
    if len(set(seen)) != len(seen):
        raise ValueError(f"evidence names a location twice: {sorted(seen)}")
    counted: list[list[Interval]] = []
    fresh: list[list[Interval]] = []
    for ev in evidence:
        watched = _clip(ev.watched, since)
        fresh.append(watched)
        counted.append(intersection([list(ev.down), watched]) if ev.down and watched else [])
    down = k_of_n(counted, at_least)
    monitored = k_of_n(fresh, at_least)
    unknown = subtract(subtract([Interval(since, OPEN_END)], monitored), down)
    return Verdict(at_least, since, tuple(down), tuple(unknown))


def bridged(spans: Iterable[Interval], bridge: timedelta) -> list[Interval]:
    """Spans with silences of at most `bridge` filled in.

    Why: a location's results stay fresh across a hand-over between its
    agents that takes no longer than the stated bound (docs/fleet.md); only a
    longer silence is unmonitored time.
    """
    if bridge < timedelta(0):
        raise ValueError("bridge cannot be negative")
    out: list[Interval] = []
    for iv in union(spans):
        if out and iv.start - out[-1].end <= bridge:
            out[-1] = Interval(out[-1].start, iv.end)
        else:
            out.append(iv)
    return out


def evidence_of(seg: Interval, evidence: Sequence[LocationEvidence]) -> list[LocationInterval]:
    """Each location's own intervals that overlap a judged interval, oldest first."""
    out = [
        LocationInterval(ev.location, iv.start, None if iv.end == OPEN_END else iv.end)
        for ev in evidence
        for iv in ev.down
        if (iv.start < seg.end and seg.start < iv.end)
        or (seg.start == seg.end and iv.start <= seg.start <= iv.end)
    ]
    return sorted(out, key=lambda li: (li.start, li.location))


# --- what the record lacks --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the judged record holds for one check or service, from the verdict's `since` on."""

    open_start: datetime | None = None
    closed: tuple[Interval, ...] = ()
    gaps: tuple[Interval, ...] = ()


@dataclass(frozen=True, slots=True)
class JudgedOpened:
    """Open the judged interval at `start`, or move the open one's start back to it."""

    start: datetime


@dataclass(frozen=True, slots=True)
class JudgedClosed:
    start: datetime
    end: datetime
    cause: str  # "recovered", or "unmonitored" (too few locations fresh)


@dataclass(frozen=True, slots=True)
class JudgedPast:
    """A judged stretch that had already ended when its evidence arrived (a late location)."""

    start: datetime
    end: datetime
    cause: str


@dataclass(frozen=True, slots=True)
class JudgedGap:
    """An UNKNOWN stretch that has ended: unmonitored for this check or service."""

    start: datetime
    end: datetime


JudgedChange = JudgedOpened | JudgedClosed | JudgedPast | JudgedGap


def reconcile(verdict: Verdict, recorded: Recorded) -> list[JudgedChange]:
    """What to write so the record says what the verdict says; nothing it already says.

    The record is never shortened: an interval written earlier than the
    evidence now supports is kept (it was evidence when written), a past
    stretch partly recorded is written whole and folded in by the writer,
    and only the parts of an ended UNKNOWN stretch not yet recorded are gaps.
    """
    out: list[JudgedChange] = []
    tail: list[JudgedChange] = []  # the open interval's changes, after the past ones
    known = list(recorded.closed)
    open_seg = verdict.open_down
    start = recorded.open_start
    if open_seg is not None:
        if start is None or open_seg.start < start:
            tail.append(JudgedOpened(open_seg.start))
        if start is not None:
            known.append(Interval(min(start, open_seg.start), OPEN_END))
    elif start is not None:
        mine = [s for s in verdict.down if s.start <= start < s.end]
        if mine:
            if mine[0].start < start:
                tail.append(JudgedOpened(mine[0].start))
                start = mine[0].start
            tail.append(JudgedClosed(start, mine[0].end, verdict.cause_at(mine[0].end)))
            known.append(Interval(start, mine[0].end))
        else:  # the evidence no longer shows it down there (its locations went stale first)
            tail.append(JudgedClosed(start, start, "unmonitored"))
    for seg in verdict.down:
        if seg is open_seg or any(r.start <= seg.start and seg.end <= r.end for r in known):
            continue
        out.append(JudgedPast(seg.start, seg.end, verdict.cause_at(seg.end)))
    for u in verdict.unknown:
        if u.end == OPEN_END:
            continue  # still unknown: a gap is written once it has ended
        out.extend(JudgedGap(p.start, p.end) for p in subtract([u], recorded.gaps))
    out.sort(key=lambda c: c.start)
    out.extend(tail)
    return out
