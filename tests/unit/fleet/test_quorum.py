"""The quorum judge: per-location evidence in, judged DOWN / UNKNOWN / UP out.

Worked examples first (the situations of issue 13's acceptance), then
properties against a brute-force model: with integer-second bounds, the
state at every half second is decided by counting locations, which is the
rule as the issue states it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitord.core.intervals import Interval, union
from monitord.fleet.quorum import (
    OPEN_END,
    JudgedClosed,
    JudgedGap,
    JudgedOpened,
    JudgedPast,
    JudgedState,
    LocationEvidence,
    LocationInterval,
    Recorded,
    Verdict,
    bridged,
    evidence_of,
    judge,
    reconcile,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
END = 10_000  # "still going on" in these tests' seconds


def t(seconds: float) -> datetime:
    return OPEN_END if seconds >= END else T0 + timedelta(seconds=seconds)


def iv(start: float, end: float) -> Interval:
    return Interval(t(start), t(end))


def loc(name: str, down: list[tuple[float, float]], watched: list[tuple[float, float]] | None = None
        ) -> LocationEvidence:
    return LocationEvidence(name, tuple(iv(a, b) for a, b in down),
                            tuple(iv(a, b) for a, b in (watched or [(0, END)])))


# --- worked examples ----------------------------------------------------------------


def test_one_location_at_least_one_is_todays_record() -> None:
    v = judge([loc("ams1", [(100, 150), (300, END)])], 1, t(0))
    assert v.down == (iv(100, 150), iv(300, END))
    assert v.unknown == ()
    assert v.state_at(t(120)) is JudgedState.DOWN
    assert v.state_at(t(200)) is JudgedState.UP


def test_a_cut_at_one_location_is_evidence_but_no_judged_downtime() -> None:
    # acceptance: A's path cut for 10 intervals, B sees the target up
    a = loc("A", [(10, 60)])
    b = loc("B", [])
    v = judge([a, b], 2, t(0))
    assert v.down == ()
    assert v.unknown == ()
    assert reconcile(v, Recorded()) == []


def test_judged_interval_starts_at_the_later_first_failure_and_ends_at_the_first_recovery() -> None:
    # A's first failed probe at 100, B's at 103; A recovers at 152, B at 150
    a = loc("A", [(100, 152)])
    b = loc("B", [(103, 150)])
    v = judge([a, b], 2, t(0))
    assert v.down == (iv(103, 150),)
    assert reconcile(v, Recorded()) == [JudgedPast(t(103), t(150), "recovered")]
    assert evidence_of(v.down[0], [a, b]) == [
        LocationInterval("A", t(100), t(152)), LocationInterval("B", t(103), t(150))]


def test_open_judged_interval_opens_once_then_closes_at_the_right_instant() -> None:
    a, b = loc("A", [(100, END)]), loc("B", [(103, END)])
    v = judge([a, b], 2, t(0))
    assert reconcile(v, Recorded()) == [JudgedOpened(t(103))]
    assert reconcile(v, Recorded(open_start=t(103))) == []  # a new judge: nothing twice
    later = judge([loc("A", [(100, 160)]), b], 2, t(0))
    assert reconcile(later, Recorded(open_start=t(103))) == [
        JudgedClosed(t(103), t(160), "recovered")]
    assert reconcile(later, Recorded(closed=(iv(103, 160),))) == []


def test_two_of_three_locations() -> None:
    v = judge([loc("A", [(10, 50)]), loc("B", [(20, 40)]), loc("C", [(30, 60)])], 2, t(0))
    assert v.down == (iv(20, 50),)
    assert judge([loc("A", [(10, 50)]), loc("B", [(20, 40)]), loc("C", [(30, 60)])], 3,
                 t(0)).down == (iv(30, 40),)


def test_fewer_than_k_fresh_locations_is_unknown_never_up() -> None:
    # B's agents were gone from 200 to 260: with at_least 2 nobody can say
    a = loc("A", [])
    b = loc("B", [], watched=[(0, 200), (260, END)])
    v = judge([a, b], 2, t(0))
    assert v.unknown == (iv(200, 260),)
    assert v.state_at(t(230)) is JudgedState.UNKNOWN
    assert reconcile(v, Recorded()) == [JudgedGap(t(200), t(260))]
    assert reconcile(v, Recorded(gaps=(iv(200, 230),))) == [JudgedGap(t(230), t(260))]


def test_only_one_location_ever_with_at_least_two_is_all_unknown() -> None:
    v = judge([loc("A", [(5, 9)])], 2, t(0))
    assert v.down == ()
    assert v.unknown == (iv(0, END),)
    assert reconcile(v, Recorded()) == []  # still unknown: written once it ends


def test_a_location_that_goes_silent_while_down_ends_the_interval_as_unmonitored() -> None:
    # B went silent at 130 with its interval still open, A stays down
    a = loc("A", [(100, END)])
    b = loc("B", [(103, END)], watched=[(0, 130)])
    v = judge([a, b], 2, t(0))
    assert v.down == (iv(103, 130),)
    assert v.unknown == (iv(130, END),)
    assert reconcile(v, Recorded(open_start=t(103))) == [
        JudgedClosed(t(103), t(130), "unmonitored")]


def test_evidence_arriving_late_moves_the_open_start_back() -> None:
    # the record opened at 110 from what it had; a location that replays shows 103
    v = judge([loc("A", [(100, END)]), loc("B", [(103, END)])], 2, t(0))
    assert reconcile(v, Recorded(open_start=t(110))) == [JudgedOpened(t(103))]
    closed = judge([loc("A", [(100, 150)]), loc("B", [(103, END)])], 2, t(0))
    assert reconcile(closed, Recorded(open_start=t(110))) == [
        JudgedOpened(t(103)), JudgedClosed(t(103), t(150), "recovered")]


def test_the_record_is_never_shortened() -> None:
    v = judge([loc("A", [(105, END)]), loc("B", [(103, END)])], 2, t(0))
    assert reconcile(v, Recorded(open_start=t(100))) == []


def test_unsupported_open_interval_closes_where_it_started() -> None:
    v = judge([loc("A", []), loc("B", [])], 2, t(0))
    assert reconcile(v, Recorded(open_start=t(50))) == [JudgedClosed(t(50), t(50), "unmonitored")]


def test_horizon_clips_evidence() -> None:
    v = judge([loc("A", [(10, 80)]), loc("B", [(20, 90)])], 2, t(50))
    assert v.down == (iv(50, 80),)
    assert reconcile(v, Recorded(closed=(iv(20, 80),))) == []


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        judge([], 0, t(0))
    with pytest.raises(ValueError, match="twice"):
        judge([loc("A", []), loc("A", [])], 1, t(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        judge([], 1, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        bridged([], timedelta(seconds=-1))


def test_bridged_fills_only_short_silences() -> None:
    spans = [iv(0, 10), iv(13, 20), iv(30, 40)]
    assert bridged(spans, timedelta(seconds=3)) == [iv(0, 20), iv(30, 40)]
    assert bridged(spans, timedelta(seconds=2)) == spans
    assert bridged([iv(0, 10), iv(12, END)], timedelta(seconds=5)) == [iv(0, END)]


# --- properties against a brute-force model ----------------------------------------

H = 60  # the horizon the generated evidence lives in, in seconds


def _spans(draw: st.DrawFn, allow_open: bool) -> list[tuple[int, int]]:
    cuts = sorted(set(draw(st.lists(st.integers(0, H), max_size=6))))
    pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    if allow_open and draw(st.booleans()):
        start = draw(st.integers(0, H))
        pairs = [(a, b) for a, b in pairs if b < start] + [(start, END)]
    return pairs


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[LocationEvidence], int]:
    n = draw(st.integers(1, 4))
    out = []
    for i in range(n):
        down = _spans(draw, allow_open=True)
        watched = _spans(draw, allow_open=True) if draw(st.booleans()) else [(0, END)]
        out.append(loc(f"L{i}", down, watched))
    return out, draw(st.integers(1, n + 1))


def _model(evidence: list[LocationEvidence], k: int, at: datetime) -> JudgedState:
    def inside(spans: tuple[Interval, ...]) -> bool:
        return any(s.start <= at < s.end for s in spans)

    fresh = [ev for ev in evidence if inside(ev.watched)]
    if sum(1 for ev in fresh if inside(ev.down)) >= k:
        return JudgedState.DOWN
    return JudgedState.UNKNOWN if len(fresh) < k else JudgedState.UP


@settings(max_examples=300)
@given(fleets())
def test_verdict_matches_counting_locations_at_every_instant(case: tuple[list[LocationEvidence], int]
                                                             ) -> None:
    evidence, k = case
    v = judge(evidence, k, t(0))
    for half in range(2 * (H + 3)):
        at = t(half / 2)
        assert v.state_at(at) is _model(evidence, k, at), (half / 2, v)
    assert v.state_at(OPEN_END - timedelta(days=1)) is _model(evidence, k,
                                                              OPEN_END - timedelta(days=1))


@settings(max_examples=300)
@given(fleets())
def test_judged_starts_are_kth_location_starts_and_ends_are_location_ends(
        case: tuple[list[LocationEvidence], int]) -> None:
    """A judged interval starts where some location's counted interval (or freshness) began
    and ends where one ended: no instant is invented."""
    evidence, k = case
    v = judge(evidence, k, t(0))
    edges = {t(0), OPEN_END}
    for ev in evidence:
        for s in (*ev.down, *ev.watched):
            edges.update((s.start, s.end))
    for seg in (*v.down, *v.unknown):
        assert seg.start in edges and seg.end in edges


def _apply(rec: Recorded, changes: list[object]) -> Recorded:
    """The writer's rules on a model record: opens widen back, a past stretch folds in what it
    touches, a close ends the open interval, gaps are added."""
    open_start, closed, gaps = rec.open_start, list(rec.closed), list(rec.gaps)
    for c in changes:
        if isinstance(c, JudgedOpened):
            open_start = c.start if open_start is None else min(open_start, c.start)
        elif isinstance(c, JudgedClosed):
            assert open_start is not None and c.start <= open_start
            closed.append(Interval(c.start, c.end))
            open_start = None
        elif isinstance(c, JudgedPast):
            closed = union([*closed, Interval(c.start, c.end)])
        elif isinstance(c, JudgedGap):
            assert not any(g.start < c.end and c.start < g.end for g in gaps), "a gap twice"
            gaps.append(Interval(c.start, c.end))
    return Recorded(open_start, tuple(closed), tuple(gaps))


@settings(max_examples=300)
@given(fleets())
def test_reconcile_writes_the_verdict_once(case: tuple[list[LocationEvidence], int]) -> None:
    evidence, k = case
    v = judge(evidence, k, t(0))
    rec = _apply(Recorded(), list(reconcile(v, Recorded())))
    assert reconcile(v, rec) == []  # a second judge over the same record writes nothing
    written = union([*rec.closed, *([Interval(rec.open_start, OPEN_END)] if rec.open_start else [])])
    assert written == list(union(v.down))
    assert union(rec.gaps) == [u for u in v.unknown if u.end != OPEN_END]


@st.composite
def growing(draw: st.DrawFn) -> tuple[list[LocationEvidence], int, list[int]]:
    evidence, k = draw(fleets())
    cuts = sorted(set(draw(st.lists(st.integers(1, H + 2), min_size=1, max_size=5))))
    return evidence, k, cuts


def _as_of(evidence: list[LocationEvidence], now: int) -> list[LocationEvidence]:
    """What a judge knows at `now`: intervals not started yet are unknown, ones ending later open."""
    def cut(spans: tuple[Interval, ...]) -> tuple[Interval, ...]:
        return tuple(Interval(s.start, OPEN_END if s.end > t(now) else s.end)
                     for s in spans if s.start <= t(now))

    return [LocationEvidence(ev.location, cut(ev.down), cut(ev.watched)) for ev in evidence]


@settings(max_examples=300)
@given(growing())
def test_a_judge_running_along_writes_each_transition_once_and_ends_with_the_truth(
        case: tuple[list[LocationEvidence], int, list[int]]) -> None:
    """Rounds at increasing times, each seeing only what had happened: the open interval
    is opened once and closed once, and the record ends up equal to the full verdict."""
    evidence, k, rounds = case
    rec = Recorded()
    opens = 0
    for now in [*rounds, END]:
        v: Verdict = judge(_as_of(evidence, now), k, t(0))
        changes = reconcile(v, rec)
        opens += sum(1 for c in changes if isinstance(c, JudgedOpened) and rec.open_start is None)
        rec = _apply(rec, list(changes))
    final = judge(evidence, k, t(0))
    assert reconcile(final, rec) == []
    assert opens <= len(final.down)  # each judged interval is opened at most once
