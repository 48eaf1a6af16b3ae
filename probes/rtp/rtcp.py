"""RTCP compound packets and round-trip time (RFC 3550 §6, RFC 3611 §4.7).

Parsed here: SR, RR (with report blocks), SDES, BYE and XR carrying the
VoIP Metrics block; any other packet or XR block type is kept as opaque
bytes, because §6.1 says receivers must ignore types they do not know.
Like the RTP parser, `parse_compound` either parses or raises
`MediaParseError`.

The RTT arithmetic on LSR/DLSR lives in `rtt`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidValue, MediaParseError
from .rtt import ntp_middle32, rtt_seconds

__all__ = [
    "Bye",
    "ExtendedReport",
    "ReceiverReport",
    "ReportBlock",
    "RtcpPacket",
    "SdesChunk",
    "SenderReport",
    "SourceDescription",
    "UnknownPacket",
    "VoipMetrics",
    "XrBlock",
    "parse_compound",
    "serialize_compound",
]

SR, RR, SDES, BYE, XR = 200, 201, 202, 203, 207  # §12.1, RFC 3611 §5
SDES_CNAME = 1  # §6.5.1
XR_VOIP_METRICS = 7  # RFC 3611 §4.7
_BLOCK = struct.Struct("!IIIIII")
_VOIP = struct.Struct("!IBBBBHHHHbbBBBBBBBBHHH")


def _u(name: str, value: int, bits: int) -> None:
    if not 0 <= value < 1 << bits:
        raise InvalidValue(f"{name} must fit {bits} unsigned bits, got {value}")


def _header(packet_type: int, count: int, body: bytes) -> bytes:
    # §6.4.1: "length: ... in 32-bit words minus one, including the header"
    return struct.pack("!BBH", 0x80 | count, packet_type, (len(body) + 4) // 4 - 1) + body


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """Reception report about one source (§6.4.1)."""

    ssrc: int
    fraction_lost: int  # 8-bit fixed point
    cumulative_lost: int  # signed 24-bit
    highest_sequence: int  # extended highest sequence number received
    jitter: int  # timestamp units
    lsr: int  # middle 32 bits of the last SR's NTP timestamp, 0 if none
    dlsr: int  # delay since that SR, 1/65536 s

    def __post_init__(self) -> None:
        _u("SSRC", self.ssrc, 32)
        _u("fraction_lost", self.fraction_lost, 8)
        if not -(1 << 23) <= self.cumulative_lost < 1 << 23:
            raise InvalidValue(f"cumulative_lost must fit 24 signed bits, got {self.cumulative_lost}")
        for name in ("highest_sequence", "jitter", "lsr", "dlsr"):
            _u(name, getattr(self, name), 32)

    def serialize(self) -> bytes:
        lost = (self.fraction_lost << 24) | (self.cumulative_lost & 0xFFFFFF)
        return _BLOCK.pack(self.ssrc, lost, self.highest_sequence, self.jitter, self.lsr, self.dlsr)

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, lost, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        cumulative = lost & 0xFFFFFF
        if cumulative & 0x800000:  # two's complement, 24 bits
            cumulative -= 1 << 24
        return cls(ssrc, lost >> 24, cumulative, highest, jitter, lsr, dlsr)

    def rtt(self, arrival_ntp: int) -> float | None:
        """RTT in seconds at an arrival time given as a 64-bit NTP timestamp."""
        return rtt_seconds(ntp_middle32(arrival_ntp), self.lsr, self.dlsr)


def _check_blocks(blocks: tuple[ReportBlock, ...]) -> None:
    if len(blocks) > 31:  # RC is 5 bits
        raise InvalidValue(f"at most 31 report blocks per packet, got {len(blocks)}")


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR (§6.4.1). `extension` is the profile-specific tail, kept as bytes."""

    ssrc: int
    ntp_timestamp: int  # 64-bit NTP format
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    def __post_init__(self) -> None:
        _u("SSRC", self.ssrc, 32)
        _u("NTP timestamp", self.ntp_timestamp, 64)
        for name in ("rtp_timestamp", "packet_count", "octet_count"):
            _u(name, getattr(self, name), 32)
        _check_blocks(self.reports)
        if len(self.extension) % 4:
            raise InvalidValue("profile extension must be whole 32-bit words")

    def serialize(self) -> bytes:
        body = struct.pack("!IQIII", self.ssrc, self.ntp_timestamp, self.rtp_timestamp,
                           self.packet_count, self.octet_count)
        body += b"".join(b.serialize() for b in self.reports) + self.extension
        return _header(SR, len(self.reports), body)


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR (§6.4.2)."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    def __post_init__(self) -> None:
        _u("SSRC", self.ssrc, 32)
        _check_blocks(self.reports)
        if len(self.extension) % 4:
            raise InvalidValue("profile extension must be whole 32-bit words")

    def serialize(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(b.serialize() for b in self.reports)
        return _header(RR, len(self.reports), body + self.extension)


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """One source's SDES items (§6.5): (item type, value) pairs, END excluded."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...]

    def __post_init__(self) -> None:
        _u("SSRC", self.ssrc, 32)
        for kind, value in self.items:
            if not 1 <= kind <= 255:
                raise InvalidValue(f"SDES item type must be 1..255, got {kind}")
            if len(value) > 255:  # §6.5: 8-bit length
                raise InvalidValue("SDES item longer than 255 octets")

    @property
    def cname(self) -> str | None:
        for kind, value in self.items:
            if kind == SDES_CNAME:
                return value.decode("utf-8", "replace")
        return None

    def serialize(self) -> bytes:
        items = b"".join(bytes([kind, len(value)]) + value for kind, value in self.items)
        # §6.5: "terminated by one or more null octets ... to the next 32-bit boundary"
        return _pad4(struct.pack("!I", self.ssrc) + items + b"\x00")


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES (§6.5)."""

    chunks: tuple[SdesChunk, ...]

    def __post_init__(self) -> None:
        if len(self.chunks) > 31:
            raise InvalidValue("at most 31 SDES chunks per packet")

    @classmethod
    def with_cname(cls, ssrc: int, cname: str) -> SourceDescription:
        return cls((SdesChunk(ssrc, ((SDES_CNAME, cname.encode()),)),))

    def serialize(self) -> bytes:
        return _header(SDES, len(self.chunks), b"".join(c.serialize() for c in self.chunks))


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE (§6.6), with the optional reason."""

    ssrcs: tuple[int, ...]
    reason: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.ssrcs) > 31:
            raise InvalidValue("at most 31 SSRCs per BYE")
        for ssrc in self.ssrcs:
            _u("SSRC", ssrc, 32)
        if self.reason is not None and len(self.reason) > 255:
            raise InvalidValue("BYE reason longer than 255 octets")

    def serialize(self) -> bytes:
        body = b"".join(struct.pack("!I", s) for s in self.ssrcs)
        if self.reason is not None:
            body += _pad4(bytes([len(self.reason)]) + self.reason)
        return _header(BYE, len(self.ssrcs), body)


@dataclass(frozen=True, slots=True)
class VoipMetrics:
    """RFC 3611 §4.7 VoIP Metrics report block (BT=7), fields as on the wire.

    Scaled fields: rates are /256; MOS values are x10 and R factors plain,
    with 127 meaning "unavailable" (§4.7.5, §4.7.6); levels are signed dBm0.
    """

    ssrc: int
    loss_rate: int
    discard_rate: int
    burst_density: int
    gap_density: int
    burst_duration: int  # ms
    gap_duration: int  # ms
    round_trip_delay: int  # ms
    end_system_delay: int  # ms
    signal_level: int
    noise_level: int
    rerl: int
    gmin: int
    r_factor: int
    ext_r_factor: int
    mos_lq: int
    mos_cq: int
    rx_config: int
    reserved: int
    jb_nominal: int
    jb_maximum: int
    jb_abs_max: int

    def __post_init__(self) -> None:
        _u("SSRC", self.ssrc, 32)
        for name in ("loss_rate", "discard_rate", "burst_density", "gap_density", "rerl", "gmin",
                     "r_factor", "ext_r_factor", "mos_lq", "mos_cq", "rx_config", "reserved"):
            _u(name, getattr(self, name), 8)
        for name in ("burst_duration", "gap_duration", "round_trip_delay", "end_system_delay",
                     "jb_nominal", "jb_maximum", "jb_abs_max"):
            _u(name, getattr(self, name), 16)
        for name in ("signal_level", "noise_level"):
            if not -128 <= getattr(self, name) <= 127:
                raise InvalidValue(f"{name} must fit 8 signed bits")

    @property
    def mos_lq_value(self) -> float | None:
        return None if self.mos_lq == 127 else self.mos_lq / 10

    @property
    def r_factor_value(self) -> int | None:
        return None if self.r_factor == 127 else self.r_factor

    def serialize(self) -> bytes:
        return struct.pack("!BBH", XR_VOIP_METRICS, 0, 8) + _VOIP.pack(
            self.ssrc, self.loss_rate, self.discard_rate, self.burst_density, self.gap_density,
            self.burst_duration, self.gap_duration, self.round_trip_delay, self.end_system_delay,
            self.signal_level, self.noise_level, self.rerl, self.gmin, self.r_factor,
            self.ext_r_factor, self.mos_lq, self.mos_cq, self.rx_config, self.reserved,
            self.jb_nominal, self.jb_maximum, self.jb_abs_max)


@dataclass(frozen=True, slots=True)
class XrBlock:
    """An XR report block we do not interpret (RFC 3611 §3: "BT ... type-specific")."""

    block_type: int
    type_specific: int
    data: bytes

    def __post_init__(self) -> None:
        _u("block type", self.block_type, 8)
        _u("type-specific", self.type_specific, 8)
        if len(self.data) % 4 or len(self.data) // 4 > 0xFFFF:
            raise InvalidValue("XR block data must be whole 32-bit words")

    def serialize(self) -> bytes:
        return struct.pack("!BBH", self.block_type, self.type_specific, len(self.data) // 4) + self.data


@dataclass(frozen=True, slots=True)
class ExtendedReport:
    """XR (RFC 3611 §2)."""

    ssrc: int
    blocks: tuple[VoipMetrics | XrBlock, ...] = ()

    def __post_init__(self) -> None:
        _u("SSRC", self.ssrc, 32)

    @property
    def voip_metrics(self) -> VoipMetrics | None:
        return next((b for b in self.blocks if isinstance(b, VoipMetrics)), None)

    def serialize(self) -> bytes:
        return _header(XR, 0, struct.pack("!I", self.ssrc) + b"".join(b.serialize() for b in self.blocks))


@dataclass(frozen=True, slots=True)
class UnknownPacket:
    """Any other RTCP packet (APP, feedback...), kept opaque (§6.1)."""

    packet_type: int
    count: int
    body: bytes

    def __post_init__(self) -> None:
        _u("packet type", self.packet_type, 8)
        _u("count", self.count, 5)
        if len(self.body) % 4:
            raise InvalidValue("RTCP body must be whole 32-bit words")

    def serialize(self) -> bytes:
        return _header(self.packet_type, self.count, self.body)


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | ExtendedReport | UnknownPacket


def serialize_compound(packets: Sequence[RtcpPacket]) -> bytes:
    """Concatenate packets into one compound datagram (§6.1)."""
    return b"".join(p.serialize() for p in packets)


def parse_compound(data: bytes, *, require_report_first: bool = True) -> tuple[RtcpPacket, ...]:
    """Parse a compound RTCP packet, or raise `MediaParseError`.

    A.2's validity checks: every packet is version 2, only the last may carry
    padding, lengths add up to the datagram, and (unless
    `require_report_first` is off, e.g. for RFC 5506 reduced-size RTCP) the
    first packet is an SR or RR (§6.1 "MUST").
    """
    packets: list[RtcpPacket] = []
    offset = 0
    if not data:
        raise MediaParseError("empty RTCP datagram")
    while offset < len(data):
        if len(data) - offset < 4:
            raise MediaParseError(f"truncated RTCP header at octet {offset}")
        first, packet_type, words = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != 2:
            raise MediaParseError(f"RTCP version {first >> 6} at octet {offset}, expected 2")
        end = offset + 4 * (words + 1)
        if end > len(data):
            raise MediaParseError(f"RTCP packet at octet {offset} claims {4 * (words + 1)} octets, only {len(data) - offset} left")
        body_end = end
        if first & 0x20:
            if end != len(data):
                raise MediaParseError("RTCP padding on a packet that is not the last (A.2)")
            pad = data[end - 1]
            if pad == 0 or pad > end - offset - 4:
                raise MediaParseError(f"invalid RTCP padding count {pad}")
            body_end -= pad
        if not packets and require_report_first and packet_type not in (SR, RR):
            raise MediaParseError(f"compound RTCP must start with SR or RR, not type {packet_type} (§6.1)")
        packets.append(_parse_one(packet_type, first & 0x1F, data[offset + 4 : body_end]))
        offset = end
    return tuple(packets)


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    try:
        if packet_type == SR:
            return _parse_sr(count, body)
        if packet_type == RR:
            return _parse_rr(count, body)
        if packet_type == SDES:
            return _parse_sdes(count, body)
        if packet_type == BYE:
            return _parse_bye(count, body)
        if packet_type == XR:
            return _parse_xr(body)
        return UnknownPacket(packet_type, count, _pad4(body))
    except struct.error as exc:
        raise MediaParseError(f"RTCP packet type {packet_type} is truncated") from exc
    except ValueError as exc:  # a field our constructors reject
        raise MediaParseError(f"RTCP packet type {packet_type}: {exc}") from exc


def _blocks(count: int, body: bytes, offset: int) -> tuple[tuple[ReportBlock, ...], bytes]:
    if offset + 24 * count > len(body):
        raise MediaParseError(f"RTCP report claims {count} blocks but is {len(body)} octets long")
    blocks = tuple(ReportBlock.parse(body, offset + 24 * i) for i in range(count))
    return blocks, _pad4(body[offset + 24 * count :])


def _parse_sr(count: int, body: bytes) -> SenderReport:
    ssrc, ntp, rtp, packets, octets = struct.unpack_from("!IQIII", body)
    blocks, extension = _blocks(count, body, 24)
    return SenderReport(ssrc, ntp, rtp, packets, octets, blocks, extension)


def _parse_rr(count: int, body: bytes) -> ReceiverReport:
    (ssrc,) = struct.unpack_from("!I", body)
    blocks, extension = _blocks(count, body, 4)
    return ReceiverReport(ssrc, blocks, extension)


def _parse_sdes(count: int, body: bytes) -> SourceDescription:
    chunks = []
    offset = 0
    for _ in range(count):
        (ssrc,) = struct.unpack_from("!I", body, offset)
        offset += 4
        items = []
        while True:
            if offset >= len(body):
                raise MediaParseError("SDES chunk without its END item")
            kind = body[offset]
            if kind == 0:  # END: skip to the next 32-bit boundary
                offset += 4 - offset % 4
                break
            if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
                raise MediaParseError("SDES item overruns the packet")
            length = body[offset + 1]
            items.append((kind, bytes(body[offset + 2 : offset + 2 + length])))
            offset += 2 + length
        chunks.append(SdesChunk(ssrc, tuple(items)))
    return SourceDescription(tuple(chunks))


def _parse_bye(count: int, body: bytes) -> Bye:
    if 4 * count > len(body):
        raise MediaParseError(f"BYE claims {count} SSRCs but is {len(body)} octets long")
    ssrcs = struct.unpack_from(f"!{count}I", body)
    reason = None
    if len(body) > 4 * count:
        length = body[4 * count]
        if 4 * count + 1 + length > len(body):
            raise MediaParseError("BYE reason overruns the packet")
        reason = bytes(body[4 * count + 1 : 4 * count + 1 + length])
    return Bye(tuple(ssrcs), reason)


def _parse_xr(body: bytes) -> ExtendedReport:
    (ssrc,) = struct.unpack_from("!I", body)
    blocks: list[VoipMetrics | XrBlock] = []
    offset = 4
    while offset < len(body):
        block_type, specific, words = struct.unpack_from("!BBH", body, offset)
        end = offset + 4 + 4 * words
        if end > len(body):
            raise MediaParseError(f"XR block type {block_type} overruns the packet")
        if block_type == XR_VOIP_METRICS:
            if words != 8:  # RFC 3611 §4.7: "block length = 8"
                raise MediaParseError(f"VoIP Metrics block length {words}, expected 8")
            blocks.append(VoipMetrics(*_VOIP.unpack_from(body, offset + 4)))
        else:
            blocks.append(XrBlock(block_type, specific, bytes(body[offset + 4 : end])))
        offset = end
    return ExtendedReport(ssrc, tuple(blocks))
