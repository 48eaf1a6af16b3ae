"""RTCP session state with a clock passed in: RTT samples, reports about us, the audio report."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.quality.audio import AudioFigures, Signal
from probes.rtp.rtcp import ReceiverReport, ReportBlock, SenderReport, UnknownPacket, parse_compound
from probes.rtp.rtcpstate import APP, AudioReport, RtcpState, SenderInfo
from probes.rtp.rtt import ntp_from_seconds, ntp_middle32
from probes.rtp.stats import ReceiveStats

OURS, THEIRS = 0xAAAA, 0xBBBB


def _block(lsr_at: float, dlsr: float) -> ReportBlock:
    return ReportBlock(OURS, 0, 3, 500, 80, ntp_middle32(ntp_from_seconds(lsr_at, unix=False)),
                       round(dlsr * 65536))


def test_every_rtt_sample_is_kept_and_the_mean_is_the_calls() -> None:
    state = RtcpState(OURS, "us")
    for sent, held, rtt in ((10.0, 0.5, 0.080), (11.0, 0.2, 0.120), (12.0, 0.1, 0.100)):
        state.receive([ReceiverReport(THEIRS, (_block(sent, held),))], sent + held + rtt)
    view = state.view()
    assert [round(x, 3) for x in view.rtt_samples] == [0.080, 0.120, 0.100]
    assert view.rtt_mean == pytest.approx(0.100, abs=1e-4)
    assert view.reports_about_us == 3 and view.last_block is not None


def test_our_own_reports_looped_back_are_not_the_far_ends() -> None:
    state = RtcpState(OURS, "us")
    state.receive([SenderReport(OURS, 1, 2, 3, 4, (_block(1.0, 0.0),))], 1.1)
    assert state.view().peer_reports == 0 and not state.view().rtt_samples


def test_the_compound_echoes_the_peers_sr_as_lsr_dlsr() -> None:
    state = RtcpState(OURS, "us")
    sr_ntp = ntp_from_seconds(5.0, unix=False)
    state.receive([SenderReport(THEIRS, sr_ntp, 0, 10, 1600)], 5.0)
    stats = ReceiveStats()
    for n in range(10):
        stats.receive(n, n * 160, n * 0.02)
    packets = parse_compound(state.compound(5.25, SenderInfo(50, 8000, 123), {THEIRS: stats}))
    sr = packets[0]
    assert isinstance(sr, SenderReport) and sr.packet_count == 50
    block = sr.reports[0]
    assert block.ssrc == THEIRS and block.lsr == ntp_middle32(sr_ntp)
    assert block.dlsr == round(0.25 * 65536)


def test_the_audio_report_round_trips_and_only_counts_when_about_us() -> None:
    figures = AudioFigures(positions=250, ours=0, theirs=240, other=0, silent=4, events=0,
                           missing=6, clipped=0, gaps=1, longest_gap_seconds=0.12,
                           gap_seconds=0.12, signal=Signal.CALLER, missing_runs=2)
    app = AudioReport(OURS, figures, "12#").serialize(THEIRS)
    parsed = parse_compound(ReceiverReport(THEIRS).serialize() + app.serialize())
    state = RtcpState(OURS, "us")
    state.receive(parsed, 1.0)
    report = state.view().audio
    assert report is not None and report.digits == "12#"
    assert report.figures.theirs == 240 and report.figures.missing == 6
    assert report.figures.signal is Signal.CALLER and report.figures.burst_ratio > 1
    other = RtcpState(0x1234, "else")
    other.receive(parsed, 1.0)
    assert other.view().audio is None


@given(st.binary(max_size=80))
def test_any_app_body_is_a_report_or_ignored(body: bytes) -> None:
    body = body[: len(body) - len(body) % 4]
    state = RtcpState(OURS, "us")
    state.receive([UnknownPacket(APP, 0, body)], 1.0)
    state.view()
