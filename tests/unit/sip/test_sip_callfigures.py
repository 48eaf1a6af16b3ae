"""Which source rates the far direction: the answer point's report, else XR, else RR."""

from __future__ import annotations

import pytest

from probes.rtp.rtcp import ReportBlock, VoipMetrics
from probes.rtp.rtcpstate import PeerView
from probes.rtp.session import MediaReport
from probes.sip.callfigures import media_figures, tx_input
from tests.unit.rtp.voipmetrics import voip_metrics


def xr(**kw: int) -> VoipMetrics:
    return voip_metrics(**{"jb_nominal": 60, **kw})


def report(peer: PeerView, echo_rtt: float | None = None) -> MediaReport:
    return MediaReport(tx_packets=250, rx=None, rx_sources=0, first_rx_at=None,
                       last_rx_at=None, echo_rtt=echo_rtt, peer=peer, own_ssrc_received=False,
                       digits_sent="", pacing_p50=None, pacing_p99=None, pacing_max=None,
                       malformed=0)


BLOCK = ReportBlock(1, 0, 25, 300, 160, 0, 0)


def test_xr_is_preferred_to_rr_and_its_discards_count_as_loss() -> None:
    only_rr = tx_input(report(PeerView((), 3, 3, BLOCK, None, None, False)), 0.04)
    assert only_rr is not None and only_rr.source == "rr"
    assert only_rr.loss_ratio == pytest.approx(0.1) and only_rr.buffer_delay == 0.04
    with_xr = tx_input(report(PeerView((), 3, 3, BLOCK, xr(loss_rate=13, discard_rate=13),
                                       None, False)), 0.04)
    assert with_xr is not None and with_xr.source == "xr"
    assert with_xr.loss_ratio == pytest.approx(26 / 256) and with_xr.buffer_delay == 0.06


def test_without_any_rtt_the_mos_is_only_an_estimate_and_xr_rtt_counts() -> None:
    from probes.measurements import CallMeasured

    peer = PeerView((), 3, 3, BLOCK, xr(), None, False)
    m = media_figures(report(peer), 0.0, CallMeasured(), True, 0.04)
    assert m.mos is None and m.mos_tx is None and m.mos_estimated is not None
    assert m.rtt_seconds is None
    peer = PeerView((), 3, 3, BLOCK, xr(round_trip_delay=120), None, False)
    m = media_figures(report(peer), 0.0, CallMeasured(), True, 0.04)
    assert m.rtt_seconds == 0.12 and m.mos is not None and m.mos_estimated is None
    peer = PeerView((0.1, 0.3), 2, 2, BLOCK, None, None, False)
    m = media_figures(report(peer), 0.0, CallMeasured(), True, 0.04)
    assert m.rtt_seconds == pytest.approx(0.2) and m.rtt_samples == 2  # the mean, not the last
