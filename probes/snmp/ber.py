"""SNMPv1/v2c GET on the wire, sans-IO: a pre-encoded request and a strict response parser.

Why not pysnmp for these: its generic encoder and message processing cost
~0.5 ms of CPU per poll, most of a core at a few thousand devices a second.
A v1/v2c GET of fixed OIDs is a fixed PDU: like SIPp with SIP, it is encoded
once (`GetTemplate`) and only the request-id (always four content octets)
is patched per request. A response is parsed by `parse_response`: any input
either parses or raises `SnmpDecodeError` (a datagram we then discard, as
pysnmp would). SNMPv3 (USM, engine discovery) stays with pysnmp.

BER per X.690 as RFC 3416/1157 use it: definite lengths only, minimal
INTEGERs on our side, application types IpAddress, Counter32, Gauge32,
TimeTicks, Opaque, Counter64, and the v2c exceptions noSuchObject,
noSuchInstance and endOfMibView.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidValue, SnmpDecodeError

__all__ = [
    "END_OF_MIB_VIEW",
    "ERROR_STATUS",
    "NO_SUCH_INSTANCE",
    "NO_SUCH_OBJECT",
    "REQUEST_ID_MAX",
    "REQUEST_ID_MIN",
    "GetResponse",
    "GetTemplate",
    "VarBindException",
    "decode_oid",
    "encode_oid",
    "parse_response",
]

# four content octets with a clear top bit: minimal and positive (X.690 §8.3.2)
REQUEST_ID_MIN = 0x0100_0000
REQUEST_ID_MAX = 0x7FFF_FFFF
VERSIONS = {"v1": 0, "v2c": 1}
_GET, _RESPONSE = 0xA0, 0xA2
_MAX_DEPTH_OCTETS = 4  # lengths above 2**32 are never an SNMP datagram

# RFC 3416 §3 error-status names (RFC 1157 uses the first six)
ERROR_STATUS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
                "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
                "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
                "authorizationError", "notWritable", "inconsistentName")


@dataclass(frozen=True, slots=True)
class VarBindException:
    """A v2c varbind exception in place of a value."""

    name: str  # noSuchObject, noSuchInstance, endOfMibView


NO_SUCH_OBJECT = VarBindException("noSuchObject")
NO_SUCH_INSTANCE = VarBindException("noSuchInstance")
END_OF_MIB_VIEW = VarBindException("endOfMibView")
_EXCEPTIONS = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}

Value = int | bytes | str | None | VarBindException


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def encode_oid(oid: str) -> bytes:
    """An OBJECT IDENTIFIER's content octets; raises ValueError for a malformed one."""
    arcs = [int(a) for a in oid.strip(".").split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39) or min(arcs) < 0:
        raise InvalidValue(f"not an OID: {oid!r}")
    out = bytearray()
    for arc in (arcs[0] * 40 + arcs[1], *arcs[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def decode_oid(body: bytes) -> str:
    if not body or body[-1] & 0x80:
        raise SnmpDecodeError("truncated OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for octet in body:
        if value == 0 and octet == 0x80:
            raise SnmpDecodeError("OBJECT IDENTIFIER arc with a leading 0x80 octet")
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return ".".join(str(a) for a in (*head, *arcs[1:]))


class GetTemplate:
    """One GET message for fixed OIDs, encoded once; `encode(request_id)` patches the id."""

    __slots__ = ("_prefix", "_suffix", "community", "oids", "version")

    def __init__(self, version: str, community: str, oids: tuple[str, ...]) -> None:
        if version not in VERSIONS:
            raise InvalidValue(f"pre-encoded GETs are for v1/v2c, not {version!r}")
        self.version, self.community, self.oids = version, community, oids
        varbinds = _tlv(0x30, b"".join(_tlv(0x30, _tlv(0x06, encode_oid(o)) + b"\x05\x00")
                                       for o in oids))
        marker = b"\x02\x04\x00\x00\x00\x00"  # the request-id, patched per request
        body = marker + _integer(0) + _integer(0) + varbinds
        message = _tlv(0x30, _integer(VERSIONS[version])
                       + _tlv(0x04, community.encode("utf-8")) + _tlv(_GET, body))
        at = len(message) - len(body) + 2  # the request-id's content octets
        self._prefix, self._suffix = message[:at], message[at + 4:]

    def encode(self, request_id: int) -> bytes:
        if not REQUEST_ID_MIN <= request_id <= REQUEST_ID_MAX:
            raise InvalidValue(f"request-id {request_id} outside the four-octet range")
        return self._prefix + request_id.to_bytes(4, "big") + self._suffix


@dataclass(frozen=True, slots=True)
class GetResponse:
    version: int
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: tuple[tuple[str, Value], ...]

    @property
    def error_name(self) -> str:
        s = self.error_status
        return ERROR_STATUS[s] if 0 <= s < len(ERROR_STATUS) else f"error-status {s}"


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def tlv(self) -> tuple[int, int, int]:
        """(tag, start, stop) of the next element; the reader moves past it."""
        data, pos, end = self.data, self.pos, self.end
        if pos + 2 > end:
            raise SnmpDecodeError("truncated element")
        tag, first = data[pos], data[pos + 1]
        if tag & 0x1F == 0x1F:
            raise SnmpDecodeError("multi-octet tags are not used by SNMP")
        pos += 2
        if first & 0x80:
            count = first & 0x7F
            if count == 0 or count > _MAX_DEPTH_OCTETS or pos + count > end:
                raise SnmpDecodeError("indefinite or oversized length")
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        else:
            length = first
        stop = pos + length
        if stop > end:
            raise SnmpDecodeError("element longer than its container")
        self.pos = stop
        return tag, pos, stop

    def expect(self, tag: int) -> tuple[int, int]:
        got, start, stop = self.tlv()
        if got != tag:
            raise SnmpDecodeError(f"expected tag 0x{tag:02x}, got 0x{got:02x}")
        return start, stop

    def integer(self) -> int:
        start, stop = self.expect(0x02)
        if start == stop:
            raise SnmpDecodeError("empty INTEGER")
        return int.from_bytes(self.data[start:stop], "big", signed=True)

    def done(self) -> bool:
        return self.pos >= self.end


def _value(tag: int, body: bytes) -> Value:
    if tag == 0x02:
        if not body:
            raise SnmpDecodeError("empty INTEGER")
        return int.from_bytes(body, "big", signed=True)
    if tag in (0x04, 0x44):  # OCTET STRING, Opaque
        return body
    if tag in (0x41, 0x42, 0x43, 0x46):  # Counter32, Gauge32, TimeTicks, Counter64: unsigned
        if not body or len(body) > 9:
            raise SnmpDecodeError("malformed unsigned integer")
        return int.from_bytes(body, "big")
    if tag == 0x40:
        if len(body) != 4:
            raise SnmpDecodeError("IpAddress is not four octets")
        return ".".join(str(b) for b in body)
    if tag == 0x06:
        return decode_oid(body)
    if tag == 0x05:
        return None
    if tag in _EXCEPTIONS:
        return _EXCEPTIONS[tag]
    raise SnmpDecodeError(f"unknown value type 0x{tag:02x}")


def parse_response(data: bytes) -> GetResponse:
    """An SNMPv1/v2c Response-PDU message; raises `SnmpDecodeError` for anything else."""
    outer = _Reader(data)
    start, stop = outer.expect(0x30)
    if not outer.done():
        raise SnmpDecodeError("bytes after the message")
    msg = _Reader(data, start, stop)
    version = msg.integer()
    if version not in (0, 1):
        raise SnmpDecodeError(f"not SNMPv1/v2c (version {version})")
    c_start, c_stop = msg.expect(0x04)
    p_start, p_stop = msg.expect(_RESPONSE)
    if not msg.done():
        raise SnmpDecodeError("bytes after the PDU")
    pdu = _Reader(data, p_start, p_stop)
    request_id, error_status, error_index = pdu.integer(), pdu.integer(), pdu.integer()
    l_start, l_stop = pdu.expect(0x30)
    if not pdu.done():
        raise SnmpDecodeError("bytes after the varbind list")
    items = _Reader(data, l_start, l_stop)
    varbinds = []
    while not items.done():
        v_start, v_stop = items.expect(0x30)
        vb = _Reader(data, v_start, v_stop)
        o_start, o_stop = vb.expect(0x06)
        tag, b_start, b_stop = vb.tlv()
        if not vb.done():
            raise SnmpDecodeError("bytes after a varbind's value")
        varbinds.append((decode_oid(data[o_start:o_stop]), _value(tag, data[b_start:b_stop])))
    return GetResponse(version, data[c_start:c_stop], request_id, error_status, error_index,
                       tuple(varbinds))
