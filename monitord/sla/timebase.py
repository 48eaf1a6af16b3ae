"""Integer microseconds and sorted interval sets: the arithmetic under the fast engine.

Why integers: a fleet report sweeps hundreds of thousands of pieces; datetime
and Fraction arithmetic there costs more than the rest of the report. An
instant is microseconds since the Unix epoch (UTC), exact like the store's
own timestamps; datetimes appear again only in the report.

`Cover` is a union of half-open intervals kept as one sorted list of edges
(start, end, start, end ...), with prefix sums: "is t covered", "how much
of [lo, hi) is covered" and "which edges fall inside (lo, hi)" are each a
binary search, so a service's few downtimes can be judged against a year of
calendar hours and maintenance windows without walking them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
US_PER_SECOND = 1_000_000

Pair = tuple[int, int]
_T = TypeVar("_T", int, datetime)


def to_us(value: datetime) -> int:
    return (value - EPOCH) // ONE_US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def union_pairs(pairs: Iterable[tuple[_T, _T]]) -> list[tuple[_T, _T]]:
    """Sorted, merged (overlapping or touching), empty ones dropped: `union` on bare
    (start, end) pairs, in microseconds or datetimes, without an Interval per edge."""
    out: list[tuple[_T, _T]] = []
    for s, e in sorted(p for p in pairs if p[0] < p[1]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def clip_pairs(pairs: Iterable[Pair], lo: int, hi: int) -> list[Pair]:
    return [(max(s, lo), min(e, hi)) for s, e in pairs if s < hi and e > lo and max(s, lo) < min(e, hi)]


class Cover:
    """A union of intervals (merged, non-touching) with prefix sums over their lengths."""

    __slots__ = ("edges", "prefix")

    def __init__(self, merged: Iterable[Pair] = ()) -> None:
        edges: list[int] = []
        prefix = [0]
        for s, e in merged:
            edges.append(s)
            edges.append(e)
            prefix.append(prefix[-1] + e - s)
        self.edges = edges
        self.prefix = prefix

    @classmethod
    def of(cls, pairs: Iterable[Pair]) -> Cover:
        return cls(union_pairs(pairs))

    def __bool__(self) -> bool:
        return bool(self.edges)

    def pairs(self) -> list[Pair]:
        e = self.edges
        return [(e[i], e[i + 1]) for i in range(0, len(e), 2)]

    def contains(self, t: int) -> bool:
        return bool(bisect_right(self.edges, t) & 1)

    def upto(self, t: int) -> int:
        """Covered length before `t`."""
        i = bisect_right(self.edges, t)
        k = i >> 1
        if i & 1:
            return self.prefix[k] + t - self.edges[i - 1]
        return self.prefix[k]

    def measure(self, lo: int, hi: int) -> int:
        """Covered length inside [lo, hi)."""
        if hi <= lo or not self.edges:
            return 0
        return self.upto(hi) - self.upto(lo)

    def cuts(self, lo: int, hi: int) -> list[int]:
        """Edges strictly inside (lo, hi): where coverage may change."""
        e = self.edges
        return e[bisect_right(e, lo) : bisect_left(e, hi)]

    def overlapping(self, lo: int, hi: int) -> list[Pair]:
        """The covered pieces of [lo, hi)."""
        e = self.edges
        i = bisect_right(e, lo)
        j = bisect_left(e, hi)
        if i & 1:
            i -= 1
        out: list[Pair] = []
        for k in range(i, j, 2):
            s, t = max(e[k], lo), min(e[k + 1], hi)
            if s < t:
                out.append((s, t))
        return out


def intersect(a: Cover, b: Cover) -> Cover:
    """a ∩ b, by walking both (each sorted)."""
    out: list[Pair] = []
    pa, pb = a.pairs(), b.pairs()
    i = j = 0
    while i < len(pa) and j < len(pb):
        s = max(pa[i][0], pb[j][0])
        e = min(pa[i][1], pb[j][1])
        if s < e:
            out.append((s, e))
        if pa[i][1] < pb[j][1]:
            i += 1
        else:
            j += 1
    return Cover(out)


def subtract(pairs: Iterable[Pair], cover: Cover) -> list[Pair]:
    """The parts of `pairs` (merged) that `cover` does not cover."""
    out: list[Pair] = []
    for s, e in pairs:
        cursor = s
        for cs, ce in cover.overlapping(s, e):
            if cs > cursor:
                out.append((cursor, cs))
            cursor = max(cursor, ce)
        if cursor < e:
            out.append((cursor, e))
    return out
