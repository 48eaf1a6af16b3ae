"""Every call verdict from real far ends on loopback (issue 15's acceptance).

Far ends: SIPp (its built-in UAS answering with no RTP at all; its RTP echo)
and `monitord responder` (the real CLI process) in tone mode, which sends its
own signal, checks ours and reports it. Between them, where the verdict needs
a broken path, sits `MediaRelay` (mediarelay.py), a test double for an SBC's
media relay that drops one direction, stops it, cuts a gap, adds jitter or
loops our own packets back.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from probes.base import ProbeResult
from probes.measurements import CallMeasured
from probes.quality.jitterbuffer import JitterBufferKind, JitterBufferSettings
from probes.quality.rating import DirectionInput, rate_direction
from probes.reasons import FailureReason
from probes.sip.transport import SipTransports
from probes.sip.verdict import FarEnd
from tests.integration.mediarelay import MediaRelay
from tests.integration.peers import PeerProcess, free_port, media_port_block, sipp_uas
from tests.integration.test_call_answerpoint import responder
from tests.integration.test_call_peers import call, launch

pytestmark = pytest.mark.integration


def measured(result: ProbeResult) -> CallMeasured:
    assert isinstance(result.measured, CallMeasured), result
    return result.measured


@pytest.fixture
async def tone(tmp_path: Path, peers: list[PeerProcess]) -> AsyncIterator[int]:
    """`monitord responder --media tone` on a free port: its SIP port."""
    port = free_port()
    await launch(responder(port, tmp_path / "responder", "tone"), peers)
    yield port


async def relayed_call(
    transports: SipTransports, tone_port: int, relay: dict[str, object], **call_kw: object
) -> tuple[ProbeResult, MediaRelay]:
    """A call to the answer point through a MediaRelay doing `relay`; the relay is closed after
    (what it counted stays readable)."""
    through = await MediaRelay(("127.0.0.1", tone_port), **relay).start()  # type: ignore[arg-type]
    try:
        return await call(transports, f"sip:echo@127.0.0.1:{through.sip_port}", **call_kw), through
    finally:
        through.close()


async def test_answered_by_the_answer_point_both_signals_checked(
    tone: int, transports: SipTransports
) -> None:
    result = await call(transports, f"sip:echo@127.0.0.1:{tone}", duration=2.5,
                        far_end=FarEnd.ANSWER_POINT)
    m = measured(result)
    assert result.ok, result.detail
    assert m.outcome == "answered" and m.audio_rx is not None and m.audio_tx is not None
    assert m.audio_rx.signal == "answer" and m.audio_rx.gaps == 0
    assert m.audio_tx.signal == "caller" and m.audio_tx.audible >= 120
    assert m.tx_quality_source == "answer_point" and m.mos is not None


async def test_no_media_from_a_sipp_uas_that_sends_no_rtp(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports
) -> None:
    port = free_port()
    await launch(sipp_uas(port, tmp_path), peers)  # no -rtp_echo: answers, sends nothing
    result = await call(transports, f"sip:echo@127.0.0.1:{port}", duration=1.5)
    assert result.reason is FailureReason.NO_MEDIA, result.detail
    assert measured(result).outcome == "no_media" and measured(result).setup_seconds


async def test_one_way_audio_each_direction(tone: int, transports: SipTransports) -> None:
    result, relay = await relayed_call(transports, tone, {"drop_down": lambda t: True},
                                       duration=2.5)
    m = measured(result)
    assert result.reason is FailureReason.ONE_WAY_AUDIO, result.detail
    assert m.direction == "rx" and relay.counts["down_dropped"] > 100
    assert m.audio_tx is not None and m.audio_tx.audible > 100  # it heard us

    result, relay = await relayed_call(transports, tone, {"drop_up": lambda t: True},
                                       duration=2.5)
    m = measured(result)
    assert result.reason is FailureReason.ONE_WAY_AUDIO, result.detail
    assert m.direction == "tx" and m.audio_rx is not None and m.audio_rx.signal == "answer"


async def test_media_stopping_mid_call_is_media_stopped(
    tone: int, transports: SipTransports
) -> None:
    result, _ = await relayed_call(transports, tone, {"drop_down": lambda t: t >= 1.5},
                                   duration=6.0, media_timeout=1.0)
    m = measured(result)
    assert result.reason is FailureReason.DROPPED, result.detail
    assert m.outcome == "media_stopped" and m.direction == "rx"
    assert m.dropped_after_seconds == pytest.approx(1.5, abs=0.2)
    assert "still up" in result.detail
    assert "(for 1.0 s)" in result.detail or "(for 1.1 s)" in result.detail  # judged at once


async def test_the_far_end_hanging_up_early_is_dropped_by_it(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports
) -> None:
    port = free_port()
    peer = responder(port, tmp_path / "responder", "tone")
    peer.argv += ["--max-call-duration", "1500ms"]
    await launch(peer, peers)
    result = await call(transports, f"sip:echo@127.0.0.1:{port}", duration=5.0)
    m = measured(result)
    assert result.reason is FailureReason.DROPPED, result.detail
    assert m.outcome == "dropped" and m.dropped_by == "far_end"
    assert m.dropped_after_seconds == pytest.approx(1.5, abs=0.2)


async def test_a_gap_in_the_far_ends_audio(tone: int, transports: SipTransports) -> None:
    result, _ = await relayed_call(transports, tone, {"drop_down": lambda t: 1.0 <= t < 1.3},
                                   duration=3.0)
    m = measured(result)
    assert result.reason is FailureReason.AUDIO_GAPS, result.detail
    assert m.direction == "rx" and m.audio_rx is not None and m.audio_rx.gaps == 1
    assert m.audio_rx.longest_gap_seconds == pytest.approx(0.3, abs=0.041)


async def test_our_media_looped_back_by_the_relay(tone: int, transports: SipTransports) -> None:
    result, _ = await relayed_call(transports, tone,
                                   {"reflect_up": True, "drop_down": lambda t: True},
                                   duration=2.0, far_end=FarEnd.ANSWER_POINT)
    m = measured(result)
    assert result.reason is FailureReason.LOOPED_BACK, result.detail
    assert m.audio_rx is not None and m.audio_rx.own_signal_ratio == 1.0


async def test_sipp_echo_is_looped_back_media_where_a_far_end_should_speak(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports
) -> None:
    port = free_port()
    await launch(sipp_uas(port, tmp_path, media_port_block()), peers)
    target = f"sip:echo@127.0.0.1:{port}"
    assert (await call(transports, target, duration=1.5, far_end=FarEnd.ECHO)).ok
    result = await call(transports, target, duration=1.5, far_end=FarEnd.ANSWER_POINT)
    assert result.reason is FailureReason.LOOPED_BACK, result.detail


async def test_dtmf_round_trip_through_the_answer_point(
    tone: int, transports: SipTransports
) -> None:
    result = await call(transports, f"sip:echo@127.0.0.1:{tone}", duration=3.0,
                        dtmf=(("1", 0.5), ("2", 1.0), ("#", 1.5)), require_dtmf=True)
    m = measured(result)
    assert result.ok, result.detail
    assert m.dtmf_sent == "12#" and m.dtmf_received == "12#" and m.dtmf_far_end == "12#"
    assert result.measurements["dtmf_round_trip"] == 1.0


# -- MOS under jitter ---------------------------------------------------------------------


def _fixed_buffer_discards(delays: list[float], depth: float) -> tuple[float, float]:
    """What a fixed buffer anchored on the first arrival makes of these per-packet delays:
    (share of packets discarded, G.107 BurstR of the discard runs)."""
    first = min(range(len(delays)), key=lambda n: n * 0.020 + delays[n])
    late = [d - delays[first] > depth for d in delays]
    lost = sum(late)
    if not lost:
        return 0.0, 1.0
    runs = sum(1 for i, x in enumerate(late) if x and (i == 0 or not late[i - 1]))
    p = lost / len(late)
    return p, (lost / runs) * (1 - p)


async def test_jitter_lowers_mos_as_the_model_predicts_and_removing_it_restores_it(
    tone: int, transports: SipTransports
) -> None:
    # Delays on a 5 ms grid and a depth between grid steps: each packet's fate has 2.5 ms
    # of margin against the loop's own timer noise (epoll rounds timeouts to whole ms).
    depth = 0.0525
    buffer = JitterBufferSettings(JitterBufferKind.FIXED, nominal=depth)
    kw: dict[str, object] = {"duration": 6.0, "jitter_buffer": buffer}
    clean = measured(await call(transports, f"sip:echo@127.0.0.1:{tone}", **kw))
    assert clean.mos is not None and clean.rx_discarded == 0

    rng = random.Random(31)  # its first draw is 10 ms: the buffer anchors low, as phones often do
    grid = [ms / 1000 for ms in range(10, 71, 5)]  # 40 +- 30 ms, uniform
    result, relay = await relayed_call(transports, tone,
                                       {"delay_down": lambda: rng.choice(grid)}, **kw)
    jittered = measured(result)
    delays = relay.down_delays[: jittered.rx_packets]
    loss, burst = _fixed_buffer_discards(delays, depth)
    assert jittered.mos_rx is not None and jittered.rtt_seconds is not None
    # The model's prediction from the relay's own draws: its discards at the buffer's depth,
    # and a round trip of its mean added delay (one way only) on top of the clean call's.
    rtt = (clean.rtt_seconds or 0.0) + sum(delays) / len(delays)
    predicted = rate_direction(DirectionInput(loss, burst, depth, "relay"), rtt).rating.mos
    print(f"  clean MOS {clean.mos:.3f}; jittered MOS rx {jittered.mos_rx:.3f}, predicted"
          f" {predicted:.3f} (discard {loss:.2%}, BurstR {burst:.2f}, RTT {rtt * 1000:.1f} ms;"
          f" measured discard {jittered.rx_discarded}, RTT"
          f" {jittered.rtt_seconds * 1000:.1f} ms)")
    assert 0 < loss < 0.5
    assert jittered.mos_rx == pytest.approx(predicted, abs=0.1)
    assert clean.mos - jittered.mos_rx > 0.2  # it did fall

    # the jitter removed, delay kept
    result, _ = await relayed_call(transports, tone, {"delay_down": lambda: 0.040}, **kw)
    steady = measured(result)
    assert steady.rx_discarded == 0 and steady.mos is not None
    print(f"  jitter removed: MOS {steady.mos:.3f}")
    assert steady.mos == pytest.approx(clean.mos, abs=0.1)
