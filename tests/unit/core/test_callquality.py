"""Call-quality priorities (XTIUM §1): the boundaries as written, and a window fed
call by call with the priority asserted after every step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitord.core.callquality import (
    CallVerdict,
    CallWindow,
    Priority,
    ServiceQuality,
    classify,
    verdict,
)
from probes.base import FailureReason, ProbeResult
from probes.measurements import CallMeasured

T0 = datetime(2024, 10, 27, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("audio", "dropped", "expected"),
    [
        (0.0, 0.0, Priority.NONE),  # P4: no disruption
        (0.005, 0.0, Priority.P3),  # audio problems in less than 1 %
        (0.01, 0.0, Priority.P2),  # exactly 1 % is not "less than 1 %"
        (0.05, 0.0, Priority.P2),
        (0.10, 0.0, Priority.P2),  # exactly 10 % is not "more than 10 %"
        (0.1001, 0.0, Priority.P1),
        (0.0, 0.005, Priority.P2),  # XTIUM has no P3 for drops
        (0.0, 0.10, Priority.P2),
        (0.0, 0.11, Priority.P1),
        (0.005, 0.05, Priority.P2),  # the worse of the two
        (0.5, 0.05, Priority.P1),
    ],
)
def test_classify_follows_the_xtium_wording(audio: float, dropped: float,
                                             expected: Priority) -> None:
    assert classify(audio, dropped) is expected


def test_classify_refuses_a_share_outside_0_1() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        classify(1.5, 0.0)


def test_verdict_counts_only_answered_calls() -> None:
    good = ProbeResult.success(0.1, measured=CallMeasured(mos=4.4))
    poor = ProbeResult.success(0.1, measured=CallMeasured(mos=3.49))
    edge = ProbeResult.success(0.1, measured=CallMeasured(mos=3.5))
    assert verdict(good, T0) == CallVerdict(T0, False, False, 4.4)
    assert verdict(poor, T0) == CallVerdict(T0, True, False, 3.49)
    assert verdict(edge, T0) == CallVerdict(T0, False, False, 3.5)  # 3.5 is not below 3.5
    dropped = ProbeResult.failure(FailureReason.DROPPED, "BYE", measured=CallMeasured(mos=4.3))
    assert verdict(dropped, T0) == CallVerdict(T0, False, True, 4.3)
    one_way = ProbeResult.failure(FailureReason.ONE_WAY_AUDIO, "rx only")
    assert verdict(one_way, T0) == CallVerdict(T0, True, False, None)
    for reason in (FailureReason.BUSY, FailureReason.NO_ANSWER, FailureReason.TIMEOUT,
                   FailureReason.CALL_REJECTED):
        assert verdict(ProbeResult.failure(reason, "x"), T0) is None


def test_window_keeps_the_last_n_calls_younger_than_the_age() -> None:
    w = CallWindow(3, timedelta(minutes=10))
    for i, poor in enumerate([True, False, False, True]):
        w.add(CallVerdict(T0 + timedelta(minutes=i), poor, False))
    f = w.figures(T0 + timedelta(minutes=3))
    assert (f.calls, f.poor_audio) == (3, 1)  # the first poor call fell out by count
    f = w.figures(T0 + timedelta(minutes=12, seconds=1))
    assert (f.calls, f.poor_audio) == (1, 1)  # minutes 1 and 2 fell out by age


def test_service_priority_after_every_call() -> None:
    sq = ServiceQuality("pbx", calls=10, window=timedelta(hours=1), min_calls=4)
    steps = [  # (poor, dropped) -> (priority after, changed)
        ((True, False), (Priority.NONE, False)),  # 1 call: too few for a share, hold
        ((False, False), (Priority.NONE, False)),
        ((False, False), (Priority.NONE, False)),
        ((False, False), (Priority.P1, True)),  # 1/4 = 25 % poor
        *[((False, False), (Priority.P1, False))] * 5,  # 1/9 = 11.1 %: still more than 10 %
        ((False, False), (Priority.P2, True)),  # 1/10 = exactly 10 %: P2
        ((False, False), (Priority.NONE, True)),  # the poor call left the window
        ((False, True), (Priority.P2, True)),  # 1/10 dropped
        ((False, True), (Priority.P1, True)),  # 2/10 dropped
    ]
    for i, ((poor, dropped), (priority, changed)) in enumerate(steps):
        change = sq.observe(CallVerdict(T0 + timedelta(minutes=i), poor, dropped))
        assert sq.priority is priority, i
        assert (change is not None) == changed, i
        if change is not None:
            assert change.after is priority
            assert change.at == T0 + timedelta(minutes=i)


def test_an_aged_out_window_holds_its_priority_until_enough_calls() -> None:
    sq = ServiceQuality("pbx", calls=5, window=timedelta(minutes=10), min_calls=2,
                        priority=Priority.P1)  # as resumed from an open stored interval
    assert sq.observe(CallVerdict(T0, False, False)) is None
    change = sq.observe(CallVerdict(T0 + timedelta(minutes=1), False, False))
    assert change is not None and (change.before, change.after) == (Priority.P1, Priority.NONE)
    assert sq.observe(CallVerdict(T0 + timedelta(hours=2), True, False)) is None  # 1 call left
    assert sq.priority is Priority.NONE


def test_min_calls_must_fit_the_window() -> None:
    with pytest.raises(ValueError, match="min_calls"):
        ServiceQuality("pbx", calls=3, window=timedelta(hours=1), min_calls=4)


def test_the_audio_path_verdicts_count_as_answered_poor_calls() -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for reason in (FailureReason.AUDIO_GAPS, FailureReason.LOOPED_BACK,
                   FailureReason.UNEXPECTED_AUDIO):
        call = verdict(ProbeResult.failure(reason, "x"), at)
        assert call is not None and call.poor_audio and not call.dropped, reason
    ivr = verdict(ProbeResult.failure(FailureReason.DTMF_FAILED, "no 7 back"), at)
    assert ivr is not None and not ivr.poor_audio  # answered, an IVR fault, not audio
    bound = verdict(ProbeResult.success(0.1, "", CallMeasured(mos_estimated=3.2)), at)
    assert bound is not None and bound.poor_audio  # an upper bound already below 3.5
    unsure = verdict(ProbeResult.success(0.1, "", CallMeasured(mos_estimated=4.2)), at)
    assert unsure is not None and not unsure.poor_audio
