"""RTP fixed header: parse and serialize (RFC 3550 §5.1, §5.3.1).

The parser sits on the network boundary, so it keeps one promise: any input
either parses into an `RtpPacket` or raises `MediaParseError`. The checks
are those of RFC 3550 Appendix A.1's header validity test that a single
packet can be held to (version, padding count, CSRC and extension lengths);
sequence continuity is `stats`' job.

Wire layout (§5.1)::

     0                   1                   2                   3
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    |                           timestamp                           |
    |           synchronization source (SSRC) identifier            |
    |            contributing source (CSRC) identifiers (0-15)      |
    | [extension: profile (16) | length in 32-bit words (16) | data] |
    | payload ...                         | [padding ... | count]   |
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import InvalidValue, MediaParseError

__all__ = ["HEADER_SIZE", "RTP_VERSION", "RtpExtension", "RtpPacket", "parse_rtp"]

RTP_VERSION = 2  # §5.1 "version (V): 2 bits ... The version defined by this specification is two"
HEADER_SIZE = 12
_FIXED = struct.Struct("!BBHII")
_U32 = 0xFFFFFFFF


def _check_range(name: str, value: int, upper: int) -> None:
    if not 0 <= value <= upper:
        raise InvalidValue(f"{name} must be in 0..{upper}, got {value}")


@dataclass(frozen=True, slots=True)
class RtpExtension:
    """The one header extension §5.3.1 allows: a 16-bit profile tag and data.

    The data length is a whole number of 32-bit words ("length ... counts the
    number of 32-bit words in the extension").
    """

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        _check_range("extension profile", self.profile, 0xFFFF)
        if len(self.data) % 4:
            raise InvalidValue("extension data must be a multiple of 4 octets (§5.3.1)")
        if len(self.data) // 4 > 0xFFFF:
            raise InvalidValue("extension data longer than 65535 words")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. `padding` is the number of padding octets (0 = P bit clear).

    Padding octets are written as zeros followed by the count; their content
    is not kept on parse (§5.1: "padding octets ... are not part of the payload").
    """

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    padding: int = 0

    def __post_init__(self) -> None:
        _check_range("payload type", self.payload_type, 127)  # §5.1 "PT: 7 bits"
        _check_range("sequence number", self.sequence, 0xFFFF)
        _check_range("timestamp", self.timestamp, _U32)
        _check_range("SSRC", self.ssrc, _U32)
        if len(self.csrcs) > 15:  # §5.1 "CC: 4 bits"
            raise InvalidValue(f"at most 15 CSRCs, got {len(self.csrcs)}")
        for csrc in self.csrcs:
            _check_range("CSRC", csrc, _U32)
        # §5.1: the last padding octet counts the padding, itself included.
        _check_range("padding", self.padding, 255)

    def serialize(self) -> bytes:
        first = (RTP_VERSION << 6) | (0x20 if self.padding else 0)
        first |= (0x10 if self.extension is not None else 0) | len(self.csrcs)
        second = (0x80 if self.marker else 0) | self.payload_type
        parts = [_FIXED.pack(first, second, self.sequence, self.timestamp, self.ssrc)]
        parts.extend(csrc.to_bytes(4, "big") for csrc in self.csrcs)
        if self.extension is not None:
            ext = self.extension
            parts.append(struct.pack("!HH", ext.profile, len(ext.data) // 4) + ext.data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one RTP packet, or raise `MediaParseError` saying what is wrong."""
    if len(data) < HEADER_SIZE:
        raise MediaParseError(f"RTP packet of {len(data)} octets is shorter than the 12-octet header")
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise MediaParseError(f"RTP version {first >> 6}, expected 2 (§5.1)")
    offset = HEADER_SIZE
    csrc_count = first & 0x0F
    end = len(data)
    if first & 0x20:  # P bit
        padding = data[-1]
        # A.1: "the last octet of the packet must contain a valid octet count,
        # in particular, less than the total packet length minus the header size"
        if padding == 0 or padding > end - HEADER_SIZE - 4 * csrc_count:
            raise MediaParseError(f"invalid RTP padding count {padding}")
        end -= padding
    else:
        padding = 0
    if offset + 4 * csrc_count > end:
        raise MediaParseError(f"RTP packet too short for {csrc_count} CSRCs")
    csrcs = tuple(int.from_bytes(data[offset + 4 * i : offset + 4 * i + 4], "big") for i in range(csrc_count))
    offset += 4 * csrc_count
    extension = None
    if first & 0x10:  # X bit
        if offset + 4 > end:
            raise MediaParseError("RTP packet too short for its header extension")
        profile, words = struct.unpack_from("!HH", data, offset)
        offset += 4
        if offset + 4 * words > end:
            raise MediaParseError(f"RTP header extension of {words} words overruns the packet")
        extension = RtpExtension(profile, bytes(data[offset : offset + 4 * words]))
        offset += 4 * words
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
        csrcs=csrcs,
        extension=extension,
        padding=padding,
    )
