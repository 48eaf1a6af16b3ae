"""SIP messages: parse and serialize, with no I/O (RFC 3261 §7, §20).

The parser is the boundary between the network and the rest of the daemon, so
it has one hard rule: any input either parses or raises `SipParseError`.
Sizes are bounded so a hostile peer cannot make us buffer without limit.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import LocalProtocolError, SipParseError
from .via import TOKEN, Via, parse_via

__all__ = [
    "MAX_MESSAGE_SIZE",
    "Headers",
    "Request",
    "Response",
    "StreamParser",
    "Via",
    "make_branch",
    "make_call_id",
    "make_tag",
    "make_tag_and_call_id",
    "parse_message",
    "parse_via",
    "split_header_list",
]

MAX_MESSAGE_SIZE = 64 * 1024
BRANCH_MAGIC = "z9hG4bK"  # §8.1.1.7: marks an RFC 3261 branch

# §7.3.3 compact forms, plus the canonical spelling we print for common names.
_COMPACT = {
    "v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact",
    "l": "Content-Length", "c": "Content-Type", "k": "Supported", "s": "Subject",
    "e": "Content-Encoding",
}
_CANONICAL = {name.lower(): name for name in (
    *_COMPACT.values(), "CSeq", "Max-Forwards", "User-Agent", "Allow", "Accept",
    "Server", "WWW-Authenticate", "Authorization", "Record-Route", "Route",
    "Expires", "Require", "Unsupported", "Warning", "Date", "Timestamp",
)}
_TOKEN = TOKEN
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9])(?: (.*))?")
_REQUEST_LINE = re.compile(r"([A-Za-z0-9\-.!%*_+`'~]+) (\S+) SIP/2\.0")
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control chars except HTAB
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINES = re.compile(r"\r?\n")
# control characters but HTAB, CR and LF: a head with one is checked line by line
_CTL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_REQUIRED = tuple((name, name.lower()) for name in ("Via", "From", "To", "Call-ID", "CSeq"))
# (§8.1.1 / §8.2.6.2)


@functools.lru_cache(maxsize=1024)
def canonical_name(name: str) -> str:
    """Expand compact forms and fix the case of well-known names."""
    lower = name.lower()
    if lower in _COMPACT:
        return _COMPACT[lower]
    return _CANONICAL.get(lower, name)


@functools.lru_cache(maxsize=1024)
def _key(name: str) -> str:
    return canonical_name(name).lower()


@functools.lru_cache(maxsize=1024)
def _raw_field_name(raw: str) -> tuple[str, str] | None:
    """`_field_name` of the text before a header line's colon (§7.3.1: HCOLON allows
    blanks before the colon), cached as received."""
    return _field_name(raw.rstrip(" \t"))


@functools.lru_cache(maxsize=1024)
def _field_name(name: str) -> tuple[str, str] | None:
    """(lookup key, printed name) of a valid header name, None for an invalid one."""
    if not _TOKEN.fullmatch(name):
        return None
    return _key(name), canonical_name(name)


class Headers:
    """Ordered, case-insensitive, multi-valued header fields.

    Order matters in SIP (the top Via routes the response), so this is a list
    of pairs, not a dict. Values are checked for CR/LF so that nothing built
    here can smuggle an extra header onto the wire. Each field keeps its
    lower-cased key so lookups on the probe hot path compare strings only.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str, str]] = []  # (key, name, value)
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str | int) -> None:
        """Append a field (after any existing fields of the same name)."""
        text = value if isinstance(value, str) else str(value)
        names = _field_name(name)
        if names is None:
            raise LocalProtocolError(f"invalid header name {name!r}")
        if _CTL.search(text):
            raise LocalProtocolError(f"header {name!r} value contains control characters: {text!r}")
        self._items.append((names[0], names[1], text.strip()))

    @classmethod
    def _checked(cls, items: list[tuple[str, str, str]]) -> Headers:
        """From (key, name, value) fields the parser already checked."""
        new = cls.__new__(cls)
        new._items = items
        return new

    def positions(self, *names: str) -> tuple[int, ...]:
        """Where the first field of each name is (raises if one is missing)."""
        keys = [item[0] for item in self._items]
        missing = sorted(name for name in names if _key(name) not in keys)
        if missing:
            raise LocalProtocolError(f"no {', '.join(missing)} field to refresh")
        return tuple(keys.index(_key(name)) for name in names)

    def keys(self) -> set[str]:
        """The lower-cased canonical names present."""
        return {item[0] for item in self._items}

    def set(self, name: str, value: str | int) -> None:
        """Replace every field of this name by one value, at the first one's position."""
        key = _key(name)
        index = next((i for i, item in enumerate(self._items) if item[0] == key), None)
        self.remove(name)
        self.add(name, value)
        if index is not None:
            self._items.insert(index, self._items.pop())

    def remove(self, name: str) -> None:
        key = _key(name)
        self._items = [item for item in self._items if item[0] != key]

    def get(self, name: str) -> str | None:
        """First value of the field, or None."""
        return self.first(_key(name))

    def first(self, key: str) -> str | None:
        """`get` by lower-cased canonical name ("via"), for the hot path: no name lookup."""
        for item in self._items:
            if item[0] == key:
                return item[2]
        return None

    def get_all(self, name: str) -> list[str]:
        """All field rows of this name, in order (not split on commas)."""
        key = _key(name)
        return [item[2] for item in self._items if item[0] == key]

    def copy(self) -> Headers:
        new = Headers()
        new._items = list(self._items)
        return new

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter([(n, v) for _, n, v in self._items])

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({[(n, v) for _, n, v in self._items]!r})"


def _serialize(start_line: str, headers: Headers, body: bytes) -> bytes:
    items = headers._items
    declared = next((value for key, _, value in items if key == "content-length"), None)
    if declared is not None and declared != str(len(body)):
        raise LocalProtocolError(
            f"Content-Length {declared!r} does not match a {len(body)}-byte body"
        )
    text = "\r\n".join([start_line, *[f"{name}: {value}" for _, name, value in items]])
    if declared is None:
        text += f"\r\nContent-Length: {len(body)}"
    return (text + "\r\n\r\n").encode("utf-8") + body


class _MessageMixin:
    headers: Headers
    _via: tuple[str, Via] | None
    _cseq: tuple[str, tuple[int, str]] | None

    @property
    def cseq(self) -> tuple[int, str]:
        """(sequence number, method) from CSeq; validated by the parser. Parsed once per
        CSeq row (kept with the row object it came from, like `top_via`)."""
        row = self.headers.first("cseq")
        cached = self._cseq
        if cached is not None and cached[0] is row:
            return cached[1]
        parsed = _parse_cseq(row or "")
        if row is not None:
            self._cseq = (row, parsed)
        return parsed

    @property
    def vias(self) -> list[str]:
        """Every Via value, top first, with comma-combined rows split (§7.3.1)."""
        return [v for row in self.headers.get_all("Via") for v in split_header_list(row)]

    @property
    def top_via(self) -> Via:
        """Parsed once per Via row: kept with the very row object it came from, so a
        message whose Via was replaced since is parsed again."""
        row = self.headers.first("via")
        cached = self._via
        if cached is not None and cached[0] is row:
            return cached[1]
        vias = self.vias
        if not vias or row is None:
            raise LocalProtocolError("message has no Via header")
        via = parse_via(vias[0])
        self._via = (row, via)
        return via

    def set_top_via(self, via: Via) -> None:
        """Remember the parsed top Via of a message whose Via we wrote ourselves, so it
        is not parsed back from our own text; `via` must be what that row parses to."""
        row = self.headers.get("Via")
        if row is None:
            raise LocalProtocolError("message has no Via header")
        self._via = (row, via)


@dataclass(eq=True, slots=True)
class Request(_MessageMixin):
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    _via: tuple[str, Via] | None = field(default=None, init=False, repr=False, compare=False)
    _cseq: tuple[str, tuple[int, str]] | None = field(default=None, init=False, repr=False,
                                                      compare=False)

    def serialize(self) -> bytes:
        uri_ok = bool(self.uri) and not _CTL.search(self.uri) and " " not in self.uri
        if not _TOKEN.fullmatch(self.method) or not uri_ok:
            raise LocalProtocolError(f"invalid request line: {self.method!r} {self.uri!r}")
        return _serialize(f"{self.method} {self.uri} SIP/2.0", self.headers, self.body)


@dataclass(eq=True, slots=True)
class Response(_MessageMixin):
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    _via: tuple[str, Via] | None = field(default=None, init=False, repr=False, compare=False)
    _cseq: tuple[str, tuple[int, str]] | None = field(default=None, init=False, repr=False,
                                                      compare=False)

    def serialize(self) -> bytes:
        if not 100 <= self.status <= 699 or _CTL.search(self.reason):
            raise LocalProtocolError(f"invalid status line: {self.status!r} {self.reason!r}")
        return _serialize(f"SIP/2.0 {self.status} {self.reason}", self.headers, self.body)


@functools.lru_cache(maxsize=256)
def _parse_cseq(value: str) -> tuple[int, str]:
    """Cached: the CSeq of every answer to our OPTIONS reads "1 OPTIONS" (errors are not)."""
    number, _, method = value.strip().partition(" ")
    method = method.strip()
    # §8.1.1.5: 32-bit unsigned sequence number, then the method token.
    number_ok = number.isascii() and number.isdigit() and len(number) <= 10
    if not number_ok or not _TOKEN.fullmatch(method):
        raise SipParseError(f"malformed CSeq: {value!r}")
    if int(number) >= 2**32:
        raise SipParseError(f"CSeq number out of range: {value!r}")
    return int(number), method


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """At the first empty line, CRLF or bare LF (what `_HEADER_END` matches), found with
    two plain searches: the pattern's optional CRs make the regex scan slowly."""
    lf_lf, lf_crlf = data.find(b"\n\n"), data.find(b"\n\r\n")
    if lf_lf < 0 and lf_crlf < 0:
        raise SipParseError(f"no empty line ending the headers in {data[:80]!r}")
    if lf_crlf < 0 or 0 <= lf_lf < lf_crlf:
        at, end = lf_lf, lf_lf + 2
    else:
        at, end = lf_crlf, lf_crlf + 3
    start = at - 1 if at > 0 and data[at - 1] == 13 else at
    return data[:start], data[end:]


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str, str]]]:
    """Start line and unfolded header fields, (key, printed name, value), from the bytes
    before the empty line."""
    # one pass over the head's bytes (a control byte never occurs inside a UTF-8 sequence);
    # line by line (to name the line) only when it found one. A control character in the
    # start line makes the header lines suspect too: they are clean, and _build names it.
    crlf = head.count(b"\r\n")
    suspect = (len(head.translate(None, _CTL_BYTES)) != len(head)
               or head.count(b"\r") != crlf)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError(f"message head is not valid UTF-8 at byte {exc.start}") from exc
    lines = text.split("\r\n") if crlf == head.count(b"\n") else _LINES.split(text)
    start = lines[0]
    fields: list[tuple[str, str, str]] = []
    field_name = _raw_field_name
    for i in range(1, len(lines)):
        line = lines[i]
        if suspect and _CTL.search(line):
            raise SipParseError(f"control character in header line {line[:80]!r}")
        first = line[:1]
        if first == " " or first == "\t":
            # §7.3.1: a line starting with whitespace continues the previous value.
            if not fields:
                raise SipParseError(f"continuation line before any header: {line[:80]!r}")
            key, name, value = fields[-1]
            fields[-1] = (key, name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        names = field_name(name) if colon else None
        if names is None:
            raise SipParseError(f"malformed header line: {line[:80]!r}")
        fields.append((names[0], names[1], value.strip()))
    return start, fields


def _build(start: str, fields: list[tuple[str, str, str]], body: bytes) -> Request | Response:
    # names were checked by _parse_head, values have no control characters left
    headers = Headers._checked(fields)
    message: Request | Response
    if _CTL.search(start):
        raise SipParseError(f"control character in start line {start[:80].encode()!r}")
    if start.startswith("SIP/"):
        match = _STATUS_LINE.fullmatch(start)
        if match is None:
            raise SipParseError(f"malformed status line: {start[:80].encode()!r}")
        message = Response(int(match.group(1)), match.group(2) or "", headers, body)
    else:
        match = _REQUEST_LINE.fullmatch(start)
        if match is None:
            raise SipParseError(f"malformed request line: {start[:80].encode()!r}")
        message = Request(match.group(1), match.group(2), headers, body)
    present = {item[0] for item in fields}
    for name, key in _REQUIRED:
        if key not in present:
            raise SipParseError(f"missing mandatory {name} header")
    # what the cseq and vias properties read, taken from the fields in one pass
    via_rows: list[str] = []
    cseq_row: str | None = None
    for key, _, value in fields:
        if key == "via":
            via_rows.append(value)
        elif key == "cseq" and cseq_row is None:
            cseq_row = value
    assert cseq_row is not None  # a mandatory header, present
    cseq = _parse_cseq(cseq_row)
    message._cseq = (cseq_row, cseq)
    if isinstance(message, Request) and cseq[1] != message.method:
        # §8.1.1.5: the CSeq method MUST match the request method.
        raise SipParseError(f"CSeq method {cseq[1]!r} does not match {message.method!r}")
    vias = [parse_via(via) for row in via_rows for via in split_header_list(row)]
    if not vias:
        raise SipParseError("empty Via header")
    message._via = (via_rows[0], vias[0])
    return message


def _content_length(fields: list[tuple[str, str, str]]) -> int | None:
    values = [v for k, _, v in fields if k == "content-length"]
    if not values:
        return None
    if len(values) > 1 and len(set(values)) > 1:
        raise SipParseError(f"conflicting Content-Length headers: {values!r}")
    value = values[0]
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise SipParseError(f"malformed Content-Length: {value!r}")
    return int(value)


def parse_message(data: bytes) -> Request | Response:
    """Parse one complete message, as received in a single datagram.

    §18.3: over UDP the body ends at the datagram's end unless Content-Length
    is shorter (extra bytes are discarded); a longer Content-Length is an error.
    """
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError(
            f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_SIZE}-byte limit"
        )
    data = data.lstrip(b"\r\n")  # §7.5: ignore CRLFs before the start line
    head, rest = _split_head(data)
    start, fields = _parse_head(head)
    length = _content_length(fields)
    if length is not None:
        if length > len(rest):
            raise SipParseError(f"Content-Length {length} but only {len(rest)} body bytes")
        rest = rest[:length]
    return _build(start, fields, rest)


class StreamParser:
    """Frames messages on a stream transport (TCP), where Content-Length is mandatory (§18.3).

    Messages framed before garbage in the same chunk are still returned (they
    arrived intact), with the failure recorded in `error`; the stream is then
    out of sync, so every later `feed` raises and the only recovery is closing
    the connection. The result never depends on how the bytes were chunked.
    """

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buf = bytearray()
        self._max = max_size
        self._error: SipParseError | None = None
        self._checked_start = False

    def feed(self, data: bytes) -> list[Request | Response]:
        if self._error is not None:
            raise SipParseError(f"stream already failed: {self._error}")
        self._buf += data
        out: list[Request | Response] = []
        try:
            self._drain(out)
        except SipParseError as exc:
            self._error = exc
            self._buf.clear()
            if not out:
                raise
        return out

    @property
    def error(self) -> SipParseError | None:
        """Why the stream failed, if it did (set even when `feed` returned messages)."""
        return self._error

    def _drain(self, out: list[Request | Response]) -> None:
        while True:
            # RFC 5626 §3.5.1 keep-alives (CRLFCRLF ping, CRLF pong) between messages.
            stripped = len(self._buf) - len(self._buf.lstrip(b"\r\n"))
            del self._buf[:stripped]
            if not self._buf:
                return
            if not self._checked_start:
                eol = self._buf.find(b"\n")
                if eol < 0:
                    if len(self._buf) > self._max:
                        raise SipParseError(f"no start line within {self._max} bytes")
                    return
                _check_start_line(bytes(self._buf[:eol]))
                self._checked_start = True
            match = _HEADER_END.search(self._buf, 0, self._max + 4)
            if match is None:
                if len(self._buf) > self._max:
                    raise SipParseError(f"headers exceed the {self._max}-byte limit")
                return
            start, fields = _parse_head(bytes(self._buf[: match.start()]))
            length = _content_length(fields)
            if length is None:
                raise SipParseError(
                    "Content-Length is required on stream transports (RFC 3261 §18.3)"
                )
            end = match.end() + length
            if end > self._max:
                raise SipParseError(f"message of {end} bytes exceeds the {self._max}-byte limit")
            if len(self._buf) < end:
                return
            body = bytes(self._buf[match.end() : end])
            del self._buf[:end]
            self._checked_start = False
            out.append(_build(start, fields, body))


def _check_start_line(line: bytes) -> None:
    """Reject garbage as soon as one line arrived, instead of waiting for 64 KiB."""
    try:
        text = line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise SipParseError(f"start line is not valid UTF-8: {line[:80]!r}") from exc
    pattern = _STATUS_LINE if text.startswith("SIP/") else _REQUEST_LINE
    if not pattern.fullmatch(text) or _CTL.search(text):
        kind = "status" if text.startswith("SIP/") else "request"
        raise SipParseError(f"malformed {kind} line: {line[:80]!r}")


def split_header_list(value: str) -> list[str]:
    """Split a comma-separated header value, respecting quotes and <...> (§7.3.1)."""
    if "," not in value:  # the common case, on every response's Via
        stripped = value.strip()
        return [stripped] if stripped else []
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    depth = 0
    for ch in value:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


# Random bytes drawn from the system in blocks: a branch, tag and Call-ID are drawn for
# every request, and a getrandom syscall each was a visible part of a probe's cost. The
# bytes are the same CSPRNG output `secrets` hands out, each used once; a forked child
# starts with an empty block, so it never repeats its parent's values.
class _RandomBlock:
    """`secrets.token_hex`, served from blocks of system randomness, each byte used once."""

    __slots__ = ("_at", "_bytes", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._bytes = b""
        self._at = 0

    def forget(self) -> None:
        """Start afresh (a forked child must never repeat its parent's values)."""
        self._bytes, self._at = b"", 0

    def hex(self, nbytes: int) -> str:
        at = self._at
        end = at + nbytes
        if end > len(self._bytes):
            self._bytes, at, end = secrets.token_bytes(max(self._size, nbytes)), 0, nbytes
        self._at = end
        return self._bytes[at:end].hex()


_RANDOM = _RandomBlock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_RANDOM.forget)
_random_hex = _RANDOM.hex


def make_tag() -> str:
    """A From/To tag: §19.3 asks for at least 32 bits of randomness."""
    return _random_hex(6)


def make_branch() -> str:
    """A fresh branch, unique over space and time (§8.1.1.7), with the RFC 3261 magic cookie."""
    return BRANCH_MAGIC + _random_hex(10)


def make_call_id() -> str:
    """A globally unique Call-ID (§8.1.1.4); random rather than host-derived to leak nothing."""
    return _random_hex(16)


def make_tag_and_call_id() -> tuple[str, str]:
    """`make_tag()` and `make_call_id()` from one draw of the block of randomness."""
    token = _random_hex(22)
    return token[:12], token[12:]
