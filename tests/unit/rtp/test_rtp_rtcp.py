"""RTCP compound packets, RTT arithmetic, XR VoIP Metrics, and the fuzz promise."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.errors import MediaParseError
from probes.rtp.rtcp import (
    Bye,
    ExtendedReport,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SdesChunk,
    SenderReport,
    SourceDescription,
    UnknownPacket,
    VoipMetrics,
    XrBlock,
    parse_compound,
    serialize_compound,
)
from probes.rtp.rtt import (
    dlsr_from_seconds,
    ntp_from_seconds,
    ntp_middle32,
    report_timing,
    rtt_seconds,
)

U8, U16, U32 = st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1)
blocks = st.builds(ReportBlock, U32, U8, st.integers(-(2**23), 2**23 - 1), U32, U32, U32, U32)
words = st.integers(0, 4).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))
block_lists = st.lists(blocks, max_size=4).map(tuple)
voip = st.builds(
    VoipMetrics, U32, *[U8] * 4, *[U16] * 4, st.integers(-128, 127), st.integers(-128, 127),
    *[U8] * 8, *[U16] * 3,
)
packets: st.SearchStrategy[RtcpPacket] = st.one_of(
    st.builds(SenderReport, U32, st.integers(0, 2**64 - 1), U32, U32, U32, block_lists, words),
    st.builds(ReceiverReport, U32, block_lists, words),
    st.builds(
        SourceDescription,
        st.lists(
            st.builds(SdesChunk, U32, st.lists(st.tuples(st.integers(1, 255), st.binary(max_size=20)), max_size=3).map(tuple)),
            max_size=3,
        ).map(tuple),
    ),
    st.builds(Bye, st.lists(U32, max_size=4).map(tuple), st.none() | st.binary(max_size=30)),
    st.builds(ExtendedReport, U32, st.lists(voip | st.builds(XrBlock, st.integers(8, 255), U8, words), max_size=3).map(tuple)),
    st.builds(UnknownPacket, st.sampled_from([204, 205, 206]), st.integers(0, 31), words),
)
reports = st.one_of(
    st.builds(SenderReport, U32, st.integers(0, 2**64 - 1), U32, U32, U32, block_lists),
    st.builds(ReceiverReport, U32, block_lists),
)
compounds = st.tuples(reports, st.lists(packets, max_size=4)).map(lambda t: (t[0], *t[1]))

METRICS = VoipMetrics(
    ssrc=0x01020304, loss_rate=13, discard_rate=2, burst_density=40, gap_density=3,
    burst_duration=120, gap_duration=5000, round_trip_delay=84, end_system_delay=60,
    signal_level=-20, noise_level=-70, rerl=127, gmin=16, r_factor=88, ext_r_factor=127,
    mos_lq=41, mos_cq=40, rx_config=0x80, reserved=0, jb_nominal=40, jb_maximum=80, jb_abs_max=200,
)


def test_rfc3550_rtt_example() -> None:
    # §6.4.1 figure: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 -> 6.125 s.
    assert rtt_seconds(0xB7108000, 0xB7052000, 0x00054000) == 6.125


def test_rtt_across_the_32_bit_wrap() -> None:
    lsr = 0xFFFF8000  # 0.5 s before the wrap
    arrival = 0x00018000  # 1.5 s after it
    assert rtt_seconds(arrival, lsr, dlsr_from_seconds(0.25)) == 1.75


def test_rtt_absent_or_bogus() -> None:
    assert rtt_seconds(0x12345678, 0, 0) is None  # no SR seen by the peer yet
    assert rtt_seconds(0x00010000, 0x00020000, 0) is None  # negative: bogus report


def test_rtt_just_below_zero_is_a_round_trip_under_the_dlsr_resolution() -> None:
    # baresip rounds DLSR to whole ms (65.536 units); on loopback the true RTT is
    # ~0.2 ms, so A - LSR - DLSR can land a few dozen units below zero
    lsr = 429_074_632
    assert rtt_seconds(lsr + 32_440 - 40, lsr, 32_440) == 0.0
    assert rtt_seconds(lsr + 32_440 - 131, lsr, 32_440) == 0.0
    assert rtt_seconds(lsr + 32_440 - 132, lsr, 32_440) is None  # beyond 2 ms: bogus
    assert rtt_seconds(lsr + 32_440 + 12, lsr, 32_440) == 12 / 65536


def test_rtt_from_our_own_clock_end_to_end() -> None:
    # We send an SR at t=100.0 on a monotonic clock; the peer holds it 0.2 s
    # and its RR reaches us at t=100.35: RTT 0.15 s.
    sr_ntp = ntp_from_seconds(100.0, unix=False)
    lsr, dlsr = report_timing(sr_ntp, 100.1, 100.3)  # the peer's view: SR arrived at 100.1
    block = ReportBlock(1, 0, 0, 0, 0, lsr, dlsr)
    rtt = block.rtt(ntp_from_seconds(100.35, unix=False))
    assert rtt == pytest.approx(0.15, abs=2 / 65536)
    assert report_timing(None, None, 5.0) == (0, 0)


def test_ntp_conversions() -> None:
    ntp = ntp_from_seconds(0.0)  # the Unix epoch
    assert ntp >> 32 == 2_208_988_800
    assert ntp_middle32(ntp_from_seconds(1.5, unix=False)) == 0x00018000
    with pytest.raises(ValueError):
        ntp_from_seconds(float("nan"))


def test_known_receiver_report_bytes() -> None:
    rr = ReceiverReport(0xAABBCCDD, (ReportBlock(0x11223344, 64, -1, 0x0001FFFF, 80, 0xB7052000, 0x54000),))
    data = rr.serialize()
    assert data[:4] == bytes.fromhex("81c9 0007")  # V=2, RC=1, PT=201, 8 words - 1
    assert data[12:16] == bytes.fromhex("40ffffff")  # fraction 64/256, cumulative -1 in 24 bits
    assert parse_compound(data) == (rr,)


def test_compound_with_sdes_cname_and_bye() -> None:
    compound = (
        SenderReport(7, ntp_from_seconds(1e9), 160, 50, 8000),
        SourceDescription.with_cname(7, "probe@monitord"),
        Bye((7,), b"call ended"),
    )
    parsed = parse_compound(serialize_compound(compound))
    assert parsed == compound
    sdes = parsed[1]
    assert isinstance(sdes, SourceDescription)
    assert sdes.chunks[0].cname == "probe@monitord"


def test_voip_metrics_block_parsed_from_xr() -> None:
    compound = (ReceiverReport(9), ExtendedReport(9, (XrBlock(4, 0, b"\x00" * 8), METRICS)))
    data = serialize_compound(compound)
    xr = parse_compound(data)[1]
    assert isinstance(xr, ExtendedReport)
    assert xr.voip_metrics == METRICS
    assert METRICS.mos_lq_value == 4.1
    assert METRICS.r_factor_value == 88
    assert len(METRICS.serialize()) == 36  # RFC 3611 §4.7: block length 8 words + header


@given(compounds)
def test_serialize_then_parse_is_identity(compound: tuple[RtcpPacket, ...]) -> None:
    assert parse_compound(serialize_compound(compound)) == compound


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (bytes.fromhex("80c9"), "truncated RTCP header"),
        (bytes.fromhex("40c90001 00000001"), "version 1"),
        (bytes.fromhex("80c90005 00000001"), "claims 24 octets"),
        (bytes.fromhex("81c90001 00000001"), "claims 1 blocks"),
        (bytes.fromhex("80ca0001 00000001"), "must start with SR or RR"),
        (bytes.fromhex("a0c90001 00000001 80c90001 00000001"), "not the last"),
        (bytes.fromhex("a0c90001 00000009"), "padding count 9"),
        (bytes.fromhex("80c90001 00000001 81ca0001 00000001"), "END item"),
        (bytes.fromhex("80c90001 00000001 80cf0003 00000001 07000009 00000000"), "overruns"),
        (bytes.fromhex("80c90001 00000001 80cf0003 00000001 07000001 00000000"), "expected 8"),
        (bytes.fromhex("80c90001 00000001 82cb0001 00000001"), "BYE claims 2"),
    ],
)
def test_malformed_compounds_name_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(MediaParseError, match=message):
        parse_compound(data)


def test_reduced_size_rtcp_can_be_allowed() -> None:
    bye = Bye((1,))
    assert parse_compound(bye.serialize(), require_report_first=False) == (bye,)


@given(st.binary(max_size=120), st.booleans())
def test_arbitrary_bytes_parse_or_raise_media_parse_error(data: bytes, strict: bool) -> None:
    with contextlib.suppress(MediaParseError):
        parse_compound(data, require_report_first=strict)


@given(compounds, st.integers(0, 1000), U8)
def test_corrupted_compounds_parse_or_raise_media_parse_error(
    compound: tuple[RtcpPacket, ...], where: int, byte: int
) -> None:
    data = bytearray(serialize_compound(compound))
    data[where % len(data)] = byte
    for candidate in (bytes(data), bytes(data[: where % len(data)])):
        with contextlib.suppress(MediaParseError):
            parse_compound(candidate, require_report_first=False)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ReportBlock(0, 256, 0, 0, 0, 0, 0),
        lambda: ReportBlock(0, 0, 2**23, 0, 0, 0, 0),
        lambda: ReceiverReport(0, tuple(ReportBlock(0, 0, 0, 0, 0, 0, 0) for _ in range(32))),
        lambda: SdesChunk(0, ((0, b"x"),)),
        lambda: Bye((), b"x" * 256),
        lambda: XrBlock(1, 0, b"abc"),
        lambda: dlsr_from_seconds(-1.0),
    ],
)
def test_invalid_values_rejected_on_construction(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]
