"""The check state machine, fed step by step; counters, state and events asserted after every step.

The contract (sla-rules §1): alert after 3 consecutive failures, downtime
after 5, starting at the first failed probe and ending at the first success.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitord.core.checkstate import TRANSITIONS, CheckMachine, Observation, Signal, Thresholds
from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    DowntimeStart,
    EpisodeRecorded,
    probed_again,
)

T0 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the night the clocks go back in Amsterdam
U, F, A, D = CheckState.UP, CheckState.FAILING, CheckState.ALERTING, CheckState.DOWN


def t(i: int) -> datetime:
    return T0 + timedelta(seconds=10 * i)


def run(machine: CheckMachine, pattern: str) -> list[tuple[CheckSnapshot, tuple[object, ...]]]:
    """Feed 'F' (fail) / '.' (ok) at 10 s intervals; return the snapshot and events after each."""
    snap = CheckSnapshot.initial(machine.name)
    out = []
    for i, ch in enumerate(pattern):
        obs = (
            Observation(t(i), False, "timeout", f"probe {i} timed out")
            if ch == "F"
            else Observation(t(i), True)
        )
        snap, events = machine.step(snap, obs)
        out.append((snap, events))
    return out


def test_the_contract_sequence_step_by_step() -> None:
    m = CheckMachine("pbx", Thresholds())
    steps = run(m, "..FFFFFFFF..")
    expected = [
        # state, consecutive_failures, event types
        (U, 0, []),
        (U, 0, []),
        (F, 1, []),
        (F, 2, []),
        (A, 3, [AlertRaised]),
        (A, 4, []),
        (D, 5, [DowntimeOpened]),
        (D, 6, []),
        (D, 7, []),
        (D, 8, []),
        (U, 0, [DowntimeClosed, AlertResolved]),
        (U, 0, []),
    ]
    for i, ((snap, events), (state, fails, kinds)) in enumerate(zip(steps, expected, strict=True)):
        assert snap.state is state, f"step {i}"
        assert snap.consecutive_failures == fails, f"step {i}"
        assert [type(e) for e in events] == kinds, f"step {i}"

    raised = steps[4][1][0]
    assert isinstance(raised, AlertRaised)
    assert raised.since == t(2) and raised.at == t(4) and raised.failures == 3
    assert raised.reason == "timeout" and raised.detail == "probe 2 timed out"
    opened = steps[6][1][0]
    assert isinstance(opened, DowntimeOpened)
    assert opened.start == t(2), "downtime starts at the FIRST failed probe"
    assert opened.confirmed_at == t(6)
    assert opened.detail == "probe 2 timed out", "the evidence is the first failure's detail"
    closed = steps[10][1][0]
    assert isinstance(closed, DowntimeClosed)
    assert (closed.start, closed.end) == (t(2), t(10)), "ends at the first success"
    assert steps[10][0].streak_start is None and steps[10][0].downtime_start is None


def test_a_streak_between_alert_and_down_is_an_episode_not_downtime() -> None:
    m = CheckMachine("pbx", Thresholds())
    steps = run(m, ".FFFF.")
    assert [s.state for s, _ in steps] == [U, F, F, A, A, U]
    assert [type(e) for e in steps[3][1]] == [AlertRaised]
    final = steps[5][1]
    assert [type(e) for e in final] == [EpisodeRecorded, AlertResolved]
    episode = final[0]
    assert isinstance(episode, EpisodeRecorded)
    assert (episode.start, episode.end, episode.failures) == (t(1), t(5), 4)
    assert not any(isinstance(e, DowntimeOpened) for _, evs in steps for e in evs)


def test_two_failures_then_success_emit_nothing() -> None:
    steps = run(CheckMachine("pbx", Thresholds()), "FF.FF.")
    assert all(events == () for _, events in steps)
    assert [s.state for s, _ in steps] == [F, F, U, F, F, U]


def test_recover_after_two_ends_downtime_at_first_success_of_the_recovering_streak() -> None:
    m = CheckMachine("pbx", Thresholds(alert_after=1, down_after=2, recover_after=2))
    steps = run(m, "FF.F..")
    assert [s.state for s, _ in steps] == [A, D, D, D, D, U]
    assert [s.consecutive_successes for s, _ in steps] == [0, 0, 1, 0, 1, 0]
    closed = steps[5][1][0]
    assert isinstance(closed, DowntimeClosed)
    # the lone success at t(2) was interrupted by a failure; recovery began at t(4)
    assert (closed.start, closed.end) == (t(0), t(4))
    resolved = steps[5][1][1]
    assert isinstance(resolved, AlertResolved) and resolved.at == t(4)


def test_confirmation_policy_starts_downtime_at_the_down_after_probe() -> None:
    m = CheckMachine("pbx", Thresholds(downtime_start=DowntimeStart.CONFIRMATION))
    steps = run(m, "FFFFF.")
    opened = steps[4][1][0]
    assert isinstance(opened, DowntimeOpened) and opened.start == t(4)
    closed = steps[5][1][0]
    assert isinstance(closed, DowntimeClosed) and (closed.start, closed.end) == (t(4), t(5))


def test_equal_thresholds_raise_and_open_on_the_same_probe() -> None:
    steps = run(CheckMachine("pbx", Thresholds(alert_after=2, down_after=2)), "FF.")
    assert [type(e) for e in steps[1][1]] == [AlertRaised, DowntimeOpened]
    assert [type(e) for e in steps[2][1]] == [DowntimeClosed, AlertResolved]


def test_resume_from_snapshot_continues_the_streak() -> None:
    m = CheckMachine("pbx", Thresholds())
    snap = run(m, "FFF")[-1][0]
    assert snap.state is A
    # a restart hands back the same snapshot: the 5th failure still opens the interval at t(0)
    snap, events = m.step(snap, Observation(t(3), False, "refused"))
    snap, events = m.step(snap, Observation(t(4), False, "refused"))
    assert isinstance(events[0], DowntimeOpened) and events[0].start == t(0)
    assert events[0].reason == "timeout", "the reason is the first failure's"


def test_invalid_thresholds_and_observations_are_rejected() -> None:
    with pytest.raises(ValueError, match="cannot exceed down_after"):
        Thresholds(alert_after=6, down_after=5)
    with pytest.raises(ValueError, match="at least 1"):
        Thresholds(recover_after=0)
    m = CheckMachine("pbx", Thresholds())
    with pytest.raises(ValueError, match="timezone-aware"):
        m.step(CheckSnapshot.initial("pbx"), Observation(datetime(2026, 1, 1), True))
    with pytest.raises(ValueError, match="needs a reason"):
        m.step(CheckSnapshot.initial("pbx"), Observation(t(0), False))


def test_every_reachable_state_signal_pair_has_a_transition() -> None:
    m = CheckMachine("pbx", Thresholds(alert_after=2, down_after=4, recover_after=2))
    seen: set[tuple[CheckState, Signal]] = set()
    for pattern in ["FFFFFF..F..", "F.FF.F.FFFF.F..", "FF..FFF.F.."]:
        snap = CheckSnapshot.initial("pbx")
        for i, ch in enumerate(pattern):
            seen.add((snap.state, m.classify(snap, ch == ".")))
            snap, _ = m.step(snap, Observation(t(i), ch == ".", None if ch == "." else "timeout"))
    assert seen <= set(TRANSITIONS)


@given(
    pattern=st.text(alphabet="F.", max_size=60),
    alert=st.integers(1, 6),
    extra=st.integers(0, 4),
    recover=st.integers(1, 3),
)
def test_invariants_hold_for_any_sequence(pattern: str, alert: int, extra: int, recover: int) -> None:
    th = Thresholds(alert_after=alert, down_after=alert + extra, recover_after=recover)
    m = CheckMachine("pbx", th)
    raised = opened = 0
    intervals: list[tuple[datetime, datetime]] = []
    snap = CheckSnapshot.initial("pbx")
    for i, ch in enumerate(pattern):
        snap, events = m.step(snap, Observation(t(i), ch == ".", None if ch == "." else "timeout"))
        for e in events:
            if isinstance(e, AlertRaised):
                raised += 1
                assert e.failures == th.alert_after or e.failures == th.down_after
            elif isinstance(e, AlertResolved):
                raised -= 1
            elif isinstance(e, DowntimeOpened):
                opened += 1
                assert e.start <= e.confirmed_at
            elif isinstance(e, DowntimeClosed):
                opened -= 1
                intervals.append((e.start, e.end))
        assert raised in (0, 1) and opened in (0, 1), "never two open alerts or intervals"
        assert (opened == 1) == (snap.state is D)
        assert (raised == 1) == (snap.state in (A, D))
        assert snap.consecutive_failures == 0 or snap.streak_start is not None
    for (s1, e1), (s2, _e2) in itertools.pairwise(intervals):
        assert s1 < e1 <= s2, "intervals never overlap and never have zero length"


def test_answered_moves_only_the_last_probe_of_an_up_check() -> None:
    at = datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    snap = CheckSnapshot.initial("sbc")
    after = CheckMachine.answered(snap, at)
    assert after == dataclasses.replace(snap, last_probe=at)
    machine = CheckMachine("sbc", Thresholds())
    assert machine.step(snap, Observation(at, True)) == (after, ())
    with pytest.raises(ValueError, match="timezone-aware"):
        CheckMachine.answered(snap, at.replace(tzinfo=None))
    failing, _ = machine.step(snap, Observation(at, False, "timeout"))
    with pytest.raises(ValueError, match="UP check"):
        CheckMachine.answered(failing, at)


_STAMPS = st.none() | st.datetimes(timezones=st.just(UTC))
_SNAPSHOTS = st.builds(
    CheckSnapshot, st.text(max_size=8), st.sampled_from(CheckState), st.integers(0, 9),
    st.integers(0, 9), _STAMPS, st.none() | st.text(max_size=8), st.text(max_size=8), _STAMPS,
    _STAMPS, _STAMPS)


@given(snap=_SNAPSHOTS, at=st.datetimes(timezones=st.just(UTC)))
def test_probed_again_is_the_constructor_with_only_last_probe_new(snap: CheckSnapshot,
                                                                  at: datetime) -> None:
    """The fast copy (slots written directly) makes what the frozen constructor makes."""
    fast = probed_again(snap, at)
    careful = dataclasses.replace(snap, last_probe=at)
    assert type(fast) is CheckSnapshot
    assert fast == careful and hash(fast) == hash(careful)
    assert dataclasses.astuple(fast) == dataclasses.astuple(careful)


def test_probed_again_refuses_a_naive_stamp_as_the_constructor_does() -> None:
    class NoOffset(tzinfo):  # aware in name only: utcoffset() says nothing
        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    snap = CheckSnapshot.initial("sbc")
    for at in (T0.replace(tzinfo=None), T0.replace(tzinfo=NoOffset())):
        with pytest.raises(ValueError) as careful:
            dataclasses.replace(snap, last_probe=at)
        with pytest.raises(ValueError) as fast:
            probed_again(snap, at)
        assert str(fast.value) == str(careful.value)


def _careful_count(snap: CheckSnapshot, obs: Observation) -> CheckSnapshot:
    """The streak counting as it was written with `replace`, field by name."""
    if obs.ok:
        return dataclasses.replace(snap, consecutive_successes=snap.consecutive_successes + 1,
                                   last_probe=obs.at, recovery_start=snap.recovery_start or obs.at)
    first = snap.state is U
    return dataclasses.replace(
        snap, consecutive_failures=snap.consecutive_failures + 1, consecutive_successes=0,
        recovery_start=None, last_probe=obs.at,
        streak_start=obs.at if first else snap.streak_start,
        streak_reason=obs.reason if first else snap.streak_reason,
        streak_detail=obs.detail if first else snap.streak_detail)


@given(pattern=st.text(alphabet="F.", max_size=40), alert=st.integers(1, 4),
       extra=st.integers(0, 3), recover=st.integers(1, 3))
def test_counting_built_positionally_matches_replace_by_name(pattern: str, alert: int,
                                                             extra: int, recover: int) -> None:
    m = CheckMachine("pbx", Thresholds(alert_after=alert, down_after=alert + extra,
                                       recover_after=recover))
    snap = CheckSnapshot.initial("pbx")
    for i, ch in enumerate(pattern):
        obs = Observation(t(i), ch == ".", None if ch == "." else "timeout", f"probe {i}")
        assert m._count(snap, obs) == _careful_count(snap, obs)
        snap, _ = m.step(snap, obs)
