"""Property tests: the parser's one promise is "parses or raises SipParseError"."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from probes.errors import SipParseError
from probes.sip.message import Headers, Request, Response, StreamParser, parse_message

TOKEN = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~",
                min_size=1, max_size=12)
# Header values: printable text incl. UTF-8, no CR/LF/controls, no edge whitespace.
VALUE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30
).map(str.strip)
MANDATORY = [
    ("Via", "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bKfuzz"),
    ("From", "<sip:a@b>;tag=1"),
    ("To", "<sip:c@d>"),
    ("Call-ID", "fuzz@x"),
]
SEEDS = [
    b"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nf: <sip:a>\r\nt: <sip:b>\r\n"
    b"i: x\r\nCSeq: 1 OPTIONS\r\nl: 3\r\n\r\nabc",
    b"SIP/2.0 200 OK\r\nv: SIP/2.0/TCP [::1]:5;branch=z\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\n"
    b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
]


@st.composite
def messages(draw: st.DrawFn) -> Request | Response:
    extra = draw(st.lists(st.tuples(TOKEN, VALUE), max_size=6))
    method = draw(TOKEN)
    body = draw(st.binary(max_size=40))
    headers = Headers(MANDATORY)
    headers.add("CSeq", f"{draw(st.integers(0, 2**32 - 1))} {method}")
    for name, value in extra:
        if name.lower() not in {"l", "content-length", "v", "via", "cseq"}:
            headers.add(name, value)
    headers.add("Content-Length", len(body))
    if draw(st.booleans()):
        return Request(method, "sip:" + draw(TOKEN), headers, body)
    reason = draw(VALUE)
    return Response(draw(st.integers(100, 699)), reason, headers, body)


def parse_or_error(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        parse_message(data)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_parse_error(data: bytes) -> None:
    parse_or_error(data)


@given(st.sampled_from(SEEDS), st.integers(0, 200), st.binary(min_size=1, max_size=4))
def test_mutated_messages_parse_or_raise_parse_error(seed: bytes, pos: int, junk: bytes) -> None:
    pos %= len(seed)
    parse_or_error(seed[:pos] + junk + seed[pos + len(junk) :])
    parse_or_error(seed[:pos])


@given(messages())
def test_generated_messages_round_trip(message: Request | Response) -> None:
    wire = message.serialize()
    parsed = parse_message(wire)
    assert parsed == message
    assert parsed.serialize() == wire


def feed_all(chunks: list[bytes]) -> tuple[list[Request | Response], bool]:
    parser = StreamParser()
    out: list[Request | Response] = []
    try:
        for chunk in chunks:
            out += parser.feed(chunk)
    except SipParseError:
        return out, True
    return out, parser.error is not None


@settings(max_examples=60)
@given(st.lists(st.tuples(messages(), st.sampled_from([b"", b"\r\n", b"\r\n\r\n"])), max_size=4),
       st.binary(max_size=20))
def test_stream_parser_whole_vs_byte_by_byte(
    items: list[tuple[Request | Response, bytes]], tail: bytes
) -> None:
    stream = b"".join(keepalive + msg.serialize() for msg, keepalive in items)
    whole = feed_all([stream])
    assert whole == ([m for m, _ in items], False)
    assert feed_all([bytes([b]) for b in stream]) == whole
    # With arbitrary trailing bytes both feeds must still agree (messages and failure).
    with_tail = feed_all([stream + tail])
    assert feed_all([bytes([b]) for b in stream + tail]) == with_tail


@given(st.binary(max_size=200))
def test_stream_parser_garbage_whole_vs_byte_by_byte(data: bytes) -> None:
    assert feed_all([data]) == feed_all([bytes([b]) for b in data])
