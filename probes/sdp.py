"""SDP offer/answer, the subset a G.711 test call needs (RFC 4566, RFC 3264).

We offer one audio stream (PCMU and/or PCMA plus telephone-event) and read
the answer for what the call needs: which codec, where to send RTP and RTCP,
with what ptime and direction. Everything else in an answer is parsed
leniently and ignored, because a monitoring probe must cope with whatever a
platform's SBC adds. Malformed SDP raises `SdpParseError` naming the line;
an answer that is well formed but unusable raises `SdpNegotiationError`.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from probes.errors import InvalidValue, SdpNegotiationError, SdpParseError
from probes.rtp.g711 import Law

__all__ = [
    "Codec",
    "Direction",
    "MediaDescription",
    "Negotiated",
    "SessionDescription",
    "build_offer",
    "negotiate",
    "parse_sdp",
]

TELEPHONE_EVENT = "telephone-event"  # RFC 4733 §7.1.1
_LINE = re.compile(r"([a-z])=(.*)")
_STATIC = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}  # RFC 3551 Table 4: no rtpmap needed
_DIRECTIONS = frozenset(("sendrecv", "sendonly", "recvonly", "inactive"))  # RFC 4566 §6


class Direction(enum.StrEnum):
    """Media direction attributes (RFC 4566 §6, RFC 3264 §6.1)."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    def reverse(self) -> Direction:
        """The direction as seen from the other end (sendonly <-> recvonly)."""
        if self is Direction.SENDONLY:
            return Direction.RECVONLY
        if self is Direction.RECVONLY:
            return Direction.SENDONLY
        return self


@dataclass(frozen=True, slots=True)
class Codec:
    """One RTP payload format: `a=rtpmap:<pt> <name>/<clock>[/<channels>]`."""

    payload_type: int
    name: str
    clock_rate: int
    channels: int = 1
    fmtp: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise InvalidValue(f"payload type must be 0..127, got {self.payload_type}")
        if not self.name or any(c.isspace() or c == "/" for c in self.name):
            raise InvalidValue(f"invalid encoding name {self.name!r}")
        if self.clock_rate <= 0 or self.channels <= 0:
            raise InvalidValue("clock rate and channels must be positive")


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One `m=` section. `connection` is the effective address (media or session c=)."""

    media: str
    port: int
    protocol: str
    codecs: tuple[Codec, ...]  # in m= line order: the offerer's/answerer's preference
    connection: str | None
    ptime: int | None = None
    direction: Direction = Direction.SENDRECV
    rtcp_port: int | None = None  # RFC 3605 a=rtcp
    rtcp_address: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 0xFFFF:
            raise InvalidValue(f"port must be 0..65535, got {self.port}")
        if self.rtcp_port is not None and not 0 < self.rtcp_port <= 0xFFFF:
            raise InvalidValue(f"RTCP port must be 1..65535, got {self.rtcp_port}")
        if self.ptime is not None and self.ptime <= 0:
            raise InvalidValue(f"ptime must be positive, got {self.ptime}")

    def serialize(self) -> list[str]:
        lines = [f"m={self.media} {self.port} {self.protocol} " + " ".join(str(c.payload_type) for c in self.codecs)]
        for codec in self.codecs:
            channels = f"/{codec.channels}" if codec.channels != 1 else ""
            lines.append(f"a=rtpmap:{codec.payload_type} {codec.name}/{codec.clock_rate}{channels}")
            if codec.fmtp is not None:
                lines.append(f"a=fmtp:{codec.payload_type} {codec.fmtp}")
        if self.ptime is not None:
            lines.append(f"a=ptime:{self.ptime}")
        lines.append(f"a={self.direction}")
        if self.rtcp_port is not None:
            address = f" {_connection(self.rtcp_address)}" if self.rtcp_address else ""
            lines.append(f"a=rtcp:{self.rtcp_port}{address}")
        return lines


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A parsed or built session description."""

    username: str
    session_id: str
    session_version: str
    origin_address: str
    connection: str | None  # session-level c=
    media: tuple[MediaDescription, ...]
    session_name: str = "-"

    @property
    def audio(self) -> MediaDescription | None:
        """The first audio stream: the one a G.711 test call uses."""
        return next((m for m in self.media if m.media == "audio"), None)

    def serialize(self) -> str:
        """SDP text with CRLF line ends (RFC 4566 §5)."""
        lines = [
            "v=0",
            f"o={self.username} {self.session_id} {self.session_version} {_connection(self.origin_address)}",
            f"s={self.session_name}",
        ]
        if self.connection is not None:
            lines.append(f"c={_connection(self.connection)}")
        lines.append("t=0 0")
        for media in self.media:
            lines.extend(media.serialize())
        return "\r\n".join(lines) + "\r\n"


def _connection(address: str) -> str:
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        version = 4  # an FQDN: RFC 4566 §5.7 allows it, IP4 is the usual label
    return f"IN IP{version} {address}"


def build_offer(
    address: str,
    port: int,
    *,
    session_id: str,
    laws: Sequence[Law] = (Law.PCMU, Law.PCMA),
    telephone_event: int | None = 101,
    ptime: int = 20,
    direction: Direction = Direction.SENDRECV,
    rtcp_port: int | None = None,
    session_version: str = "1",
) -> SessionDescription:
    """Our offer: one audio stream, G.711 laws in preference order, DTMF events.

    `session_id` should be unique per call (RFC 4566 §5.2 suggests an NTP
    timestamp); the caller supplies it so this stays deterministic.
    """
    if not laws:
        raise InvalidValue("offer at least one G.711 law")
    codecs = [Codec(law.payload_type, law.value, 8000) for law in laws]
    if telephone_event is not None:
        codecs.append(Codec(telephone_event, TELEPHONE_EVENT, 8000, fmtp="0-16"))  # RFC 4733 §7.1.1
    media = MediaDescription(
        "audio", port, "RTP/AVP", tuple(codecs), address, ptime, direction, rtcp_port, None
    )
    return SessionDescription("monitord", session_id, session_version, address, address, (media,), "monitord")


def parse_sdp(text: str) -> SessionDescription:
    """Parse SDP text (CRLF or bare LF line ends), or raise `SdpParseError`."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise SdpParseError("empty session description")
    origin: list[str] | None = None
    session_name = "-"
    session_connection: str | None = None
    session_direction = Direction.SENDRECV
    sections: list[_MediaBuilder] = []
    for number, line in enumerate(lines, 1):
        match = _LINE.fullmatch(line)
        if match is None:
            raise SdpParseError("not a '<type>=<value>' line (RFC 4566 §5)", number, line)
        kind, value = match.groups()
        if number == 1 and (kind, value.strip()) != ("v", "0"):
            raise SdpParseError("the first line must be 'v=0' (RFC 4566 §5.1)", number, line)
        current = sections[-1] if sections else None
        if kind == "o":
            origin = value.split()
            if len(origin) != 6:
                raise SdpParseError("o= needs 6 fields (RFC 4566 §5.2)", number, line)
        elif kind == "s":
            session_name = value
        elif kind == "c":
            address = _parse_connection(value, number, line)
            if current is None:
                session_connection = address
            else:
                current.connection = address
        elif kind == "m":
            sections.append(_MediaBuilder.from_line(value, number, line))
        elif kind == "a":
            name, _, attr = value.partition(":")
            if name in _DIRECTIONS:
                if current is None:
                    session_direction = Direction(name)
                else:
                    current.direction = Direction(name)
            elif current is not None:
                current.attribute(name, attr, number, line)
    if origin is None:
        raise SdpParseError("no o= line (RFC 4566 §5.2)")
    if len(lines) < 2 or not any(line.startswith("s=") for line in lines):
        raise SdpParseError("no s= line (RFC 4566 §5.3)")
    media = tuple(s.build(session_connection, session_direction) for s in sections)
    return SessionDescription(origin[0], origin[1], origin[2], origin[5], session_connection, media, session_name)


def _parse_connection(value: str, number: int, line: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpParseError("c= must be 'IN IP4|IP6 <address>' (RFC 4566 §5.7)", number, line)
    return parts[2].split("/")[0]  # drop a multicast /ttl


def _int(text: str, low: int, high: int, what: str, number: int, line: str) -> int:
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise SdpParseError(f"{what} must be an integer {low}..{high}", number, line)
    return int(text)


class _MediaBuilder:
    """Collects one m= section's lines before the session-level defaults are known."""

    __slots__ = ("connection", "direction", "fmtp", "formats", "line", "media", "number", "port",
                 "protocol", "ptime", "rtcp_address", "rtcp_port", "rtpmap")

    def __init__(self, media: str, port: int, protocol: str, formats: list[str], number: int, line: str) -> None:
        self.media, self.port, self.protocol, self.formats = media, port, protocol, formats
        self.number, self.line = number, line
        self.connection: str | None = None
        self.direction: Direction | None = None
        self.ptime: int | None = None
        self.rtcp_port: int | None = None
        self.rtcp_address: str | None = None
        self.rtpmap: dict[int, tuple[str, int, int]] = {}
        self.fmtp: dict[int, str] = {}

    @classmethod
    def from_line(cls, value: str, number: int, line: str) -> _MediaBuilder:
        parts = value.split()
        if len(parts) < 4:
            raise SdpParseError("m= needs media, port, protocol and formats (RFC 4566 §5.14)", number, line)
        port = _int(parts[1].split("/")[0], 0, 0xFFFF, "m= port", number, line)
        if "RTP/" in parts[2]:
            for fmt in parts[3:]:
                _int(fmt, 0, 127, "an RTP payload type", number, line)
        return cls(parts[0], port, parts[2], parts[3:], number, line)

    def attribute(self, name: str, value: str, number: int, line: str) -> None:
        if name == "rtpmap":
            pt, _, encoding = value.partition(" ")
            fields = encoding.strip().split("/")
            if len(fields) not in (2, 3) or not fields[0]:
                raise SdpParseError("rtpmap must be '<pt> <name>/<clock>[/<channels>]'", number, line)
            channels = _int(fields[2], 1, 255, "rtpmap channels", number, line) if len(fields) == 3 else 1
            self.rtpmap[_int(pt, 0, 127, "rtpmap payload type", number, line)] = (
                fields[0], _int(fields[1], 1, 10**7, "rtpmap clock rate", number, line), channels)
        elif name == "fmtp":
            pt, _, params = value.partition(" ")
            self.fmtp[_int(pt, 0, 127, "fmtp payload type", number, line)] = params.strip()
        elif name == "ptime":
            ms = value.strip().split(".")[0]
            self.ptime = _int(ms, 1, 10_000, "ptime", number, line)
        elif name == "rtcp":  # RFC 3605: a=rtcp:<port> [IN IP4 <address>]
            parts = value.split(None, 1)
            if not parts:
                raise SdpParseError("a=rtcp needs a port (RFC 3605)", number, line)
            self.rtcp_port = _int(parts[0], 1, 0xFFFF, "a=rtcp port", number, line)
            if len(parts) == 2:
                self.rtcp_address = _parse_connection(parts[1], number, line)

    def build(self, session_connection: str | None, session_direction: Direction) -> MediaDescription:
        codecs = []
        if "RTP/" in self.protocol:
            for fmt in self.formats:
                pt = int(fmt)
                if pt in self.rtpmap:
                    name, clock, channels = self.rtpmap[pt]
                elif pt in _STATIC:
                    name, clock = _STATIC[pt]
                    channels = 1
                else:
                    continue  # a dynamic type without rtpmap: unusable, not fatal
                try:
                    codecs.append(Codec(pt, name, clock, channels, self.fmtp.get(pt)))
                except ValueError as exc:
                    raise SdpParseError(str(exc), self.number, self.line) from exc
        connection = self.connection or session_connection
        if connection is None and self.port != 0:
            raise SdpParseError("no c= for this stream or the session (RFC 4566 §5.7)", self.number, self.line)
        return MediaDescription(
            self.media, self.port, self.protocol, tuple(codecs), connection, self.ptime,
            self.direction or session_direction, self.rtcp_port, self.rtcp_address,
        )


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the call uses after the answer (RFC 3264 §6.1, §5.1)."""

    law: Law
    payload_type: int  # the answer's number: what the answerer expects to receive
    telephone_event: int | None
    remote_address: str
    remote_port: int
    remote_rtcp_address: str
    remote_rtcp_port: int
    ptime: int
    direction: Direction  # ours: the answer's direction reversed

    def __post_init__(self) -> None:
        for name in ("remote_port", "remote_rtcp_port"):
            if not 0 < getattr(self, name) <= 0xFFFF:
                raise SdpNegotiationError(f"{name} out of range: {getattr(self, name)}")
        if self.ptime <= 0:
            raise SdpNegotiationError(f"ptime must be positive, got {self.ptime}")


def negotiate(offer: SessionDescription, answer: SessionDescription) -> Negotiated:
    """Pick the codec and peer addresses from the answer to our offer."""
    ours = offer.audio
    theirs = answer.audio
    if ours is None:
        raise SdpNegotiationError("the offer has no audio stream")
    if theirs is None:
        raise SdpNegotiationError("the answer has no audio stream")
    if theirs.port == 0:
        raise SdpNegotiationError("the answer rejected the audio stream (port 0, RFC 3264 §6)")
    offered = {c.name.upper() for c in ours.codecs}
    # §6.1: the answer lists the formats it accepts in its preference order.
    law = None
    payload_type = 0
    for codec in theirs.codecs:
        name = codec.name.upper()
        if name in (Law.PCMU, Law.PCMA) and name in offered and codec.clock_rate == 8000:
            law, payload_type = Law(name), codec.payload_type
            break
    if law is None:
        names = ", ".join(c.name for c in theirs.codecs) or "none"
        raise SdpNegotiationError(f"no offered G.711 codec in the answer (answered: {names})")
    event = next(
        (c.payload_type for c in theirs.codecs if c.name.lower() == TELEPHONE_EVENT and c.clock_rate == 8000),
        None,
    )
    if theirs.connection is None:  # parse_sdp rejects this; a hand-built answer might not
        raise SdpNegotiationError("the answer's audio stream has no connection address")
    return Negotiated(
        law=law,
        payload_type=payload_type,
        telephone_event=event if any(c.name.lower() == TELEPHONE_EVENT for c in ours.codecs) else None,
        remote_address=theirs.connection,
        remote_port=theirs.port,
        remote_rtcp_address=theirs.rtcp_address or theirs.connection,
        # RFC 3550 §11: RTCP on the next higher port unless a=rtcp says otherwise.
        remote_rtcp_port=theirs.rtcp_port or theirs.port + 1,
        ptime=theirs.ptime or ours.ptime or 20,
        direction=theirs.direction.reverse(),
    )
