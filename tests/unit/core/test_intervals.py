"""Interval arithmetic: the numbers SLA disputes are settled with.

Worked examples first (each one a situation a NOC engineer would recognise),
then properties checked against a brute-force model: on integer-second
datetimes, a set of intervals is just the set of seconds it covers.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitord.core.intervals import (
    Interval,
    coverage,
    intersection,
    k_of_n,
    subtract,
    total_seconds,
    union,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iv(start: float, end: float) -> Interval:
    return Interval(t(start), t(end))


# --- Interval itself ----------------------------------------------------------


def test_interval_rejects_naive_bounds() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Interval(datetime(2024, 1, 1), t(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        Interval(t(0), datetime(2024, 1, 1))


def test_interval_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        iv(10, 5)


def test_empty_interval_is_allowed_and_has_zero_duration() -> None:
    assert iv(5, 5).duration == timedelta(0)
    assert union([iv(5, 5)]) == []
    assert total_seconds([iv(5, 5)]) == 0


def test_duration_is_exact_to_the_microsecond() -> None:
    a = Interval(t(0), t(0) + timedelta(days=400, microseconds=1))
    assert a.duration == timedelta(days=400, microseconds=1)


def test_clip() -> None:
    assert iv(0, 100).clip(t(10), t(20)) == iv(10, 20)
    assert iv(0, 100).clip(t(-10), t(50)) == iv(0, 50)
    assert iv(0, 100).clip(t(100), t(200)) is None  # touching is not overlapping
    assert iv(0, 100).clip(t(200), t(300)) is None


def test_bounds_in_other_time_zones_compare_as_instants() -> None:
    cet = timezone(timedelta(hours=1))
    a = Interval(datetime(2024, 3, 1, 13, 0, tzinfo=cet), datetime(2024, 3, 1, 13, 10, tzinfo=cet))
    b = iv(300, 900)  # 12:05-12:15 UTC == 13:05-13:15 CET
    assert union([a, b]) == [Interval(a.start, b.end)]
    assert total_seconds([a, b]) == 900


# --- worked examples ----------------------------------------------------------


def test_adjacent_intervals_merge() -> None:
    # [0,60) then [60,120): the check was down without a break, so one interval.
    assert union([iv(0, 60), iv(60, 120)]) == [iv(0, 120)]
    assert union([iv(60, 120), iv(0, 60)]) == [iv(0, 120)]


def test_gap_of_one_microsecond_keeps_intervals_apart() -> None:
    a = iv(0, 60)
    b = Interval(t(60) + timedelta(microseconds=1), t(120))
    assert union([a, b]) == [a, b]


def test_overlapping_failures_of_two_checks_count_once_for_any() -> None:
    # XTIUM §1: several reports of the same problem count once.
    sip = [iv(0, 600)]  # SIP OPTIONS down 10 minutes
    reg = [iv(300, 900)]  # registration down from minute 5 to 15
    down = k_of_n([sip, reg], 1)
    assert down == [iv(0, 900)]
    assert total_seconds(down) == 900  # not 1200


def test_all_is_the_intersection() -> None:
    a = [iv(0, 600), iv(1000, 1200)]
    b = [iv(300, 1100)]
    expected = [iv(300, 600), iv(1000, 1100)]
    assert intersection([a, b]) == expected
    assert k_of_n([a, b], 2) == expected
    assert total_seconds(expected) == 400


def test_two_of_three() -> None:
    a = [iv(0, 100)]
    b = [iv(50, 200)]
    c = [iv(150, 300)]
    # at least two down: [50,100) (a+b) and [150,200) (b+c)
    assert k_of_n([a, b, c], 2) == [iv(50, 100), iv(150, 200)]
    assert k_of_n([a, b, c], 3) == []
    assert k_of_n([a, b, c], 1) == [iv(0, 300)]


def test_two_of_three_joined_where_one_pair_hands_over_to_another() -> None:
    a = [iv(0, 100)]
    b = [iv(0, 200)]
    c = [iv(100, 300)]
    # a+b until 100, then b+c from 100: never fewer than two down in [0,200)
    assert k_of_n([a, b, c], 2) == [iv(0, 200)]


def test_a_group_overlapping_itself_counts_once_in_k_of_n() -> None:
    # One check with two overlapping records must not look like two checks down.
    a = [iv(0, 100), iv(50, 150)]
    b = [iv(500, 600)]
    assert k_of_n([a, b], 2) == []
    assert intersection([a, b]) == []
    # ... while raw coverage of the flattened inputs does count both records
    assert coverage([*a, *b], 2) == [iv(50, 100)]


def test_intersection_edge_cases() -> None:
    assert intersection([]) == []
    assert intersection([[iv(0, 10)]]) == [iv(0, 10)]
    assert intersection([[iv(0, 10)], []]) == []
    assert intersection([[iv(0, 10)], [iv(10, 20)]]) == []  # touching, no overlap


def test_coverage_rejects_k_below_one() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        coverage([iv(0, 1)], 0)


def test_total_seconds_counts_overlap_once_and_keeps_fractions() -> None:
    a = Interval(t(0), t(0) + timedelta(milliseconds=1500))
    b = Interval(t(1), t(3) + timedelta(microseconds=250))
    assert total_seconds([a, b]) == 3.000250


def test_subtract_examples() -> None:
    down = [iv(0, 3600)]
    maintenance = [iv(600, 1200), iv(1800, 2400)]
    assert subtract(down, maintenance) == [iv(0, 600), iv(1200, 1800), iv(2400, 3600)]
    assert subtract(down, [iv(-100, 4000)]) == []
    assert subtract(down, []) == down
    assert subtract([], maintenance) == []
    # cut sticking out at either side
    assert subtract([iv(100, 200)], [iv(50, 120), iv(180, 250)]) == [iv(120, 180)]
    # one cut spanning two base intervals
    assert subtract([iv(0, 10), iv(20, 30)], [iv(5, 25)]) == [iv(0, 5), iv(25, 30)]
    # touching cuts remove nothing
    assert subtract([iv(10, 20)], [iv(0, 10), iv(20, 30)]) == [iv(10, 20)]


# --- properties against a per-second model -----------------------------------

HORIZON = 120

int_intervals = st.tuples(st.integers(0, HORIZON), st.integers(0, HORIZON)).map(
    lambda p: iv(min(p), max(p))
)
interval_lists = st.lists(int_intervals, max_size=8)
groups = st.lists(interval_lists, min_size=1, max_size=5)


def seconds(intervals: list[Interval]) -> set[int]:
    out: set[int] = set()
    for x in intervals:
        start = int((x.start - T0).total_seconds())
        end = int((x.end - T0).total_seconds())
        out.update(range(start, end))
    return out


def assert_canonical(result: list[Interval]) -> None:
    """Sorted, non-empty, and disjoint with a real gap between neighbours."""
    for x in result:
        assert x.start < x.end
    for a, b in pairwise(result):
        assert a.end < b.start


@given(interval_lists)
def test_union_is_canonical_and_covers_exactly_the_inputs(xs: list[Interval]) -> None:
    result = union(xs)
    assert_canonical(result)
    assert seconds(result) == seconds(xs)


@given(interval_lists, st.integers(1, 6))
def test_coverage_matches_the_per_second_count(xs: list[Interval], k: int) -> None:
    result = coverage(xs, k)
    assert_canonical(result)
    counts: Counter[int] = Counter()
    for x in xs:
        counts.update(seconds([x]))
    assert seconds(result) == {s for s, n in counts.items() if n >= k}


@given(groups, st.integers(1, 6))
def test_k_of_n_matches_the_per_second_model(gs: list[list[Interval]], k: int) -> None:
    result = k_of_n(gs, k)
    assert_canonical(result)
    per_group = [seconds(g) for g in gs]
    expected = {s for s in range(HORIZON) if sum(s in g for g in per_group) >= k}
    assert seconds(result) == expected


@given(interval_lists, st.integers(2, 6))
def test_coverage_k_is_inside_coverage_k_minus_one(xs: list[Interval], k: int) -> None:
    higher = coverage(xs, k)
    lower = coverage(xs, k - 1)
    assert subtract(higher, lower) == []
    for x in higher:
        assert any(y.start <= x.start and x.end <= y.end for y in lower)


@given(interval_lists)
def test_total_of_union_is_at_most_sum_of_inputs(xs: list[Interval]) -> None:
    assert total_seconds(union(xs)) <= sum(x.duration.total_seconds() for x in xs)
    assert total_seconds(xs) == len(seconds(xs))


@given(interval_lists, interval_lists)
def test_subtract_and_intersection_rebuild_the_base(a: list[Interval], b: list[Interval]) -> None:
    rest = subtract(a, b)
    common = intersection([a, b])
    assert_canonical(rest)
    assert seconds(rest) == seconds(a) - seconds(b)
    assert seconds(common) == seconds(a) & seconds(b)
    assert union([*rest, *common]) == union(a)
    assert subtract(rest, common) == rest  # the two parts do not overlap
    assert total_seconds(rest) + total_seconds(common) == total_seconds(a)


@given(interval_lists, interval_lists)
def test_intersection_is_commutative(a: list[Interval], b: list[Interval]) -> None:
    assert intersection([a, b]) == intersection([b, a])


@given(groups)
def test_intersection_is_all_of_n(gs: list[list[Interval]]) -> None:
    assert intersection(gs) == k_of_n(gs, len(gs))
    expected = set.intersection(*(seconds(g) for g in gs))
    assert seconds(intersection(gs)) == expected


@given(interval_lists)
def test_union_is_idempotent_and_order_free(xs: list[Interval]) -> None:
    assert union(union(xs)) == union(xs)
    assert union(list(reversed(xs))) == union(xs)
