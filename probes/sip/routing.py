"""Where a received SIP message goes: a transaction, a call, or nowhere (sans-IO).

Our client sockets are shared by every probe of the daemon and reachable by
anyone, so what arrives is judged one message at a time (RFC 3261 §18.1.2):

- bytes that do not parse are discarded ("malformed"): a keep-alive with a
  stray byte, a scanner's probe or a spoofed datagram must never end, let
  alone fail, a transaction that is waiting for its real answer;
- a response goes to the client transaction its top Via branch and CSeq
  method name (§17.1.3); else to the call whose Call-ID it carries (a
  dialog runs its own INVITE/BYE transactions); a retransmitted final
  response of a completed transaction is absorbed (§17.1.2.2, Timer K);
  anything else is discarded ("no_transaction");
- a request goes to the call of its Call-ID (a far end's BYE); we are no UAS
  on this socket, so any other request is discarded ("stray_request").

Only a parsed response matched to a transaction ends it. Each discard is
counted by reason; the asyncio layer logs them through `RateLimit` so a
flood cannot flood the log. Nothing here touches a socket or a clock:
bytes, an address and an arrival time go in, a routing decision comes out.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from ..errors import LocalProtocolError, SipParseError
from .message import Request, Response
from .plainparse import parse_routed
from .resolution import Address

__all__ = [
    "Discard",
    "Discarded",
    "ForCall",
    "ForTransaction",
    "RateLimit",
    "Router",
    "StreamTransport",
    "WireTransport",
]

StreamTransport = Literal["udp", "tcp"]  # how calls are filed: datagram or stream (TCP, TLS)
WireTransport = Literal["udp", "tcp", "tls"]  # what OPTIONS/REGISTER transactions use

T = TypeVar("T")  # what the asyncio layer files under a transaction's branch
C = TypeVar("C")  # a call's handler


class Discard(enum.StrEnum):
    """Why a received message went nowhere (the `reason` label of the discard counter)."""

    MALFORMED = "malformed"
    NO_TRANSACTION = "no_transaction"
    STRAY_REQUEST = "stray_request"
    RETRANSMISSION = "retransmission"


@dataclass(slots=True)
class ForTransaction(Generic[T]):
    """A response for a transaction. A value, yet not frozen: one is made per answer, and
    a frozen dataclass's `__init__` sets each field through `object.__setattr__`."""

    pending: T
    response: Response
    arrival: float


@dataclass(frozen=True, slots=True)
class ForCall(Generic[C]):
    handler: C
    message: Request | Response
    source: Address
    transport: StreamTransport
    arrival: float


@dataclass(frozen=True, slots=True)
class Discarded:
    reason: Discard
    source: Address
    detail: str


Routed = ForTransaction[T] | ForCall[C] | Discarded | None


@dataclass(slots=True)
class _Call(Generic[C]):
    handler: C
    dest: Address
    transport: StreamTransport


class Router(Generic[T, C]):
    """The tables a shared SIP socket routes by, and the discard counters."""

    def __init__(self) -> None:
        self._transactions: dict[str, tuple[str, T]] = {}  # branch -> (method, pending)
        self._absorbing: dict[str, float] = {}  # branch -> Timer K expiry
        self._expiring: deque[tuple[float, str]] = deque()  # (expiry, branch), oldest first
        self._calls: dict[str, _Call[C]] = {}  # Call-ID -> call
        self.discarded: dict[Discard, int] = {reason: 0 for reason in Discard}

    # -- the tables ---------------------------------------------------------------------

    def open(self, branch: str, method: str, pending: T) -> None:
        if branch in self._transactions:
            raise LocalProtocolError(f"branch {branch} already in use")
        self._transactions[branch] = (method, pending)

    def close(self, branch: str, pending: T) -> None:
        entry = self._transactions.get(branch)
        if entry is not None and entry[1] is pending:
            del self._transactions[branch]

    def absorb(self, branch: str, until: float, now: float) -> None:
        """Keep absorbing retransmissions of a completed transaction's final response
        until Timer K (`until`); expired entries are dropped oldest first."""
        expiring = self._expiring
        while expiring and expiring[0][0] <= now:
            expiry, old = expiring.popleft()
            if self._absorbing.get(old) == expiry:
                del self._absorbing[old]
        self._absorbing[branch] = until
        expiring.append((until, branch))

    def pending(self) -> Iterator[T]:
        return (pending for _, pending in list(self._transactions.values()))

    def add_call(self, call_id: str, handler: C, dest: Address, transport: StreamTransport) -> None:
        if call_id in self._calls:
            raise LocalProtocolError(f"Call-ID {call_id} already registered")
        self._calls[call_id] = _Call(handler, dest, transport)

    def remove_call(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def calls_to(self, dest: Address, transport: StreamTransport) -> list[C]:
        return [c.handler for c in self._calls.values()
                if c.dest == dest and c.transport == transport]

    # -- routing ------------------------------------------------------------------------

    def datagram(self, data: bytes, source: Address, arrival: float) -> Routed[T, C]:
        """Route one UDP datagram (§18.1.2)."""
        if not data or (data[0] in (10, 13) and not data.strip(b"\r\n")):
            return None  # CRLF keep-alive (RFC 5626 §3.5.1)
        try:
            message, branch = parse_routed(data)
        except SipParseError as exc:
            return self._discard(Discard.MALFORMED, source, str(exc))
        if branch is not None:
            # a response just parsed: `branch` is its top Via's, its kept CSeq what `cseq` gives
            entry = self._transactions.get(branch)
            cseq = message._cseq
            if entry is not None and cseq is not None and cseq[1][1] == entry[0]:
                assert type(message) is Response  # a branch comes with responses only
                return ForTransaction(entry[1], message, arrival)
        return self.message(message, source, "udp", arrival)

    def message(self, message: Request | Response, source: Address, transport: WireTransport,
                arrival: float) -> Routed[T, C]:
        """Route one parsed message from `transport` (streams frame their own)."""
        stream: StreamTransport = "udp" if transport == "udp" else "tcp"  # TLS: a stream too
        if isinstance(message, Request):
            call = self._call(message)
            if call is not None:
                return ForCall(call.handler, message, source, stream, arrival)
            return self._discard(Discard.STRAY_REQUEST, source,
                                 f"{message.method} request for no call of ours")
        branch = message.top_via.branch or ""
        entry = self._transactions.get(branch)
        if entry is not None and message.cseq[1] == entry[0]:
            return ForTransaction(entry[1], message, arrival)  # no call lookup: ours anyway
        call = self._call(message)
        if call is not None:
            return ForCall(call.handler, message, source, stream, arrival)
        if entry is None and branch in self._absorbing:
            return self._discard(Discard.RETRANSMISSION, source,
                                 f"{message.status} retransmitted (branch {branch})")
        return self._discard(Discard.NO_TRANSACTION, source,
                             f"{message.status} response for no transaction (branch {branch!r})")

    def _call(self, message: Request | Response) -> _Call[C] | None:
        return self._calls.get(message.headers.get("Call-ID") or "") if self._calls else None

    def _discard(self, reason: Discard, source: Address, detail: str) -> Discarded:
        self.discarded[reason] += 1
        return Discarded(reason, source, detail)


@dataclass
class RateLimit:
    """At most `burst` log lines per `window` seconds; the rest are counted, and the
    count is handed to the next line allowed (clock passed in, so it is testable)."""

    burst: int = 10
    window: float = 60.0
    _start: float = field(default=float("-inf"), init=False)
    _used: int = field(default=0, init=False)
    _suppressed: int = field(default=0, init=False)

    def allow(self, now: float) -> int | None:
        """None: stay quiet; else log now, mentioning this many suppressed lines."""
        if now - self._start >= self.window:
            self._start, self._used = now, 0
        if self._used >= self.burst:
            self._suppressed += 1
            return None
        self._used += 1
        suppressed, self._suppressed = self._suppressed, 0
        return suppressed
