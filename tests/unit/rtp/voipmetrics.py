"""An RFC 3611 VoIP Metrics block for tests: clean and unrated unless told otherwise."""

from __future__ import annotations

from probes.rtp.rtcp import VoipMetrics

QUIET = dict(ssrc=1, loss_rate=0, discard_rate=0, burst_density=0, gap_density=0,
             burst_duration=0, gap_duration=0, round_trip_delay=0, end_system_delay=0,
             signal_level=127, noise_level=127, rerl=127, gmin=16, r_factor=127,
             ext_r_factor=127, mos_lq=127, mos_cq=127, rx_config=0, reserved=0,
             jb_nominal=40, jb_maximum=80, jb_abs_max=200)


def voip_metrics(**kw: int) -> VoipMetrics:
    """No loss, no delay, a 40 ms jitter buffer, 127 (unavailable) for every rating."""
    return VoipMetrics(**{**QUIET, **kw})
