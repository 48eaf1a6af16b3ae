"""The response every peer sends us, parsed in one pass (what `parse_message` returns).

Every probe's answer arrives as a datagram and is parsed before it can be
routed, so parsing is most of what receiving costs. `parse_message` is the
careful parser: it handles every form RFC 3261 allows and names what is
wrong with a bad message. Nearly every response we get is plain, though:
CRLF line ends, printable ASCII or UTF-8 text, no folded lines, one Via
row. `parse_datagram` takes such a response in one loop over its lines
(sorting out Via, CSeq, Call-ID, From, To and Content-Length as it goes)
instead of the careful path's three passes, and hands anything else (a
request, a bare LF, a tab, a folded line, any error) to `parse_message`.
A peer repeats most of its lines word for word in every answer (CSeq,
Contact, Allow, Server, Content-Length): such a line's field is learnt
whole, so only the lines new in each answer (Via, From, To, Call-ID) are
checked and split each time. Routing needs only the top Via's branch
(`parse_routed`): the Via is checked to parse, and made only when asked for.

So the shortcut never decides alone that a message is bad: it either
returns what `parse_message` would (the same fields, body, parsed Via and
CSeq) or lets `parse_message` parse it or raise. Tests hold the two to that
on generated and mutated messages.
"""

from __future__ import annotations

import functools

from ..errors import SipParseError
from .message import (
    _CTL,
    _STATUS_LINE,
    MAX_MESSAGE_SIZE,
    Headers,
    Request,
    Response,
    _parse_cseq,
    _raw_field_name,
    parse_message,
    split_header_list,
)
from .via import Via, parse_via, routing_branch

__all__ = ["parse_datagram", "parse_routed"]

# What the loop sorts out by field, as bits: one set-bit test per line.
_VIA, _CSEQ, _LENGTH, _FROM, _TO, _CALL_ID = 1, 2, 4, 8, 16, 32
_MANDATORY = _VIA | _CSEQ | _FROM | _TO | _CALL_ID  # §8.1.1, as `parse_message` requires
_ROLES = {"via": _VIA, "cseq": _CSEQ, "content-length": _LENGTH, "from": _FROM, "to": _TO,
          "call-id": _CALL_ID}
# raw header name as received -> (key, printed name, role); valid names only, bounded
_known: dict[str, tuple[str, str, int]] = {}
_KNOWN_LIMIT = 1024
_new_headers = object.__new__
# a whole header line as received -> its field and role, for the lines a peer repeats word
# for word in every answer (CSeq, Contact, Allow, Server, Content-Length): not Via, From,
# To nor Call-ID, which are new in every answer. Bounded: emptied when full, and only
# short lines (a peer's long lines cannot make it hold megabytes).
_UNIQUE = _VIA | _FROM | _TO | _CALL_ID
_known_lines: dict[str, tuple[tuple[str, str, str], int]] = {}
_KNOWN_LINES_LIMIT = 1024
_KNOWN_LINE_SIZE = 200
# a CSeq row -> what a message keeps of it, (row, (number, method)): a learnt line's row is
# the same object in every answer, so its kept pair is too (no parse, no pair per answer;
# the pair is the message's only if its row is that very object, as `cseq` requires)
_kept_cseqs: dict[str, tuple[str, tuple[int, str]]] = {}
_KEPT_CSEQS_LIMIT = 256
# what `str.isprintable` refuses among ASCII characters: C0 controls (CR and LF too), DEL
_CTL_BYTES = bytes([*range(0x20), 0x7F])


def parse_datagram(data: bytes) -> Request | Response:
    """`parse_message(data)`, found faster for a plain response."""
    return parse_routed(data)[0]


def parse_routed(data: bytes) -> tuple[Request | Response, str | None]:
    """`parse_datagram(data)`, and for a response the branch it is routed by
    (`top_via.branch or ""`); None for a request.

    Why both: routing needs only the top Via's branch, so a plain response's Via is
    checked to parse (`routing_branch`) but not made into a `Via`: the message
    parses it if anyone asks for `top_via` (nothing on an OPTIONS probe's path does).
    """
    if len(data) <= MAX_MESSAGE_SIZE:
        routed = _plain_response(data.lstrip(b"\r\n"))
        if routed is not None:
            return routed
    message = parse_message(data)
    if isinstance(message, Response):
        return message, message.top_via.branch or ""  # kept by the parser: no second parse
    return message, None


@functools.lru_cache(maxsize=256)
def _status_line(start: str) -> tuple[int, str] | None:
    """(status, reason) of a valid, printable status line, else None; cached: nearly
    every answer reads "SIP/2.0 200 OK"."""
    match = _STATUS_LINE.fullmatch(start)
    if match is None or _CTL.search(start) or not start.isprintable():
        return None
    return int(match.group(1)), match.group(2) or ""


def _learn(name: str) -> tuple[str, str, int] | None:
    names = _raw_field_name(name)
    if names is None:
        return None
    entry = (names[0], names[1], _ROLES.get(names[0], 0))
    if len(_known) < _KNOWN_LIMIT and len(name) <= _KNOWN_LINE_SIZE:
        _known[name] = entry  # short names only: a peer's long ones cannot fill memory
    return entry


def _plain_response(data: bytes) -> tuple[Response, str] | None:
    """What `parse_routed` returns for `data` (already stripped of leading CRLFs) when
    it is a plain response; None for anything else, or when in doubt. Never raises.

    Plain: the head ends at the first CRLF CRLF and holds no control character but
    CRLF line ends, nor any other character `str.isprintable` refuses (so no tab, no
    bare CR or LF); the status line is valid; every line after it is "name: value"
    with a valid name (no folding). Such a head splits into the same lines on either
    path, and each line then gives the field the careful path builds from it.
    """
    # an answer without a body ends its head at its end, unless an empty line comes before:
    # then one of the lines split below is empty, which no plain head has (None, as for
    # any line without a name), so no search for the first CRLF CRLF is needed
    end = len(data) - 4 if data.endswith(b"\r\n\r\n") else data.find(b"\r\n\r\n")
    if end < 0 or not data.startswith(b"SIP/2.0 "):
        return None
    head = data[:end]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    # printable line by line (as the joined lines are): the status line, the lines learnt
    # (when they were learnt) and each other line. An ASCII head whose only control bytes
    # are its CRLFs (what one C-level translate counts) is, in every line at once; with
    # other text, each line is asked (`str.isprintable` refuses some non-ASCII too).
    printable = (text.isascii()
                 and len(head) - len(head.translate(None, _CTL_BYTES)) == 2 * len(lines) - 2)
    status = _status_line(lines[0])
    if status is None:
        return None
    fields: list[tuple[str, str, str]] = []
    append = fields.append
    top: str | None = None  # the first Via row
    via_rows: list[str] | None = None  # every Via row, when there is more than one (rare)
    cseq_row: str | None = None
    length: str | None = None  # the first Content-Length row
    lengths_differ = False
    seen = 0
    known = _known
    known_lines = _known_lines
    rows = iter(lines)
    next(rows)  # the status line
    for line in rows:
        learnt = known_lines.get(line)
        if learnt is None:
            if not printable and not line.isprintable():
                return None
            name, colon, value = line.partition(":")
            entry = known.get(name) or _learn(name)
            if entry is None or not colon:
                return None  # a folded line, or no header at all: the careful path decides
            key, printed, role = entry
            field = (key, printed, value.strip())
            if not role & _UNIQUE and len(line) <= _KNOWN_LINE_SIZE:
                if len(known_lines) >= _KNOWN_LINES_LIMIT:
                    known_lines.clear()
                known_lines[line] = (field, role)
        else:
            field, role = learnt
        append(field)
        if role:
            seen |= role
            if role == _VIA:
                if top is None:
                    top = field[2]
                elif via_rows is None:
                    via_rows = [top, field[2]]
                else:
                    via_rows.append(field[2])
            elif role == _CSEQ:
                if cseq_row is None:
                    cseq_row = field[2]
            elif role == _LENGTH:
                if length is None:
                    length = field[2]
                elif field[2] != length:
                    lengths_differ = True
    if seen & _MANDATORY != _MANDATORY or cseq_row is None or top is None:
        return None
    body = data[end + 4:]
    if length is not None:
        if lengths_differ:
            return None
        if not (length.isascii() and length.isdigit()) or len(length) > 10:
            return None
        if int(length) > len(body):
            return None
        body = body[:int(length)]
    try:
        cseq = _kept_cseqs.get(cseq_row)
        if cseq is None or cseq[0] is not cseq_row:
            cseq = (cseq_row, _parse_cseq(cseq_row))
            if cseq_row not in _kept_cseqs and len(cseq_row) <= _KNOWN_LINE_SIZE:
                if len(_kept_cseqs) >= _KEPT_CSEQS_LIMIT:
                    _kept_cseqs.clear()
                _kept_cseqs[cseq_row] = cseq
        # what peers echo: one Via, ours, routed by its branch; its `Via` made if asked for
        branch = routing_branch(top) if via_rows is None and "," not in top else None
        if branch is None:
            vias = [parse_via(via) for row in (via_rows or [top])
                    for via in split_header_list(row)]
            if not vias:
                return None
            via: tuple[str, Via] | None = (top, vias[0])
            branch = vias[0].branch or ""
        else:
            via = None
    except SipParseError:
        return None
    headers = _new_headers(Headers)  # `Headers._checked(fields)`, without its call
    headers._items = fields
    message = Response(status[0], status[1], headers, body)
    message._cseq = cseq
    message._via = via
    return message, branch
