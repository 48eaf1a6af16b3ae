"""RTP header: known bytes, round trips, and the parse-or-MediaParseError promise."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.errors import MediaParseError
from probes.rtp.packet import RtpExtension, RtpPacket, parse_rtp

U32 = st.integers(0, 2**32 - 1)


@st.composite
def packets(draw: st.DrawFn) -> RtpPacket:
    extension = None
    if draw(st.booleans()):
        words = draw(st.integers(0, 4))
        extension = RtpExtension(draw(st.integers(0, 0xFFFF)), draw(st.binary(min_size=4 * words, max_size=4 * words)))
    return RtpPacket(
        payload_type=draw(st.integers(0, 127)),
        sequence=draw(st.integers(0, 0xFFFF)),
        timestamp=draw(U32),
        ssrc=draw(U32),
        payload=draw(st.binary(max_size=64)),
        marker=draw(st.booleans()),
        csrcs=tuple(draw(st.lists(U32, max_size=15))),
        extension=extension,
        padding=draw(st.integers(0, 255)),
    )


def test_known_pcmu_packet() -> None:
    data = bytes.fromhex("8080 1234 0000a000 deadbeef") + b"\xff" * 160
    packet = parse_rtp(data)
    assert packet == RtpPacket(0, 0x1234, 0xA000, 0xDEADBEEF, b"\xff" * 160, marker=True)
    assert packet.serialize() == data


def test_csrcs_extension_and_padding_on_the_wire() -> None:
    packet = RtpPacket(
        8, 65535, 2**32 - 1, 1, b"ab", csrcs=(7, 9), extension=RtpExtension(0xBEDE, b"\x01\x02\x03\x04"), padding=3
    )
    data = packet.serialize()
    # V=2, P=1, X=1, CC=2 -> 0b10_1_1_0010
    assert data[0] == 0xB2
    assert data[12:20] == bytes.fromhex("00000007 00000009")
    assert data[20:28] == bytes.fromhex("bede0001 01020304")
    assert data[28:] == b"ab\x00\x00\x03"
    assert parse_rtp(data) == packet


@given(packets())
def test_serialize_then_parse_is_identity(packet: RtpPacket) -> None:
    assert parse_rtp(packet.serialize()) == packet


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than the 12-octet header"),
        (bytes.fromhex("40000000 00000000 00000000"), "version 1"),
        (bytes.fromhex("a0000000 00000000 00000000"), "padding count 0"),
        (bytes.fromhex("a0000000 00000000 00000000 0005"), "padding count 5"),
        (bytes.fromhex("81000000 00000000 00000000"), "1 CSRCs"),
        (bytes.fromhex("90000000 00000000 00000000 0000"), "header extension"),
        (bytes.fromhex("90000000 00000000 00000000 00000002 00000000"), "2 words overruns"),
    ],
)
def test_malformed_packets_name_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(MediaParseError, match=message):
        parse_rtp(data)


@given(st.binary(max_size=80))
def test_arbitrary_bytes_parse_or_raise_media_parse_error(data: bytes) -> None:
    with contextlib.suppress(MediaParseError):
        packet = parse_rtp(data)
        assert parse_rtp(packet.serialize()) == packet


@given(packets(), st.integers(0, 200), st.integers(0, 255))
def test_corrupted_packets_parse_or_raise_media_parse_error(packet: RtpPacket, where: int, byte: int) -> None:
    data = bytearray(packet.serialize())
    data[where % len(data)] = byte
    for candidate in (bytes(data), bytes(data[: where % len(data)])):
        with contextlib.suppress(MediaParseError):
            parse_rtp(candidate)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"payload_type": 128},
        {"sequence": 65536},
        {"timestamp": -1},
        {"ssrc": 2**32},
        {"csrcs": tuple(range(16))},
        {"padding": 256},
    ],
)
def test_invalid_fields_rejected_on_construction(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"payload_type": 0, "sequence": 0, "timestamp": 0, "ssrc": 0}
    fields.update(kwargs)
    with pytest.raises(ValueError):
        RtpPacket(**fields)  # type: ignore[arg-type]


def test_extension_data_must_be_whole_words() -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        RtpExtension(1, b"abc")
