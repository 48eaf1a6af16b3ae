"""SDP offer/answer subset: our offer's exact text, answers, negotiation, malformed input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.errors import SdpNegotiationError, SdpParseError
from probes.rtp.g711 import Law
from probes.sdp import (
    Direction,
    build_offer,
    negotiate,
    parse_sdp,
)

OFFER = build_offer("192.0.2.10", 40000, session_id="3900000000", rtcp_port=40001)

OFFER_TEXT = (
    "v=0\r\n"
    "o=monitord 3900000000 1 IN IP4 192.0.2.10\r\n"
    "s=monitord\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n"
    "a=rtcp:40001\r\n"
)

# What an SBC typically answers: its own media address at media level,
# PCMA preferred, static PT 8 without rtpmap, DTMF renumbered, a=rtcp elsewhere.
ANSWER_TEXT = (
    "v=0\n"
    "o=- 1234 5678 IN IP4 198.51.100.1\n"
    "s=SBC\n"
    "c=IN IP4 198.51.100.1\n"
    "t=0 0\n"
    "m=audio 20000 RTP/AVP 8 0 96\n"
    "c=IN IP4 198.51.100.7\n"
    "a=rtpmap:96 telephone-event/8000\n"
    "a=fmtp:96 0-15\n"
    "a=ptime:30\n"
    "a=rtcp:20005 IN IP4 198.51.100.8\n"
    "a=sendrecv\n"
    "a=x-vendor:whatever\n"
    "m=video 0 RTP/AVP 99\n"
)


def test_offer_text_is_exact() -> None:
    assert OFFER.serialize() == OFFER_TEXT


def test_offer_round_trips() -> None:
    assert parse_sdp(OFFER_TEXT) == OFFER
    assert parse_sdp(OFFER_TEXT).serialize() == OFFER_TEXT


def test_ipv6_offer() -> None:
    offer = build_offer("2001:db8::1", 4000, session_id="1", laws=(Law.PCMA,), telephone_event=None)
    text = offer.serialize()
    assert "c=IN IP6 2001:db8::1\r\n" in text
    assert "m=audio 4000 RTP/AVP 8\r\n" in text
    assert parse_sdp(text) == offer


def test_negotiate_a_typical_answer() -> None:
    result = negotiate(OFFER, parse_sdp(ANSWER_TEXT))
    assert result.law is Law.PCMA  # the answerer's first choice among what we offered
    assert result.payload_type == 8
    assert result.telephone_event == 96  # §5.1: the number the answerer expects to receive
    assert (result.remote_address, result.remote_port) == ("198.51.100.7", 20000)  # media c= wins
    assert (result.remote_rtcp_address, result.remote_rtcp_port) == ("198.51.100.8", 20005)
    assert result.ptime == 30
    assert result.direction is Direction.SENDRECV


def test_defaults_when_the_answer_is_minimal() -> None:
    answer = parse_sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 203.0.113.5\nt=0 0\nm=audio 3000 RTP/AVP 0\na=recvonly\n")
    result = negotiate(OFFER, answer)
    assert (result.law, result.payload_type) == (Law.PCMU, 0)
    assert result.remote_rtcp_port == 3001  # RFC 3550 §11: next higher port
    assert result.ptime == 20  # ours
    assert result.telephone_event is None
    assert result.direction is Direction.SENDONLY  # they only receive, so we only send


def test_session_level_direction_applies_to_streams() -> None:
    answer = parse_sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 203.0.113.5\na=inactive\nm=audio 3000 RTP/AVP 0\n")
    assert negotiate(OFFER, answer).direction is Direction.INACTIVE


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 0 RTP/AVP 0\n", "rejected"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 5 RTP/AVP 18\n", r"no offered G.711 codec .*G729"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=video 5 RTP/AVP 99\n", "no audio"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 65535 RTP/AVP 0\n", "remote_rtcp_port"),
    ],
)
def test_unusable_answers(answer: str, message: str) -> None:
    answer = answer.replace("RTP/AVP 18\n", "RTP/AVP 18\na=rtpmap:18 G729/8000\n")
    with pytest.raises(SdpNegotiationError, match=message):
        negotiate(OFFER, parse_sdp(answer))


@pytest.mark.parametrize(
    ("text", "line_number", "message"),
    [
        ("", None, "empty"),
        ("v=1\n", 1, "must be 'v=0'"),
        ("v=0\nhello\n", 2, "not a '<type>=<value>' line"),
        ("v=0\no=- 1 1 IN IP4\n", 2, "o= needs 6 fields"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP9 h\n", 4, "c= must be"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 70000 RTP/AVP 0\n", 5, "m= port"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 5 RTP/AVP x\n", 5, "RTP payload type"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 5\n", 5, "m= needs"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 5 RTP/AVP 0\na=rtpmap:0 PCMU\n", 6, "rtpmap must be"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 5 RTP/AVP 0\na=ptime:abc\n", 6, "ptime"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 5 RTP/AVP 0\na=rtcp:\n", 6, "a=rtcp"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 5 RTP/AVP 0\n", 4, "no c="),
        ("v=0\ns=-\n", None, "no o= line"),
        ("v=0\no=- 1 1 IN IP4 h\n", None, "no s= line"),
    ],
)
def test_malformed_sdp_names_the_line(text: str, line_number: int | None, message: str) -> None:
    with pytest.raises(SdpParseError, match=message) as info:
        parse_sdp(text)
    assert info.value.line_number == line_number
    if line_number is not None:
        assert f"SDP line {line_number} " in str(info.value)


@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_sdp_parse_error(text: str) -> None:
    with contextlib.suppress(SdpParseError):
        parse_sdp(text)


@given(st.integers(0, 30), st.text(max_size=30))
def test_mangled_lines_parse_or_raise_sdp_parse_error(where: int, replacement: str) -> None:
    lines = ANSWER_TEXT.splitlines()
    index = where % len(lines)
    kind = lines[index][:2]
    lines[index] = kind + replacement.replace("\n", "")
    with contextlib.suppress(SdpParseError, SdpNegotiationError):
        negotiate(OFFER, parse_sdp("\n".join(lines)))


def test_non_ascii_digits_are_not_numbers() -> None:
    with pytest.raises(SdpParseError, match="m= port"):
        parse_sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio \u00b2 RTP/AVP 0\n")
