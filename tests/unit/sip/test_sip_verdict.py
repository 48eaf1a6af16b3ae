"""The call verdict through the two-core harnesses: SIP (callpair) and media (mediapair).

Each verdict a caller can live through is produced here with no sockets and
a fake clock: answered, rejected, dropped by the far end (and when), media
stopped, no media, one-way each way, silence, looped-back media, audio gaps,
DTMF that does not come back. The same verdicts against real peers are in
tests/integration/test_call_verdicts_peers.py.
"""

from __future__ import annotations

import pytest
from callpair import CallPair

from probes.quality.audio import Signal
from probes.reasons import FailureReason
from probes.rtp.g711 import FRAME_SAMPLES, Law, encode
from probes.rtp.session import MediaReport, MediaSettings
from probes.sip.call import CallAnswered
from probes.sip.uas_dialog import AnswerPlan
from probes.sip.verdict import CallJudge, CallOutcome, Direction, FarEnd, MediaFacts, judge
from tests.unit.mediapair import Link, MediaPair

ANSWER = b"v=0\r\no=- 2 2 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n"
CALLER = MediaSettings(law=Law.PCMU, payload_type=0, duration=3.0, telephone_event=101)
ANSWER_POINT = MediaSettings(law=Law.PCMU, payload_type=0, duration=None, signal=Signal.ANSWER,
                             telephone_event=101, answer_point=True)
ECHO = MediaSettings(law=Law.PCMU, payload_type=0, duration=None, echo=True)


def feed(pair: CallPair, judge_: CallJudge) -> None:
    for event in pair.uac_events():
        judge_.sip_event(event)


def test_answered_then_the_far_end_hangs_up_is_dropped_by_it_and_when() -> None:
    pair = CallPair.make(AnswerPlan(sdp_answer=ANSWER, ring_seconds=1.0))
    j = CallJudge(duration=10.0, media_timeout=2.0)
    pair.run(until=5.0, stop=lambda p: p.uac.state.value == "confirmed")
    feed(pair, j)
    assert j.answered_at == pytest.approx(1.0, abs=0.01) and not j.media_phase
    j.media_started(pair.now)
    # before any media, a look every media_timeout; then media_timeout after the last packet
    assert j.media_phase and j.get_timer(None, pair.now) == pytest.approx(pair.now + 2.0)
    assert j.get_timer(pair.now + 0.5, pair.now + 1.0) == pytest.approx(pair.now + 2.5)
    pair.now = 4.0
    pair.uas.hangup(pair.now)
    pair.run(until=6.0)
    feed(pair, j)
    assert j.done and j.ended is not None
    v = judge(j.ended, MediaFacts(tx_packets=150, rx_packets=150, rx_audio=None, peer_reports=0,
                                  reports_about_us=0, tx_loss=None, tx_audio=None,
                                  own_returned=True))
    assert v.outcome is CallOutcome.DROPPED and v.dropped_by == "far_end"
    assert v.at == pytest.approx(3.0, abs=0.01) and v.reason is FailureReason.DROPPED


def test_a_rejected_call_never_starts_media() -> None:
    pair = CallPair.make(AnswerPlan(status=486))
    j = CallJudge(duration=5.0, media_timeout=2.0)
    pair.run(until=5.0)
    feed(pair, j)
    assert j.done and not j.media_phase
    failure = j.failure()
    assert failure is not None and failure.outcome is CallOutcome.REJECTED


def media_call(far: MediaSettings | None, caller: MediaSettings = CALLER,
               far_end: FarEnd = FarEnd.ANY, require_digits: bool = False,
               **links: Link) -> tuple[CallJudge, MediaReport, MediaFacts]:
    pair = MediaPair.make(caller, far, **links)
    j = CallJudge(duration=3.0, media_timeout=1.0)
    j.sip_event(CallAnswered(response=None, sdp=b"", time=0.0))  # type: ignore[arg-type]
    j.media_started(0.0)
    pair.judge = j
    pair.start()
    pair.run(3.5)
    report = pair.finish()
    rx, peer = report.rx, report.peer
    facts = MediaFacts(
        tx_packets=report.tx_packets, rx_packets=0 if rx is None else rx.stats.received,
        rx_audio=None if rx is None else rx.audio, peer_reports=peer.peer_reports,
        reports_about_us=peer.reports_about_us,
        tx_loss=None if peer.last_block is None else peer.last_block.cumulative_lost / 150,
        tx_audio=None if peer.audio is None else peer.audio.figures,
        own_returned=report.own_ssrc_received, far_end=far_end,
        digits_sent=report.digits_sent, digits_received="" if rx is None else rx.digits,
        require_digits=require_digits)
    return j, report, facts


def test_clean_calls_are_answered() -> None:
    for far, expect in ((ECHO, FarEnd.ECHO), (ANSWER_POINT, FarEnd.ANSWER_POINT),
                        (ANSWER_POINT, FarEnd.ANY)):
        j, _, facts = media_call(far, far_end=expect)
        assert j.ended is None and judge(None, facts).outcome is CallOutcome.ANSWERED


def test_no_rtp_either_way_is_no_media() -> None:
    j, _, facts = media_call(None)
    v = judge(j.ended, facts)
    assert v.outcome is CallOutcome.NO_MEDIA and v.reason is FailureReason.NO_MEDIA


def test_one_way_each_direction() -> None:
    rtp_only = Link(drop=lambda i, now: True)
    j, _, facts = media_call(ANSWER_POINT, down=Link(drop=rtp_only.drop))
    v = judge(j.ended, facts)
    assert (v.outcome, v.direction) == (CallOutcome.ONE_WAY, Direction.RX), v.detail
    j, _, facts = media_call(ANSWER_POINT, up=Link(drop=rtp_only.drop))
    v = judge(j.ended, facts)
    assert (v.outcome, v.direction) == (CallOutcome.ONE_WAY, Direction.TX), v.detail
    assert "none about our stream" in v.detail


def test_rtp_of_silence_is_one_way_audio() -> None:
    silent = encode(Law.PCMU, [0] * FRAME_SAMPLES)
    j, _, facts = media_call(ANSWER_POINT, down=Link(rewrite=lambda d: d[:12] + silent))
    v = judge(j.ended, facts)
    assert (v.outcome, v.direction) == (CallOutcome.ONE_WAY, Direction.RX)
    assert "silence" in v.detail


def test_media_stopping_mid_call_is_judged_by_the_timer() -> None:
    j, _, facts = media_call(ANSWER_POINT, down=Link(drop=lambda i, now: now >= 1.5))
    assert j.ended is not None
    v = judge(j.ended, facts)
    assert v.outcome is CallOutcome.MEDIA_STOPPED and v.direction is Direction.RX
    assert v.at == pytest.approx(1.5, abs=0.03) and v.reason is FailureReason.DROPPED


def test_our_signal_looped_back_by_a_relay_is_not_a_far_end() -> None:
    j, _, facts = media_call(ANSWER_POINT, far_end=FarEnd.ANSWER_POINT,
                             up=Link(reflect=True), down=Link(drop=lambda i, now: True))
    v = judge(j.ended, facts)
    assert v.outcome is CallOutcome.LOOPED_BACK and v.reason is FailureReason.LOOPED_BACK
    # The same media from an echo is what an echo should do.
    j, _, facts = media_call(ECHO, far_end=FarEnd.ECHO)
    assert judge(j.ended, facts).outcome is CallOutcome.ANSWERED


def test_an_echo_that_sends_its_own_signal_is_unexpected_not_one_way() -> None:
    j, _, facts = media_call(ANSWER_POINT, far_end=FarEnd.ECHO)
    v = judge(j.ended, facts)
    assert v.outcome is CallOutcome.UNEXPECTED_AUDIO and v.reason is FailureReason.UNEXPECTED_AUDIO


def test_gaps_in_either_direction() -> None:
    j, _, facts = media_call(ANSWER_POINT, down=Link(drop=lambda i, now: 1.0 <= now < 1.4))
    v = judge(j.ended, facts)
    assert (v.outcome, v.direction) == (CallOutcome.AUDIO_GAPS, Direction.RX)
    assert "400 ms" in v.detail or "380 ms" in v.detail or "420 ms" in v.detail
    j, _, facts = media_call(ANSWER_POINT, up=Link(drop=lambda i, now: 1.0 <= now < 1.4))
    v = judge(j.ended, facts)
    assert (v.outcome, v.direction) == (CallOutcome.AUDIO_GAPS, Direction.TX), v.detail


def test_digits_must_come_back_when_required() -> None:
    caller = MediaSettings(law=Law.PCMU, payload_type=0, duration=3.0, telephone_event=101,
                           dtmf=(("4", 0.5), ("2", 1.0)))
    j, _, facts = media_call(ANSWER_POINT, caller=caller, require_digits=True)
    assert judge(j.ended, facts).outcome is CallOutcome.ANSWERED
    assert facts.digits_received == "42"
    # A gateway that mangles the first event: "4" arrives as "9", and comes back so.
    wrong = Link(rewrite=lambda d: d[:12] + b"\x09" + d[13:]
                 if d[1] & 0x7F == 101 and d[12] == 4 else d)
    j, _, facts = media_call(ANSWER_POINT, caller=caller, require_digits=True, up=wrong)
    v = judge(j.ended, facts)
    assert v.outcome is CallOutcome.DTMF_FAILED and v.reason is FailureReason.DTMF_FAILED
    assert facts.digits_received == "92" and "'42'" in v.detail
