"""Half-open time intervals and the arithmetic service downtime is built from.

A service is down while at least k of its n checks are down (`any` is k=1,
`all` is k=n). Its downtime is therefore the k-coverage of the checks'
intervals: overlapping failures of one problem count once (XTIUM §1: several
reports of the same problem count once). Everything here is pure and works on
any ordered type, so it is shared by the live tracker, the API and reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """[start, end): end is exclusive, so back-to-back intervals do not overlap."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"interval ends ({self.end}) before it starts ({self.start})")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def clip(self, lo: datetime, hi: datetime) -> Interval | None:
        start, end = max(self.start, lo), min(self.end, hi)
        return Interval(start, end) if start < end else None


def coverage(intervals: Iterable[Interval], k: int) -> list[Interval]:
    """Maximal intervals during which at least `k` of the inputs overlap.

    Inputs may overlap each other (e.g. two checks of one service); each input
    counts once where it covers. Touching results are merged, empty ones dropped.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    edges: list[tuple[datetime, int]] = []
    for iv in intervals:
        if iv.start < iv.end:
            edges.append((iv.start, 1))
            edges.append((iv.end, -1))
    # ends before starts at the same instant: [a,b) and [b,c) are adjacent, not
    # overlapping; they are merged below if the count stays >= k across b.
    edges.sort(key=lambda e: (e[0], e[1]))
    out: list[Interval] = []
    depth = 0
    opened: datetime | None = None
    i = 0
    while i < len(edges):
        t = edges[i][0]
        while i < len(edges) and edges[i][0] == t:
            depth += edges[i][1]
            i += 1
        if depth >= k and opened is None:
            opened = t
        elif depth < k and opened is not None:
            if out and out[-1].end == opened:
                out[-1] = Interval(out[-1].start, t)
            else:
                out.append(Interval(opened, t))
            opened = None
    return out


def union(intervals: Iterable[Interval]) -> list[Interval]:
    return coverage(intervals, 1)


def intersection(groups: Sequence[Sequence[Interval]]) -> list[Interval]:
    """Times covered by every group (each group is first merged into itself)."""
    if not groups:
        return []
    return coverage((iv for g in groups for iv in union(g)), len(groups))


def k_of_n(groups: Sequence[Sequence[Interval]], k: int) -> list[Interval]:
    """Times at least `k` groups cover; a group's own overlaps count once."""
    return coverage((iv for g in groups for iv in union(g)), k)


def total_seconds(intervals: Iterable[Interval]) -> float:
    return sum((iv.duration for iv in union(intervals)), timedelta()).total_seconds()


def subtract(base: Iterable[Interval], remove: Iterable[Interval]) -> list[Interval]:
    """Parts of `base` not covered by `remove`."""
    out: list[Interval] = []
    cuts = union(remove)
    for iv in union(base):
        start = iv.start
        for cut in cuts:
            if cut.end <= start or cut.start >= iv.end:
                continue
            if cut.start > start:
                out.append(Interval(start, cut.start))
            start = max(start, cut.end)
            if start >= iv.end:
                break
        if start < iv.end:
            out.append(Interval(start, iv.end))
    return out
