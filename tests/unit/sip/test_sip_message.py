"""Parser and serializer against messages shaped like the ones real servers send."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from probes.errors import LocalProtocolError, SipParseError
from probes.sip.message import (
    Headers,
    Request,
    Response,
    StreamParser,
    make_branch,
    make_call_id,
    make_tag,
    make_tag_and_call_id,
    parse_message,
    parse_via,
    split_header_list,
)
from probes.sip.via import Via, parse_via_general, routing_branch

# Kamailio-style answer with two Vias (one comma-combined), compact headers and folding.
KAMAILIO_200 = (
    b"SIP/2.0 200 OK\r\n"
    b"v: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.1,\r\n"
    b" SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKnashds8\r\n"
    b"Via: SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKabc\r\n"
    b"f: \"Mon D\" <sip:monitord@10.0.0.5>;tag=1928301774\r\n"
    b"t: <sip:pbx.example.com>;tag=a6c85cf\r\n"
    b"i: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 63104 OPTIONS\r\n"
    b"Subject: a folded\r\n"
    b"\tsubject line\r\n"
    b"Server: kamailio (5.6.3 (x86_64/linux))\r\n"
    b"k: replaces, timer\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

INVITE_WITH_BODY = (
    b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.com>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 14\r\n"
    b"\r\n"
    b"v=0\r\no=caf\xc3\xa9\r\n"
)


def test_compact_forms_folding_and_multiple_vias() -> None:
    msg = parse_message(KAMAILIO_200)
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (200, "OK")
    assert msg.headers.get("call-id") == "a84b4c76e66710@pc33.atlanta.com"
    assert msg.headers.get("TO") == "<sip:pbx.example.com>;tag=a6c85cf"
    assert msg.headers.get("Subject") == "a folded subject line"
    assert msg.headers.get("Supported") == "replaces, timer"
    assert len(msg.vias) == 3
    top = msg.top_via
    assert (top.transport, top.host, top.port, top.branch) == (
        "UDP", "10.0.0.5", 5060, "z9hG4bK776asdhds",
    )
    assert top.param("received") == "192.0.2.1"
    third = parse_via(msg.vias[2])
    assert (third.transport, third.host, third.port) == ("TCP", "[2001:db8::9]", 5070)
    assert msg.cseq == (63104, "OPTIONS")
    assert msg.body == b""


def test_request_with_utf8_body_respects_content_length() -> None:
    msg = parse_message(INVITE_WITH_BODY)
    assert isinstance(msg, Request)
    assert (msg.method, msg.uri) == ("INVITE", "sip:bob@biloxi.com")
    assert msg.body == "v=0\r\no=café\r\n".encode()


def test_datagram_bytes_beyond_content_length_are_discarded() -> None:
    # RFC 3261 §18.3: extra bytes in a datagram after Content-Length are ignored.
    assert parse_message(INVITE_WITH_BODY + b"junk").body == INVITE_WITH_BODY[-14:]


@pytest.mark.parametrize("data", [KAMAILIO_200, INVITE_WITH_BODY])
def test_round_trip(data: bytes) -> None:
    msg = parse_message(data)
    again = parse_message(msg.serialize())
    assert again == msg
    assert again.serialize() == msg.serialize()


def test_serialize_uses_long_names_and_adds_content_length() -> None:
    headers = Headers([("v", "SIP/2.0/UDP h;branch=z9hG4bKx"), ("f", "<sip:a@b>;tag=1"),
                       ("t", "<sip:c@d>"), ("i", "x"), ("CSeq", "1 OPTIONS")])
    wire = Request("OPTIONS", "sip:d", headers).serialize()
    assert wire.startswith(b"OPTIONS sip:d SIP/2.0\r\nVia: ")
    assert b"\r\nCall-ID: x\r\n" in wire
    assert wire.endswith(b"Content-Length: 0\r\n\r\n")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"SIP/2.0 abc OK\r\n\r\n", "malformed status line: b'SIP/2.0 abc OK'"),
        (b"SIP/2.0 200 OK\r\nVia: x\r\n", "no empty line"),
        (b"OPTIONS sip:x SIP/3.0\r\n\r\n", "malformed request line"),
        (b"SIP/2.0 200 OK\r\nnocolon\r\n\r\n", "malformed header line"),
        (b"SIP/2.0 200 OK\r\n folded-first\r\n\r\n", "continuation line before any header"),
        (KAMAILIO_200.replace(b"l: 0", b"l: 5"), "Content-Length 5 but only 0"),
        (KAMAILIO_200.replace(b"l: 0", b"l: -1"), "malformed Content-Length"),
        (KAMAILIO_200.replace(b"CSeq: 63104 OPTIONS\r\n", b""), "missing mandatory CSeq"),
        (KAMAILIO_200.replace(b"63104 OPTIONS", b"x OPTIONS"), "malformed CSeq"),
        (KAMAILIO_200.replace(b"SIP/2.0/TCP", b"SIP/2.0/"), "malformed Via"),
        (KAMAILIO_200.replace(b"Server: kamailio", b"Server: \xff"), "not valid UTF-8"),
        (INVITE_WITH_BODY.replace(b"314159 INVITE", b"1 BYE"), "does not match 'INVITE'"),
        (b"X" * 70_000, "exceeds the 65536-byte limit"),
    ],
)
def test_malformed_input_raises_parse_error_naming_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(SipParseError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_message(data)


def test_headers_are_case_insensitive_ordered_and_multi_valued() -> None:
    headers = Headers()
    headers.add("Route", "<sip:a>")
    headers.add("route", "<sip:b>")
    headers.add("m", "<sip:c>")
    assert headers.get_all("ROUTE") == ["<sip:a>", "<sip:b>"]
    assert headers.get("Contact") == "<sip:c>"
    headers.set("Route", "<sip:z>")
    assert list(headers) == [("Route", "<sip:z>"), ("Contact", "<sip:c>")]
    headers.remove("contact")
    assert "Contact" not in headers and len(headers) == 1
    with pytest.raises(LocalProtocolError, match="control characters"):
        headers.add("X-Evil", "a\r\nVia: injected")


def test_positions_name_the_fields_that_are_missing() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("f", "<sip:x>;tag=1"),
                       ("i", "c1"), ("CSeq", "1 OPTIONS")])
    assert headers.positions("Call-ID", "From") == (2, 1)
    with pytest.raises(LocalProtocolError, match="no Contact, To field"):
        headers.positions("Via", "To", "Contact")


def test_serialize_rejects_a_wrong_content_length() -> None:
    req = Request("OPTIONS", "sip:x", Headers([("Content-Length", "3")]), b"ab")
    with pytest.raises(LocalProtocolError, match="does not match a 2-byte body"):
        req.serialize()


def test_split_header_list_respects_quotes_and_brackets() -> None:
    value = '"Doe, John" <sip:j@x;a=1,2>, <sip:k@y>'
    assert split_header_list(value) == ['"Doe, John" <sip:j@x;a=1,2>', "<sip:k@y>"]


def test_generated_identifiers() -> None:
    assert make_branch().startswith("z9hG4bK")
    assert make_branch() != make_branch()
    assert len(make_tag()) >= 8 and len(make_call_id()) >= 16
    tag, call_id = make_tag_and_call_id()  # one draw, the same sizes as drawn apart
    assert (len(tag), len(call_id)) == (len(make_tag()), len(make_call_id()))
    assert int(tag, 16) >= 0 and int(call_id, 16) >= 0 and make_tag_and_call_id() != (tag, call_id)


def test_identifiers_come_from_blocks_of_randomness_each_byte_used_once() -> None:
    import os

    from probes.sip import message

    message._RANDOM.forget()
    drawn = [make_branch()[7:] for _ in range(1000)]  # 10 bytes each: crosses blocks
    assert all(len(b) == 20 and int(b, 16) >= 0 for b in drawn)
    assert len(set(drawn)) == len(drawn)
    message._RANDOM.forget()
    read, write = os.pipe()
    parent = make_tag()
    pid = os.fork()
    if pid == 0:  # the child draws afresh, never what the parent's block holds next
        os.write(write, make_tag().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 64).decode() != make_tag() != parent


class TestStreamParser:
    def test_frames_back_to_back_messages_and_skips_keepalives(self) -> None:
        parser = StreamParser()
        out = parser.feed(b"\r\n\r\n" + INVITE_WITH_BODY + b"\r\n" + KAMAILIO_200[:40])
        assert [type(m) for m in out] == [Request]
        out = parser.feed(KAMAILIO_200[40:] + b"\r\n\r\n")
        assert [type(m) for m in out] == [Response]

    def test_requires_content_length(self) -> None:
        data = KAMAILIO_200.replace(b"l: 0\r\n", b"")
        with pytest.raises(SipParseError, match="Content-Length is required"):
            StreamParser().feed(data)

    def test_garbage_is_rejected_on_the_first_line_and_stays_failed(self) -> None:
        parser = StreamParser()
        with pytest.raises(SipParseError, match="malformed request line"):
            parser.feed(b"GET / HTTP/1.1\r\n")
        with pytest.raises(SipParseError, match="stream already failed"):
            parser.feed(KAMAILIO_200)

    def test_headers_without_end_are_bounded(self) -> None:
        parser = StreamParser(max_size=1024)
        parser.feed(b"SIP/2.0 200 OK\r\n")
        with pytest.raises(SipParseError, match="headers exceed"):
            parser.feed(b"X-A: " + b"a" * 2000)


OK_RESPONSE = (
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bKabc\r\n"
    "From: <sip:monitord@127.0.0.1:5070>;tag=1\r\nTo: <sip:127.0.0.1>;tag=2\r\n"
    "Call-ID: abc\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)


@given(st.integers(0, OK_RESPONSE.index("\r\n\r\n") + 1),
       st.sampled_from([chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]
                       + ["\r"]))
def test_a_control_character_anywhere_in_the_head_is_refused(at: int, ctl: str) -> None:
    """The head is searched once for control characters (the fast case) and line by
    line only when that finds one: a control character (a bare CR included) anywhere
    before the empty line must still be refused, wherever it lands (a CR before the
    start line excepted: §7.5 ignores CRLFs there)."""
    assume(at > 0 or ctl != "\r")
    data = (OK_RESPONSE[:at] + ctl + OK_RESPONSE[at:]).encode()
    with pytest.raises(SipParseError):
        parse_message(data)


@given(st.sampled_from(["\r\n", "\n"]), st.sampled_from(["\r\n", "\n"]))
def test_the_head_ends_at_the_first_empty_line_whatever_the_line_ends(eol: str, blank: str
                                                                      ) -> None:
    head = OK_RESPONSE.split("\r\n\r\n")[0].replace("Content-Length: 0", "Content-Length: 4")
    message = parse_message((head.replace("\r\n", eol) + eol + blank + "body").encode())
    assert isinstance(message, Response) and message.body == b"body"
    assert message.top_via.branch == "z9hG4bKabc" and message.headers.get("Call-ID") == "abc"


def test_a_replaced_via_is_parsed_again() -> None:
    message = parse_message(OK_RESPONSE.encode())
    assert message.top_via.branch == "z9hG4bKabc"
    message.headers.set("Via", "SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bKother")
    assert message.top_via.branch == "z9hG4bKother"


def test_an_empty_via_is_a_parse_error_not_a_crash() -> None:
    data = OK_RESPONSE.replace("Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bKabc",
                               "Via:").encode()
    with pytest.raises(SipParseError, match="empty Via"):
        parse_message(data)


def test_cseq_is_parsed_again_after_the_row_is_replaced() -> None:
    message = parse_message(OK_RESPONSE.encode())
    assert message.cseq == (1, "OPTIONS")
    message.headers.set("CSeq", "7 REGISTER")
    assert message.cseq == (7, "REGISTER")


_VIA_HOSTS = st.sampled_from(["127.0.0.1", "sbc-1.example.net", "[2001:db8::1]", "bad host",
                              "h_1", ""])
_VIA_PORTS = st.sampled_from([":5060", ":1", ":0", ":65536", ":99999", ":", " : 5060", ""])
_VIA_PARAMS = st.lists(st.sampled_from([
    ";branch=z9hG4bKa1", ";rport", ";rport=5060", "; branch = x", ";a=", ";=1", ";é=1", ";a=b c",
    ";received=192.0.2.1", ";a=\"q\"", ";ttl=1;maddr=h", ";", ";a==b", ";branch=",
    ";branch=a b", ";branch=\u00e9", ";branch=a=b", ";branch=z9hG4bK;x", ";Branch=y"]), max_size=4)
_VIA_PIECES = st.one_of(
    st.tuples(  # anything
        st.sampled_from(["SIP/2.0/", "sip/2.0/", "SIP / 2.0 / ", "SIP/2.1/", ""]),
        st.sampled_from(["UDP", "udp", "TCP", "TLS", "SCTP", "WS", "WSS", "X-Y", ""]),
        st.sampled_from([" ", "  ", "\t", ""]), _VIA_HOSTS, _VIA_PORTS, _VIA_PARAMS,
        st.sampled_from(["", " ", "\t"])),
    st.tuples(  # what peers echo back, where the shortcut applies (and its edges)
        st.just("SIP/2.0/"), st.sampled_from(["UDP", "TCP", "TLS", "SCTP", "WS", "WSS"]),
        st.just(" "), st.sampled_from(["127.0.0.1", "SBC-1.Example.net", "h_1"]),
        st.sampled_from([":5060", ":1", ":65535", ":0", ":65536", ""]),
        st.lists(st.sampled_from([";branch=z9hG4bKa1", ";rport", ";rport=5060", ";lr",
                                  ";received=192.0.2.1", ";a==b", ";a=", ";a=b c", ";branch=",
                                  ";branch=a=b", ";branch=a\tb", ";branch=~!", ";branch=a b",
                                  ";branch=\u00e9", ";branch", ";BRANCH=b2"]), max_size=4),
        st.just("")),
)


@settings(max_examples=300)
@given(_VIA_PIECES)
def test_the_common_via_shortcut_parses_as_the_general_path_or_fails_the_same(
    pieces: tuple[str, str, str, str, str, list[str], str],
) -> None:
    proto, transport, blank, host, port, params, trailing = pieces
    value = f"{trailing}{proto}{transport}{blank}{host}{port}{''.join(params)}{trailing}"
    try:
        expected: Via | str = parse_via_general(value)
    except SipParseError as exc:
        expected = str(exc)
    try:
        got: Via | str = parse_via(value)
    except SipParseError as exc:
        got = str(exc)
    assert got == expected
    # the branch routing takes without making the Via: the parsed one's, when it is sure
    branch = routing_branch(value)
    if branch is not None:
        assert isinstance(expected, Via)
        assert branch == (expected.branch or "")
