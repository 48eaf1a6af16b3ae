"""The plain-response shortcut (`parse_datagram`) against the careful parser.

Its one promise: for any bytes, the same message as `parse_message` (fields,
body, status, the parsed Via and CSeq it keeps) or the same `SipParseError`.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from probes.errors import SipParseError
from probes.sip.message import Headers, Request, Response, parse_message
from probes.sip.plainparse import _plain_response, parse_datagram, parse_routed
from tests.unit.sip.test_sip_fuzz import SEEDS, messages

SIPP_200 = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK0123456789abcdef0123\r\n"
    b"From: <sip:monitord@127.0.0.1:5060>;tag=abcdef123456\r\n"
    b"To: <sip:127.0.0.1:5099>;tag=1234answer1\r\n"
    b"Call-ID: 0123456789abcdef0123456789abcdef\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Contact: <sip:127.0.0.1:5099;transport=UDP>\r\n"
    b"Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
    b"Server: sipp-options-answerer\r\n"
    b"Content-Length: 0\r\n\r\n"
)
PIECES = [b"\r\n", b"\n", b"\r", b"\t", b" ", b":", b",", b";", b"\x00", b"\x7f", b"\xc2\xa0",
          b"\xff", b"\r\n\r\n", b"\r\n ", b"\r\nv: SIP/2.0/UDP h;branch=z9hG4bKb\r\n",
          b"\r\nl: 3\r\n", b"\r\nContent-Length: 9\r\n", b"\r\ncseq: 2 BYE\r\n", b"\r\ni: other\r\n",
          b"SIP/2.0 ", b"100", b"700", b"Via", b"CSeq", b"branch", b"="]


def outcome(parse: object, data: bytes) -> object:
    """What a parse gives, comparable: every part of the message and the branch it is
    routed by, or the error text."""
    try:
        message, branch = parse(data)  # type: ignore[operator]
    except SipParseError as exc:
        return ("error", str(exc))
    assert isinstance(message, Request | Response)
    assert type(message.headers) is Headers
    start = ((message.method, message.uri) if isinstance(message, Request)
             else (message.status, message.reason))
    # the parsed top Via the shortcut keeps, if any (it may leave it to `top_via`): the
    # careful parser's, read before `top_via` fills it in
    kept = message._via
    assert kept is None or kept == (message.headers.first("via"), message.top_via)
    # a kept CSeq is the very row's (else `cseq` parses again): also when shared
    assert message._cseq is not None and message._cseq[0] is message.headers.first("cseq")
    return (type(message), start, list(message.headers), message.body, message._cseq,
            message.top_via, message.cseq, branch)


def careful(data: bytes) -> tuple[Request | Response, str | None]:
    """`parse_routed` as the careful parser gives it: the message, a response's branch."""
    message = parse_message(data)
    if isinstance(message, Request):
        return message, None
    assert message._via is not None  # the careful parser keeps the top Via it parsed
    return message, message.top_via.branch or ""


def agree(data: bytes) -> None:
    assert outcome(parse_routed, data) == outcome(careful, data)
    try:
        message = parse_datagram(data)
    except SipParseError:
        return
    assert outcome(lambda _: (message, None if isinstance(message, Request) else (
        message.top_via.branch or "")), data) == outcome(careful, data)


def test_what_peers_send_takes_the_shortcut_and_parses_the_same() -> None:
    assert _plain_response(SIPP_200) is not None
    agree(SIPP_200)
    assert _plain_response(SEEDS[1]) is not None  # compact forms, an IPv6 sent-by
    agree(SEEDS[1])


@given(messages(), st.sampled_from([b"", b"\r\n", b"\r\n\r\n"]), st.binary(max_size=8))
def test_generated_messages_parse_the_same(message: Request | Response, before: bytes,
                                           after: bytes) -> None:
    wire = message.serialize()
    agree(before + wire)
    agree(before + wire + after)


@settings(max_examples=500)
@given(st.sampled_from([SIPP_200, *SEEDS]), st.lists(
    st.tuples(st.integers(0, 600), st.integers(0, 4),
              st.one_of(st.sampled_from(PIECES), st.binary(min_size=1, max_size=3))),
    min_size=1, max_size=3))
def test_mutated_messages_parse_the_same_or_fail_the_same(
    seed: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    data = seed
    for at, cut, piece in edits:
        at %= len(data) + 1
        data = data[:at] + piece + data[at + cut:]
    agree(data)
    agree(data[: len(data) // 2])


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_the_same_or_fail_the_same(data: bytes) -> None:
    agree(b"SIP/2.0 200 OK\r\n" + data)
    agree(data)


def test_a_long_datagram_is_refused_as_before() -> None:
    agree(SIPP_200 + b"x" * 70000)
    agree(SIPP_200.replace(b"Content-Length: 0", b"Content-Length: 70000") + b"x" * 70000)


LINES = [b"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKz", b"v: SIP/2.0/UDP h:0;branch=x",
         b"VIA: SIP/2.0/UDP a;rport;branch=b,SIP/2.0/TCP c", b"Via:", b"Via: x",
         b"CSeq: 1 OPTIONS", b"cseq: 99999999999 OPTIONS", b"CSeq: 1", b"From: a", b"f: b",
         b"TO: c", b"t:", b"Call-ID: d", b"i: e", b"Content-Length: 0", b"l: 2", b"l: 02",
         b"Content-Length: x", b"Content-Length : 1", b"X-A:b", b"X A: b", b"Route:   <sip:r> "]


@settings(max_examples=500)
@given(st.sampled_from([SIPP_200, *SEEDS]), st.lists(
    st.tuples(st.sampled_from(["drop", "copy", "add"]), st.integers(0, 20),
              st.sampled_from(LINES)), min_size=1, max_size=4),
    st.sampled_from([b"", b"ab", b"abcd"]))
def test_dropped_repeated_and_added_header_lines_parse_the_same(
    seed: bytes, edits: list[tuple[str, int, bytes]], body: bytes
) -> None:
    head, _, _ = seed.partition(b"\r\n\r\n")
    start, *lines = head.split(b"\r\n")
    for kind, at, line in edits:
        at %= len(lines) + 1
        if kind == "drop" and at < len(lines):
            del lines[at]
        elif kind == "copy" and at < len(lines):
            lines.insert(at, lines[at])
        else:
            lines.insert(at, line)
    agree(b"\r\n".join([start, *lines, b"", body]))


def test_content_length_against_the_body_as_before() -> None:
    for length in (b"0", b"1", b"4", b"5", b"04", b"x", b"99999999999"):
        for body in (b"", b"body", b"body and more"):
            agree(SIPP_200.replace(b"Length: 0", b"Length: " + length) + body)


def test_lines_repeated_word_for_word_are_learnt_bounded_and_still_parse_the_same() -> None:
    from probes.sip import plainparse

    plainparse._known_lines.clear()
    agree(SIPP_200)
    learnt = set(plainparse._known_lines)
    assert "CSeq: 1 OPTIONS" in learnt and "Server: sipp-options-answerer" in learnt
    assert not any(line.split(":")[0] in ("Via", "From", "To", "Call-ID") for line in learnt)
    agree(SIPP_200)  # now from what was learnt
    for i in range(plainparse._KNOWN_LINES_LIMIT + 10):  # a header new in every answer
        data = SIPP_200.replace(b"Server: sipp", b"Date: %d\r\nServer: sipp" % i)
        agree(data)
        assert len(plainparse._known_lines) <= plainparse._KNOWN_LINES_LIMIT
    long_line = b"Server: " + b"s" * plainparse._KNOWN_LINE_SIZE
    agree(SIPP_200.replace(b"Server: sipp-options-answerer", long_line))
    assert long_line.decode() not in plainparse._known_lines  # parsed, never held
    long_name = "X-" + "n" * plainparse._KNOWN_LINE_SIZE
    agree(SIPP_200.replace(b"Server: sipp", long_name.encode() + b": 1\r\nServer: sipp"))
    assert long_name not in plainparse._known  # nor is a long header name
    # a learnt line is no pass for the others: a tab or a bare CR elsewhere still counts
    agree(SIPP_200.replace(b"To: <sip", b"To:\t<sip"))
    agree(SIPP_200.replace(b"To: <sip", b"To: \r<sip"))
    agree(SIPP_200.replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 OPTIONS\n"))
    agree(SIPP_200.replace(b"SIP/2.0 200 OK", b"SIP/2.0 200 O\tK"))


def test_the_head_found_at_the_end_and_checked_at_once_parses_the_same() -> None:
    # an empty line before the end of an answer that ends in CRLF CRLF: a body of blank lines
    for extra in (b"\r\n\r\n", b"\r\n", b"x\r\n\r\n", b"\r\n\r\n\r\n"):
        agree(SIPP_200.replace(b"Length: 0", b"Length: %d" % len(extra)) + extra)
        agree(SIPP_200 + extra)
    # an ASCII head with a control character in a line not learnt, and in a learnt one
    for good, bad in ((b"Call-ID: 01", b"Call-ID: \x0101"), (b"Server: sipp", b"Server: \x7fsipp"),
                      (b"To: <sip", b"To: <\x1bsip"), (b"CSeq: 1 OPTIONS", b"CSeq: 1\x0bOPTIONS")):
        agree(SIPP_200)  # learns its lines
        agree(SIPP_200.replace(good, bad))
    # not ASCII: each line is asked (NBSP and U+2028 are not printable, e-acute is)
    for text in ("\u00e9", "\u00a0", "\u2028", "\u00e9\u00a0"):
        agree(SIPP_200.replace(b"Server: sipp", ("Server: " + text + "sipp").encode()))
        agree(SIPP_200.replace(b"To: <sip", ("To: " + text + "<sip").encode()))


def test_a_response_is_routed_by_the_branch_its_parsed_via_gives() -> None:
    for via in (b"SIP/2.0/UDP h;branch=a;branch=b", b"SIP/2.0/UDP h;branch;branch=b",
                b"SIP/2.0/UDP h;BRANCH=a;branch=b", b"SIP/2.0/UDP h:99999;branch=b",
                b"SIP/2.0/UDP h;rport;branch=z9hG4bK0123456789abcdef0123"):
        data = SIPP_200.replace(b"SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK0123456789abcdef0123",
                                via)
        agree(data)
        try:
            message, branch = parse_routed(data)
        except SipParseError:
            assert b"99999" in via
            continue
        assert branch == (message.top_via.branch or "")


def test_rows_sorted_out_as_scalars_and_a_kept_cseq_parse_the_same() -> None:
    agree(SIPP_200)
    agree(SIPP_200)  # its CSeq row learnt: the pair kept for it is shared
    for old, new in ((b"CSeq: 1 OPTIONS", b"CSeq:  1 OPTIONS"),  # the same row, another line
                     (b"CSeq: 1 OPTIONS", b"CSeq: 1 OPTIONS\r\nCSeq: 2 OPTIONS"),
                     (b"CSeq: 1 OPTIONS", b"CSeq: 1 OPTIONS "),
                     (b"Content-Length: 0", b"Content-Length: 0\r\nl: 0"),
                     (b"Content-Length: 0", b"Content-Length: 0\r\nl: 00"),
                     (b"Content-Length: 0", b"l: 2\r\nContent-Length: 0"),
                     (b"Call-ID", b"Via: SIP/2.0/UDP h2;branch=b2\r\nCall-ID"),
                     (b"Call-ID", b"v: SIP/2.0/UDP h2;branch=b2\r\nv: SIP/2.0/TCP h3\r\nCall-ID"),
                     (b"Call-ID", b"Via: \r\nCall-ID")):
        agree(SIPP_200.replace(old, new))
        agree(SIPP_200.replace(old, new) + b"ab")
