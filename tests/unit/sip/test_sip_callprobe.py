"""The call probe's settings: validated at construction, so a bad config fails at load.

The probe itself is exercised against real peers in
tests/integration/test_call_peers.py and test_call_verdicts_peers.py; its
parts (rating, verdict, media) have their own unit tests.
"""

from __future__ import annotations

import pytest

from probes.sip.callprobe import CallProbeSettings
from probes.sip.uri import SipUri


@pytest.mark.parametrize("field", ["duration", "answer_timeout", "media_timeout", "hangup_wait",
                                   "gap_threshold"])
def test_settings_reject_non_positive_times(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CallProbeSettings(SipUri.parse("sip:echo@127.0.0.1"), **{field: 0.0})  # type: ignore[arg-type]


def test_settings_take_tls_and_reject_no_codec() -> None:
    assert CallProbeSettings(SipUri.parse("sips:echo@127.0.0.1")).target.transport == "tls"
    with pytest.raises(ValueError, match="codec"):
        CallProbeSettings(SipUri.parse("sip:echo@127.0.0.1"), codecs=())


def test_dtmf_must_fall_inside_the_media_and_a_round_trip_needs_digits() -> None:
    with pytest.raises(ValueError, match="outside"):
        CallProbeSettings(SipUri.parse("sip:echo@127.0.0.1"), duration=2, dtmf=(("1", 2.5),))
    with pytest.raises(ValueError, match="require_dtmf"):
        CallProbeSettings(SipUri.parse("sip:echo@127.0.0.1"), require_dtmf=True)


def test_budget_covers_answer_media_and_hangup() -> None:
    s = CallProbeSettings(SipUri.parse("sip:echo@127.0.0.1"), duration=5, answer_timeout=10)
    assert s.budget == 5 + 10 + s.hangup_wait + 1
