"""The pre-encoded GET and the response parser, checked against pysnmp's own codec."""

from __future__ import annotations

import contextlib
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.errors import SnmpDecodeError
from probes.snmp.ber import (
    NO_SUCH_INSTANCE,
    REQUEST_ID_MAX,
    REQUEST_ID_MIN,
    GetTemplate,
    decode_oid,
    encode_oid,
    parse_response,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasn1.codec.ber import decoder, encoder
    from pysnmp.proto import api

oids = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=12).map(
    lambda arcs: ".".join(map(str, (1, 3, *arcs))))


@given(st.sampled_from(["v1", "v2c"]), st.text(min_size=1, max_size=40),
       st.lists(oids, min_size=1, max_size=4), st.integers(REQUEST_ID_MIN, REQUEST_ID_MAX))
def test_our_get_is_what_pysnmp_reads(version: str, community: str, names: list[str],
                                      rid: int) -> None:
    wire = GetTemplate(version, community, tuple(names)).encode(rid)
    mod = api.PROTOCOL_MODULES[api.SNMP_VERSION_1 if version == "v1" else api.SNMP_VERSION_2C]
    message, rest = decoder.decode(wire, asn1Spec=mod.Message())
    assert rest == b""
    assert bytes(mod.apiMessage.get_community(message)) == community.encode()
    pdu = mod.apiMessage.get_pdu(message)
    assert pdu.tagSet == mod.GetRequestPDU.tagSet
    assert int(mod.apiPDU.get_request_id(pdu)) == rid
    assert [str(o) for o, _ in mod.apiPDU.get_varbinds(pdu)] == names


def _response(version: int, community: str, rid: int, varbinds: list[tuple[str, object]],
              status: int = 0, index: int = 0) -> bytes:
    mod = api.PROTOCOL_MODULES[version]
    pdu = mod.GetResponsePDU()
    mod.apiPDU.set_defaults(pdu)
    mod.apiPDU.set_request_id(pdu, rid)
    mod.apiPDU.set_error_status(pdu, status)
    mod.apiPDU.set_error_index(pdu, index)
    mod.apiPDU.set_varbinds(pdu, varbinds)
    message = mod.Message()
    mod.apiMessage.set_defaults(message)
    mod.apiMessage.set_community(message, community)
    mod.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


@given(st.integers(0, 2**32 - 1), st.integers(-(2**31), 2**31 - 1), st.binary(max_size=300),
       st.integers(0, 2**64 - 1), oids, st.integers(REQUEST_ID_MIN, REQUEST_ID_MAX))
def test_a_pysnmp_response_parses_to_the_same_values(ticks: int, number: int, text: bytes,
                                                     big: int, oid: str, rid: int) -> None:
    v2 = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    data = _response(api.SNMP_VERSION_2C, "pub", rid, [
        ("1.3.6.1.2.1.1.3.0", v2.TimeTicks(ticks)), ("1.3.6.1.4.1.1", v2.Integer(number)),
        ("1.3.6.1.4.1.2", v2.OctetString(text)), ("1.3.6.1.4.1.3", v2.Counter64(big)),
        ("1.3.6.1.4.1.4", v2.IpAddress("192.0.2.9")), ("1.3.6.1.4.1.5", v2.ObjectIdentifier(oid)),
        ("1.3.6.1.4.1.6", v2.Gauge32(ticks)), ("1.3.6.1.4.1.7", v2.Null("")),
    ])
    r = parse_response(data)
    assert (r.version, r.community, r.request_id, r.error_status) == (1, b"pub", rid, 0)
    assert [value for _, value in r.varbinds] == [ticks, number, text, big, "192.0.2.9", oid,
                                                  ticks, None]
    assert r.varbinds[0][0] == "1.3.6.1.2.1.1.3.0"


def test_errors_and_exceptions_are_kept() -> None:
    v1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
    r = parse_response(_response(api.SNMP_VERSION_1, "pub", REQUEST_ID_MIN,
                                 [("1.3.6.1.2.1.1.3.0", v1.Null(""))], status=2, index=1))
    assert (r.version, r.error_name, r.error_index) == (0, "noSuchName", 1)
    data = bytearray(_response(api.SNMP_VERSION_2C, "pub", REQUEST_ID_MIN,
                               [("1.3.6.1.2.1.1.3.0", api.v2c.Null(""))]))
    data[-2] = 0x81  # the NULL value becomes noSuchInstance
    assert parse_response(bytes(data)).varbinds[0][1] is NO_SUCH_INSTANCE


@given(st.binary(max_size=120))
def test_any_bytes_parse_or_raise_a_decode_error(data: bytes) -> None:
    with contextlib.suppress(SnmpDecodeError):  # anything else fails the test
        parse_response(data)


@given(st.integers(0, 200))
def test_a_truncated_response_is_refused(cut: int) -> None:
    data = _response(api.SNMP_VERSION_2C, "pub", REQUEST_ID_MIN,
                     [("1.3.6.1.2.1.1.3.0", api.v2c.TimeTicks(5))])
    if cut >= len(data):
        return
    with pytest.raises(SnmpDecodeError):
        parse_response(data[:cut])


@given(oids)
def test_oids_round_trip(oid: str) -> None:
    assert decode_oid(encode_oid(oid)) == oid
