"""RFC 3261 §17.1.1 INVITE client transaction, as a sans-IO state machine.

Same shape as `transaction.NonInviteClientTransaction`: `now` is passed in,
`data_to_send()` drains the INVITE, its retransmissions and the ACK for a
non-2xx answer; `get_timer()`/`handle_timer()` drive Timers A, B and D;
`next_event()` yields `ResponseReceived` / `TransactionTimedOut`.

State table (§17.1.1.2, Figure 5):

    Calling    --Timer A-->        Calling      (retransmit, A doubles; unreliable only)
    Calling    --Timer B-->        Terminated   (event: TransactionTimedOut)
    Calling    --1xx-->            Proceeding   (event: ResponseReceived)
    Proceeding --1xx-->            Proceeding   (event: ResponseReceived)
    Calling/Proceeding --2xx-->    Terminated   (event; the TU ACKs a 2xx itself)
    Calling/Proceeding --300-699-->Completed    (event; ACK sent from here, §17.1.1.3)
    Completed  --300-699-->        Completed    (ACK re-sent, response absorbed)
    Completed  --Timer D-->        Terminated

The RFC 6026 "Accepted" state is not modelled: after a 2xx the transaction
is gone and retransmitted 2xx go to the dialog, which re-sends its ACK
(§13.2.2.4), exactly as RFC 3261 describes.
"""

from __future__ import annotations

import enum

from ..errors import LocalProtocolError
from .core import earliest
from .message import Headers, Request, Response
from .transaction import ClientTransaction, ResponseReceived, TransactionTimedOut

__all__ = ["InviteClientTransaction", "InviteState", "build_non2xx_ack"]


class InviteState(enum.Enum):
    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


def build_non2xx_ack(invite: Request, response: Response) -> Request:
    """The ACK a client transaction sends for a 300-699 answer (§17.1.1.3).

    "The ACK request constructed by the client transaction MUST contain values
    for the Call-ID, From, and Request-URI that are equal to the values of
    those header fields in the request passed to the transport by the client
    transaction [...]. The To header field in the ACK MUST equal the To header
    field in the response being acknowledged [...]. The ACK MUST contain a
    single Via header field, and this MUST be equal to the top Via header
    field of the original request. The CSeq header field in the ACK MUST
    contain the same value for the sequence number as was present in the
    original request, but the method parameter MUST be equal to "ACK"."
    """
    vias = invite.vias
    if not vias:
        raise LocalProtocolError("INVITE has no Via to copy into its ACK")
    headers = Headers()
    headers.add("Via", vias[0])
    # "If the INVITE request whose response is being acknowledged had Route
    # header fields, those header fields MUST appear in the ACK."
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", 70)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.headers.get("Call-ID") or "")
    headers.add("CSeq", f"{invite.cseq[0]} ACK")
    headers.add("Content-Length", 0)
    return Request("ACK", invite.uri, headers)


class InviteClientTransaction(ClientTransaction):
    """Sends one INVITE and sees it through to a final answer.

    `reliable` is True for TCP/TLS: no Timer A (§17.1.1.2: "If an unreliable
    transport is being used, the client transaction MUST start timer A") and
    Timer D of zero.
    """

    def __init__(
        self,
        request: Request,
        *,
        reliable: bool,
        now: float,
        t1: float = 0.5,
        timer_d: float = 32.0,
    ) -> None:
        if request.method != "INVITE":
            raise LocalProtocolError(f"{request.method} cannot use an INVITE client transaction")
        if t1 <= 0 or timer_d < 0:
            raise LocalProtocolError(f"timers need T1 > 0 and D >= 0, got T1={t1} D={timer_d}")
        super().__init__(request, reliable=reliable, now=now)
        self.state = InviteState.CALLING
        self.ack: Request | None = None
        self._t1 = t1
        self._timer_d_interval = 0.0 if reliable else timer_d
        self._ack_wire = b""
        # §17.1.1.2: "For any transport, the client transaction MUST start timer
        # B with a value of 64*T1 seconds."
        self._timer_b: float | None = now + 64 * t1
        self._timer_a: float | None = None if reliable else now + t1
        self._interval_a = t1
        self._timer_d: float | None = None
        self._send(self._wire)

    def _send(self, data: bytes) -> None:
        self._outbox.append(data)
        if data is self._wire:
            self.transmissions += 1

    def get_timer(self) -> float | None:
        return earliest(self._timer_a, self._timer_b, self._timer_d)

    def handle_timer(self, now: float) -> None:
        if self.state is InviteState.CALLING:
            if self._timer_b is not None and now >= self._timer_b:
                # §17.1.1.2: "If the client transaction is still in the "Calling"
                # state when timer B fires, the client transaction SHOULD inform
                # the TU that a timeout has occurred."
                self._terminate()
                self._events.append(TransactionTimedOut(now, self.transmissions))
                return
            if self._timer_a is not None and now >= self._timer_a:
                # §17.1.1.2: "When timer A fires, the client transaction MUST
                # retransmit the request [...] and reset the timer with a value
                # of 2*T1" - doubling each time, with no T2 cap for INVITE.
                self._send(self._wire)
                self._interval_a *= 2
                self._timer_a = now + self._interval_a
        elif self._timer_d is not None and now >= self._timer_d:
            # §17.1.1.2: "If timer D fires while the client transaction is in
            # the "Completed" state, the client transaction MUST move to the
            # terminated state."
            self._terminate()

    def receive_response(self, response: Response, now: float) -> None:
        """Feed a response matched to this transaction (§17.1.3: branch and CSeq method)."""
        self._check_match(response)
        status = response.status
        if self.state is InviteState.COMPLETED:
            if status >= 300:
                # §17.1.1.2: "Any retransmissions of the final response that are
                # received while in the "Completed" state MUST cause the ACK to be
                # re-passed to the transport layer for retransmission, but the
                # newly received response MUST NOT be passed up to the TU."
                self._send(self._ack_wire)
            return
        if self.state is InviteState.TERMINATED:
            return
        self._events.append(ResponseReceived(response, now))
        if status < 200:
            # §17.1.1.2: a provisional response moves Calling to Proceeding and
            # "the client transaction SHOULD NOT retransmit the request any longer".
            # Timer B only bounds Calling; the TU's CANCEL (§9.1) bounds Proceeding.
            self.state = InviteState.PROCEEDING
            self._timer_a = self._timer_b = None
            return
        self._timer_a = self._timer_b = None
        if status < 300:
            # §17.1.1.2: "When in either the "Calling" or "Proceeding" states,
            # reception of a 2xx response MUST cause the client transaction to
            # enter the "Terminated" state, and the response MUST be passed up
            # to the TU." The ACK for a 2xx belongs to the TU (§13.2.2.4).
            self._terminate()
            return
        # §17.1.1.2: 300-699 -> "generate an ACK request, even if the transport
        # is reliable [...] and pass it to the transport layer", then Completed
        # with "timer D set to fire in at least 32 seconds for unreliable
        # transports, and a value of zero seconds for reliable transports".
        self.ack = build_non2xx_ack(self.request, response)
        self._ack_wire = self.ack.serialize()
        self._send(self._ack_wire)
        self.state = InviteState.COMPLETED
        self._timer_d = now + self._timer_d_interval
        if self.reliable:
            self._terminate()

    def terminate(self) -> None:
        """Destroy the transaction at the TU's request (§9.1: no answer after CANCEL)."""
        self._terminate()

    def _terminate(self) -> None:
        self.state = InviteState.TERMINATED
        self._timer_a = self._timer_b = self._timer_d = None
