"""RFC 3261 §17.1.2 non-INVITE client transaction, as a sans-IO state machine.

aioquic style: the caller passes `now` in, drains `data_to_send()`, asks
`get_timer()` when to call `handle_timer()` next, and reads results with
`next_event()`. Nothing here sleeps or touches a socket, so every timer rule
is tested on a fake clock.

State table (§17.1.2.2, Figure 6):

    Trying     --1xx-->            Proceeding   (event: ResponseReceived)
    Trying     --200-699-->        Completed    (event: ResponseReceived)
    Proceeding --1xx-->            Proceeding   (event: ResponseReceived)
    Proceeding --200-699-->        Completed    (event: ResponseReceived)
    Trying/Proceeding --Timer E--> same state   (retransmit; unreliable only)
    Trying/Proceeding --Timer F--> Terminated   (event: TransactionTimedOut)
    Completed  --any response-->   Completed    (absorbed, no event)
    Completed  --Timer K-->        Terminated
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidValue, LocalProtocolError
from .core import Core
from .message import BRANCH_MAGIC, Request, Response

__all__ = [
    "ClientTransaction",
    "NonInviteClientTransaction",
    "PreparedRequest",
    "ResponseReceived",
    "TransactionEvent",
    "TransactionState",
    "TransactionTimedOut",
]


class TransactionState(enum.Enum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


# The states as module names: reading an Enum member off its class goes through a
# descriptor (tens of ns each on Python 3.11), and these are read on every response.
_TRYING, _PROCEEDING = TransactionState.TRYING, TransactionState.PROCEEDING
_COMPLETED, _TERMINATED = TransactionState.COMPLETED, TransactionState.TERMINATED
_ACTIVE = (_TRYING, _PROCEEDING)
_DONE = (_COMPLETED, _TERMINATED)


@dataclass(slots=True)
class ResponseReceived:
    """A response for the TU: provisional (<200, transaction continues) or final.

    A value, yet not frozen: one is made per answer, and a frozen dataclass's `__init__`
    sets each field through `object.__setattr__` (it was never hashable: a `Response`
    is not)."""

    response: Response
    time: float

    def __post_init__(self) -> None:
        if not 100 <= self.response.status <= 699:
            raise InvalidValue(f"response status out of range: {self.response.status}")

    @property
    def final(self) -> bool:
        return self.response.status >= 200


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """Timer F fired: no final response within 64*T1 (§17.1.2.2)."""

    time: float
    transmissions: int


TransactionEvent = ResponseReceived | TransactionTimedOut


class PreparedRequest:
    """A request already on its wire form, from a template that checked it once
    (`options.OptionsTemplate`): what a transaction needs of it (bytes, method,
    top Via branch) without building the `Request`, which is made only if asked for.

    `make(*fresh)` must give the `Request` whose `serialize()` is `wire`.
    """

    __slots__ = ("_fresh", "_make", "_request", "branch", "method", "wire")

    def __init__(self, wire: bytes, method: str, branch: str,
                 make: Callable[..., Request], fresh: tuple[object, ...]) -> None:
        self.wire = wire
        self.method = method
        self.branch = branch
        self._make = make
        self._fresh = fresh
        self._request: Request | None = None

    @property
    def request(self) -> Request:
        if self._request is None:
            self._request = self._make(*self._fresh)
        return self._request


class ClientTransaction(Core[bytes, TransactionEvent]):
    """What the INVITE (§17.1.1) and non-INVITE (§17.1.2) client transactions share.

    The request goes out serialized once (`_wire`, or a template's bytes when
    it comes prepared); `transmissions` counts it and its retransmissions.
    """

    # one transaction per probe: slots, not a dict grown field by field as it is made
    __slots__ = ("_source", "_wire", "branch", "method", "reliable", "started_at",
                 "transmissions")

    def __init__(self, request: Request | PreparedRequest, *, reliable: bool,
                 now: float) -> None:
        super().__init__()
        if isinstance(request, PreparedRequest):
            branch: str | None = request.branch
        else:
            branch = request.top_via.branch
        if not branch or not branch.startswith(BRANCH_MAGIC):
            # §17.1.3 matching relies on an RFC 3261 branch in the top Via.
            raise LocalProtocolError(f"request needs a top Via branch starting {BRANCH_MAGIC!r}")
        self._source = request
        self.branch = branch
        self.method = request.method
        self.reliable = reliable
        self.transmissions = 0
        self.started_at = now
        self._wire = request.wire if isinstance(request, PreparedRequest) else request.serialize()

    @property
    def request(self) -> Request:
        """The request sent (a prepared one is built on first use)."""
        source = self._source
        return source.request if isinstance(source, PreparedRequest) else source

    def _check_match(self, response: Response) -> None:
        """§17.1.3: a response is ours by its top Via branch and its CSeq method (not the branch alone)."""
        try:
            branch = response.top_via.branch  # parsed once, kept with the message
        except LocalProtocolError:  # no Via at all
            branch = None
        if branch != self.branch:
            raise LocalProtocolError(f"response branch does not match transaction {self.branch}")
        if response.cseq[1] != self.method:
            raise LocalProtocolError(
                f"response CSeq method {response.cseq[1]!r} is not {self.method}"
            )


class NonInviteClientTransaction(ClientTransaction):
    """Sends one non-INVITE request reliably over a possibly lossy transport.

    `reliable` is True for TCP/TLS: the transport retransmits, so we must not
    (§17.1.2.2), and there are no stray retransmitted responses to absorb.
    """

    __slots__ = ("_interval_e", "_t1", "_t2", "_t4", "_timer_e", "_timer_f", "_timer_k",
                 "state")

    def __init__(
        self,
        request: Request | PreparedRequest,
        *,
        reliable: bool,
        now: float,
        t1: float = 0.5,
        t2: float = 4.0,
        t4: float = 5.0,
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            # §17.1: INVITE has its own state machine; ACK has no transaction.
            raise LocalProtocolError(f"{request.method} cannot use a non-INVITE client transaction")
        if not 0 < t1 <= t2:
            raise LocalProtocolError(f"timers need 0 < T1 <= T2, got T1={t1} T2={t2}")
        super().__init__(request, reliable=reliable, now=now)
        self.state = _TRYING
        self._t1, self._t2, self._t4 = t1, t2, t4
        # §17.1.2.2: "the client transaction MUST set timer F to fire in 64*T1 seconds".
        self._timer_f: float | None = now + 64 * t1
        self._timer_e: float | None = None
        self._interval_e = t1
        self._timer_k: float | None = None
        self._send()
        if not reliable:
            # §17.1.2.2: "If an unreliable transport is in use, the client
            # transaction MUST set timer E to fire in T1 seconds."
            self._timer_e = now + t1

    def _send(self) -> None:
        self._outbox.append(self._wire)
        self.transmissions += 1

    def get_timer(self) -> float | None:
        """The earliest time `handle_timer` must be called, or None when nothing is pending
        (`earliest` of the three, inline: asked twice or more per transaction)."""
        best, e, k = self._timer_f, self._timer_e, self._timer_k
        if e is not None and (best is None or e < best):
            best = e
        if k is not None and (best is None or k < best):
            best = k
        return best

    def handle_timer(self, now: float) -> None:
        if self.state in _ACTIVE:
            if self._timer_f is not None and now >= self._timer_f:
                # §17.1.2.2: "If Timer F fires while the client transaction is still
                # in the "Trying"/"Proceeding" state, the client transaction SHOULD
                # inform the TU about the timeout, and then it SHOULD enter the
                # "Terminated" state."
                self._terminate()
                self._events.append(TransactionTimedOut(now, self.transmissions))
                return
            if self._timer_e is not None and now >= self._timer_e:
                self._send()
                if self.state is _TRYING:
                    # §17.1.2.2: Timer E is reset "with a value of MIN(2*T1, T2)",
                    # then MIN(4*T1, T2), ...: doubling, capped at T2.
                    self._interval_e = min(2 * self._interval_e, self._t2)
                else:
                    # §17.1.2.2: "If Timer E fires while in the Proceeding state, the
                    # request MUST be passed to the transport layer for retransmission,
                    # and Timer E MUST be reset with a value of T2 seconds."
                    self._interval_e = self._t2
                self._timer_e = now + self._interval_e
        elif self._timer_k is not None and now >= self._timer_k:
            # §17.1.2.2: "If Timer K fires while in this state [Completed], the
            # client transaction MUST transition to the "Terminated" state."
            self._terminate()

    def receive_response(self, response: Response, now: float) -> None:
        """Feed a response the transport matched to this transaction (§17.1.3)."""
        self._check_match(response)
        self.receive_matched(response, now)

    def receive_matched(self, response: Response, now: float) -> None:
        """`receive_response` of a response already matched by its top Via branch and
        CSeq method (what `routing.Router` hands over under this transaction's branch)."""
        if self.state in _DONE:
            # §17.1.2.2: in Completed, retransmitted responses are absorbed.
            return
        self._events.append(ResponseReceived(response, now))
        if response.status < 200:
            # §17.1.2.2: "If a provisional response is received while in the
            # "Trying" state, the response MUST be passed to the TU, and then the
            # client transaction SHOULD move to the "Proceeding" state."
            self.state = _PROCEEDING
            return
        # §17.1.2.2: a final response moves Trying/Proceeding to Completed;
        # "Timer K to fire in T4 seconds for unreliable transports, and zero
        # seconds for reliable transports."
        self.state = _COMPLETED
        self._timer_e = self._timer_f = None
        if self.reliable:
            self._terminate()
        else:
            self._timer_k = now + self._t4

    def _terminate(self) -> None:
        self.state = _TERMINATED
        self._timer_e = self._timer_f = self._timer_k = None
