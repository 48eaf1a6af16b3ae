"""The call probe's pure parts: settings validation and the G.107 rating of a stream.

The probe itself is exercised against real peers in
tests/integration/test_call_peers.py.
"""

from __future__ import annotations

import pytest

from probes.quality.emodel import EModelInput, rate
from probes.rtp.stats import StreamStats
from probes.sip.callprobe import CallProbeSettings, rate_direction
from probes.sip.uri import SipUri


def _stats(lost: int, expected: int, jitter: float = 0.0, burst: float = 1.0) -> StreamStats:
    return StreamStats(valid=True, received=expected - lost, expected=expected, lost=lost,
                       duplicates=0, reordered=0, restarts=0, extended_max_sequence=expected,
                       jitter=jitter * 8000, jitter_seconds=jitter, bursts=lost,
                       mean_burst_length=1.0 if lost else 0.0, burst_ratio=burst)


def test_clean_loopback_stream_rates_about_4_4() -> None:
    rating = rate_direction(_stats(0, 500), rtt=0.0002)
    assert rating.mos == pytest.approx(4.38, abs=0.01)


def test_rating_uses_rtt_half_plus_buffer_plus_frame() -> None:
    stats = _stats(25, 500, jitter=0.015)
    # jitter buffer = 2 x 15 ms = 30 ms (above the 20 ms floor); 100 ms RTT -> 50 ms transit.
    expected = rate(EModelInput.voip(one_way_delay=0.050 + 0.030 + 0.020, packet_loss=0.05))
    assert rate_direction(stats, rtt=0.100).r == pytest.approx(expected.r)


@pytest.mark.parametrize("field", ["duration", "answer_timeout", "media_timeout", "hangup_wait"])
def test_settings_reject_non_positive_times(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CallProbeSettings(SipUri.parse("sip:echo@127.0.0.1"), **{field: 0.0})  # type: ignore[arg-type]


def test_settings_reject_tls_and_no_codec() -> None:
    with pytest.raises(ValueError, match="TLS"):
        CallProbeSettings(SipUri.parse("sips:echo@127.0.0.1"))
    with pytest.raises(ValueError, match="codec"):
        CallProbeSettings(SipUri.parse("sip:echo@127.0.0.1"), codecs=())


def test_budget_covers_answer_media_and_hangup() -> None:
    s = CallProbeSettings(SipUri.parse("sip:echo@127.0.0.1"), duration=5, answer_timeout=10)
    assert s.budget == 5 + 10 + s.hangup_wait + 1
