"""The UAC side of one call, as a sans-IO core (RFC 3261 §12, §13, §15, §9, §22).

`UacDialog` places one INVITE and carries the call to its end: provisional
responses and early media, digest authentication rounds, the 2xx and its
ACK, CANCEL when nobody answers within `answer_timeout`, our BYE, and a BYE
from the far end. Like the transactions it drives, it takes `now` as an
argument and never sleeps: the asyncio call probe feeds it parsed messages,
sends what `data_to_send()` returns to `Outgoing.uri` (responses go back to
where the request came from), and re-arms a timer at `get_timer()`.

Call states:

    CALLING    --1xx with To tag-->   EARLY        (event: Provisional[, EarlyMedia])
    CALLING    --401/407-->           CALLING      (new INVITE, CSeq+1; event: AuthChallenged)
    CALLING/EARLY --2xx-->            CONFIRMED    (ACK sent; event: CallAnswered)
    CALLING/EARLY --300-699-->        TERMINATED   (ACKed by the transaction; event: CallFailed)
    CALLING/EARLY --answer_timeout--> CANCELLING   (CANCEL sent once a 1xx arrived, §9.1)
    CANCELLING --487-->               TERMINATED   (event: CallFailed NO_ANSWER)
    CONFIRMED  --hangup()-->          TERMINATING  (BYE sent)
    TERMINATING --final to BYE-->     TERMINATED   (event: CallEnded)
    CONFIRMED  --BYE received-->      TERMINATED   (200 sent; event: RemoteHangup)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import LocalProtocolError
from .call import (
    ALLOW,
    SDP,
    AuthChallenged,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallFailed,
    CallSettings,
    CallState,
    EarlyMedia,
    FailureCause,
    Outgoing,
    Provisional,
    RemoteHangup,
    is_sdp,
)
from .core import Core, earliest, fire_if_due
from .dialog_state import Dialog
from .digest import Challenge, DigestClient, select_challenge
from .invite import InviteClientTransaction, InviteState
from .message import Headers, Request, Response, make_branch, make_call_id, make_tag, parse_message
from .nameaddr import parse_name_addr
from .transaction import NonInviteClientTransaction, ResponseReceived, TransactionTimedOut
from .uas import build_response

__all__ = ["UacDialog"]

_Txn = InviteClientTransaction | NonInviteClientTransaction


@dataclass(slots=True)
class _Pending:
    txn: _Txn
    uri: str  # next hop for its bytes
    auth_tries: int = 0
    extra: dict[str, str] = field(default_factory=dict)


class UacDialog(Core[Outgoing, CallEvent]):
    """One outgoing call: INVITE sent on construction, then driven by messages and timers."""

    def __init__(self, settings: CallSettings, *, sdp_offer: bytes, now: float) -> None:
        super().__init__()
        self.settings = settings
        self.state = CallState.CALLING
        self.call_id = make_call_id()
        self.local_tag = make_tag()
        self.dialog: Dialog | None = None
        self.started_at = now
        self.invite: Request | None = None
        self._offer = sdp_offer
        self._reliable = settings.transport != "udp"
        self._cseq = 0
        self._target = str(settings.target)
        from_uri = settings.from_uri or f"sip:{settings.from_user}@{settings.target.host_for_uri}"
        self._from = f"<{from_uri}>;tag={self.local_tag}"
        # §8.1.1.8: a sips Request-URI needs a sips Contact; else name the transport.
        scheme = "sips" if settings.target.scheme == "sips" else "sip"
        tp = "" if settings.transport == "udp" or scheme == "sips" else \
            f";transport={settings.transport}"
        self._contact = f"<{scheme}:{settings.from_user}@{settings.sent_by}{tp}>"
        self._digest = DigestClient(settings.credentials) if settings.credentials else None
        self._challenges: dict[tuple[bool, str], Challenge] = {}
        self._auth_rounds = 0
        self._txns: dict[tuple[str, str], _Pending] = {}
        self._ack: Outgoing | None = None
        self._answer_at: float | None = now + settings.answer_timeout
        self._cancel_wanted = False
        self._cancel_deadline: float | None = None
        self._send_invite(now)
        self._pump(now)

    # -- the sans-IO surface -------------------------------------------------

    def get_timer(self) -> float | None:
        txns = (p.txn.get_timer() for p in self._txns.values())
        return earliest(*txns, self._answer_at, self._cancel_deadline)

    def handle_timer(self, now: float) -> None:
        if self._answer_at is not None and now >= self._answer_at:
            self._answer_at = None
            self._cancel_wanted = True
            self._try_cancel(now)
        if self._cancel_deadline is not None and now >= self._cancel_deadline:
            # §9.1: "If there is no final response for the original request in
            # 64*T1 seconds [...] the client SHOULD then consider the original
            # transaction cancelled and SHOULD destroy the client transaction".
            self._cancel_deadline = None
            invite_txn = self._invite_txn()
            if invite_txn is not None:
                invite_txn.terminate()
            self._fail(FailureCause.NO_ANSWER, None, "no final response after CANCEL", now)
        for pending in list(self._txns.values()):
            fire_if_due(pending.txn, now)
        self._pump(now)

    def receive_data(self, data: bytes, now: float) -> None:
        """One UDP datagram (or one framed stream message); garbage raises SipParseError."""
        self.receive_message(parse_message(data), now)

    def receive_message(self, message: Request | Response, now: float) -> None:
        if isinstance(message, Response):
            self._receive_response(message, now)
        else:
            self._receive_request(message, now)
        self._pump(now)

    def hangup(self, now: float) -> None:
        """End the call: BYE when answered (§15.1.1), CANCEL while unanswered (§9.1)."""
        if self.state is CallState.CONFIRMED:
            assert self.dialog is not None
            self._send_in_dialog("BYE", now)
            self.state = CallState.TERMINATING
        elif self.state in (CallState.CALLING, CallState.EARLY):
            self._answer_at = None
            self._cancel_wanted = True
            self._try_cancel(now)
        else:
            raise LocalProtocolError(f"cannot hang up a call in state {self.state.value}")
        self._pump(now)

    @property
    def done(self) -> bool:
        """Terminated, with no transaction left to absorb retransmissions."""
        return self.state is CallState.TERMINATED and self.get_timer() is None

    # -- requests we send ----------------------------------------------------

    def _authorize(self, request: Request) -> None:
        if self._digest is None:
            return
        for challenge in self._challenges.values():
            name, value = self._digest.authorize(
                challenge, method=request.method, uri=request.uri, body=request.body
            )
            request.headers.add(name, value)

    def _send_invite(self, now: float) -> None:
        # §22.2 / §8.1.3.5: the re-sent INVITE is a new transaction with CSeq+1,
        # the same Call-ID, From tag and To (without tag).
        self._cseq += 1
        branch = make_branch()
        headers = Headers()
        headers.add("Via", self.settings.via(branch))
        headers.add("Max-Forwards", 70)
        headers.add("From", self._from)
        headers.add("To", f"<{self._target}>")
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{self._cseq} INVITE")
        # §8.1.1.8: "The Contact header field MUST be present and contain exactly
        # one SIP or SIPS URI in any request that can result in the establishment
        # of a dialog."
        headers.add("Contact", self._contact)
        headers.add("Allow", ALLOW)
        headers.add("User-Agent", self.settings.user_agent)
        headers.add("Content-Type", SDP)
        invite = Request("INVITE", self._target, headers, self._offer)
        self._authorize(invite)
        self.invite = invite
        txn = InviteClientTransaction(
            invite, reliable=self._reliable, now=now, t1=self.settings.t1
        )
        self._txns[(branch, "INVITE")] = _Pending(txn, self._target)

    def _invite_txn(self) -> InviteClientTransaction | None:
        for pending in self._txns.values():
            if isinstance(pending.txn, InviteClientTransaction):
                return pending.txn
        return None

    def _try_cancel(self, now: float) -> None:
        txn = self._invite_txn()
        if txn is None or self.invite is None or not self._cancel_wanted:
            return
        if txn.state is not InviteState.PROCEEDING:
            # §9.1: "a CANCEL request SHOULD NOT be sent to cancel an INVITE
            # until a provisional response is received" - wait for the 1xx
            # (Timer B still bounds the wait).
            return
        self._cancel_wanted = False
        invite = self.invite
        # §9.1: "The Request-URI, Call-ID, To, the numeric part of CSeq, and From
        # header fields in the CANCEL request MUST be identical to those fields
        # in the request being cancelled, including tags. A CANCEL constructed by
        # a client MUST have only a single Via header field value matching the
        # top Via value in the request being cancelled." Route is copied too.
        headers = Headers()
        headers.add("Via", invite.vias[0])
        for route in invite.headers.get_all("Route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", 70)
        for name in ("From", "To", "Call-ID"):
            headers.add(name, invite.headers.get(name) or "")
        headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
        headers.add("Content-Length", 0)
        cancel = Request("CANCEL", invite.uri, headers)
        self._start(cancel, self._target, now)
        self.state = CallState.CANCELLING
        self._cancel_deadline = now + 64 * self.settings.t1

    def _send_in_dialog(self, method: str, now: float, *, tries: int = 0) -> None:
        assert self.dialog is not None
        request = self.dialog.request(method, via=self.settings.via(make_branch()))
        request.headers.add("Content-Length", 0)
        self._authorize(request)
        self._start(request, self.dialog.next_hop, now).auth_tries = tries

    def _start(self, request: Request, uri: str, now: float) -> _Pending:
        s = self.settings
        txn = NonInviteClientTransaction(
            request, reliable=self._reliable, now=now, t1=s.t1, t2=s.t2, t4=s.t4
        )
        pending = _Pending(txn, uri)
        self._txns[(txn.branch, request.method)] = pending
        return pending

    def _send_ack(self, response: Response) -> None:
        """§13.2.2.4: the UAC core ACKs a 2xx itself, as a request in the dialog."""
        assert self.dialog is not None and self.invite is not None
        # "The sequence number of the CSeq header field MUST be the same as the
        # INVITE being acknowledged, but the CSeq method MUST be ACK" - and it
        # gets a new branch, since it is a transaction of its own.
        ack = self.dialog.request(
            "ACK", via=self.settings.via(make_branch()), cseq=self.invite.cseq[0]
        )
        # "If the INVITE contained Authorization or Proxy-Authorization header
        # fields, the ACK MUST contain the same header fields."
        for name in ("Authorization", "Proxy-Authorization"):
            for value in self.invite.headers.get_all(name):
                ack.headers.add(name, value)
        ack.headers.add("Content-Length", 0)
        self._ack = Outgoing(ack.serialize(), self.dialog.next_hop)
        self._outbox.append(self._ack)

    # -- what comes in ---------------------------------------------------------

    def _receive_response(self, response: Response, now: float) -> None:
        if not response.vias:
            return
        key = (response.top_via.branch or "", response.cseq[1])
        pending = self._txns.get(key)
        if pending is not None:
            pending.txn.receive_response(response, now)
            return
        if (
            key[1] == "INVITE"
            and 200 <= response.status < 300
            and self._ack is not None
            and self.invite is not None
            and response.cseq[0] == self.invite.cseq[0]
        ):
            # §13.2.2.4: "The UAC core MUST generate an ACK request for each 2xx
            # received from the transaction layer" - a retransmitted 2xx (its
            # transaction is gone) gets the same ACK again.
            self._outbox.append(self._ack)
        # Anything else is stray (an old transaction's retransmission): ignore.

    def _receive_request(self, request: Request, now: float) -> None:
        if request.method == "ACK":
            return  # §17.2.3: an ACK is never answered
        dialog = self.dialog
        if dialog is None or not dialog.matches_request(request):
            # §12.2.2: "If the UAS receives a request with a To tag that does not
            # match any existing dialog [...] it SHOULD respond with 481".
            self._respond(request, 481, "Call/Transaction Does Not Exist")
            return
        number = request.cseq[0]
        if dialog.remote_seq is not None and number < dialog.remote_seq:
            # §12.2.2: a lower remote CSeq is out of order: "respond to the
            # request with a 500 (Server Internal Error) response".
            self._respond(request, 500, "Server Internal Error")
            return
        dialog.remote_seq = number
        if request.method == "BYE":
            # §15.1.2: "the UAS MUST [...] terminate the session [...] and
            # generate a 2xx response to the BYE". A retransmitted BYE after
            # we ended is answered again, without a second event.
            self._respond(request, 200, "OK")
            if self.state in (CallState.CONFIRMED, CallState.TERMINATING):
                self.state = CallState.TERMINATED
                self._events.append(RemoteHangup(request, now))
        elif request.method == "OPTIONS":
            self._respond(request, 200, "OK", allow=True)
        else:
            # §8.2.1: a method we do not handle in a call (re-INVITE, UPDATE...).
            self._respond(request, 501, "Not Implemented", allow=True)

    def _respond(self, request: Request, status: int, reason: str, *, allow: bool = False) -> None:
        response = build_response(request, status, reason, to_tag=self.local_tag)
        if allow:
            response.headers.add("Allow", ALLOW)
        response.headers.add("Content-Length", 0)
        self._outbox.append(Outgoing(response.serialize(), None))

    # -- transaction results -----------------------------------------------------

    def _pump(self, now: float) -> None:
        """Move every transaction's bytes to our outbox and act on its events."""
        busy = True
        while busy:
            busy = False
            for key, pending in list(self._txns.items()):
                for data in pending.txn.data_to_send():
                    self._outbox.append(Outgoing(data, pending.uri))
                event = pending.txn.next_event()
                while event is not None:
                    busy = True
                    self._on_event(pending, event, now)
                    event = pending.txn.next_event()
                for data in pending.txn.data_to_send():  # e.g. the ACK of a non-2xx
                    self._outbox.append(Outgoing(data, pending.uri))
                if pending.txn.state.value == "Terminated":
                    self._txns.pop(key, None)

    def _on_event(
        self, pending: _Pending, event: ResponseReceived | TransactionTimedOut, now: float
    ) -> None:
        if isinstance(pending.txn, InviteClientTransaction):
            if isinstance(event, TransactionTimedOut):
                # §17.1.1.2 Timer B: nobody answered the INVITE at all.
                self._fail(FailureCause.TIMEOUT, None, "no response to INVITE (Timer B)", now)
            else:
                self._on_invite_response(event.response, now)
            return
        method = pending.txn.method
        if method == "CANCEL":
            return  # §9.1: the CANCEL's own answer tells nothing; the 487 does
        # BYE (our hangup): retry once with credentials, else the call is over.
        if isinstance(event, ResponseReceived):
            status = event.response.status
            if status < 200:
                return
            if status in (401, 407) and pending.auth_tries == 0 and self._accept(event.response, now):
                self._send_in_dialog(method, now, tries=1)
                return
            self.state = CallState.TERMINATED
            self._events.append(CallEnded(status, now))
        else:
            self.state = CallState.TERMINATED
            self._events.append(CallEnded(None, now))

    def _on_invite_response(self, response: Response, now: float) -> None:
        status = response.status
        assert self.invite is not None
        if status < 200:
            self._events.append(Provisional(response, now))
            has_tag = ";tag=" in (response.headers.get("To") or "").replace(" ", "")
            if status > 100 and has_tag and self.dialog is None:
                # §12.1.2: a 101-199 with a To tag creates an early dialog.
                self.dialog = Dialog.for_uac(self.invite, response)
                if self.state is CallState.CALLING:
                    self.state = CallState.EARLY
            if response.body and is_sdp(response):
                self._events.append(EarlyMedia(status, response.body, now))
            self._try_cancel(now)
            return
        if status < 300:
            self._on_answer(response, now)
            return
        # 300-699: the transaction already sent the ACK (§17.1.1.3).
        cancelled = self.state is CallState.CANCELLING
        if status in (401, 407) and not cancelled and self._accept(response, now):
            self._send_invite(now)
            return
        self._cancel_deadline = None
        if cancelled and status == 487:
            self._fail(FailureCause.NO_ANSWER, status, "no answer: cancelled", now)
        elif status in (401, 407):
            self._fail(FailureCause.AUTH_REJECTED, status, self._auth_detail(response), now)
        elif status in (486, 600):
            self._fail(FailureCause.BUSY, status, response.reason, now)
        else:
            self._fail(FailureCause.REJECTED, status, response.reason, now)

    def _on_answer(self, response: Response, now: float) -> None:
        assert self.invite is not None
        if self.dialog is None or self.dialog.remote.tag != _to_tag(response):
            # §13.2.2.4: a 2xx creates the dialog (or one from another fork).
            self.dialog = Dialog.for_uac(self.invite, response)
        else:
            self.dialog.update_from_2xx(response)
        self._send_ack(response)
        self._answer_at = self._cancel_deadline = None
        if self.state is CallState.CANCELLING:
            # §9.1 race: the callee answered as our CANCEL crossed it. The call
            # exists and must be ended with a BYE (§15), but it still counts as
            # unanswered within answer_timeout.
            self.state = CallState.CONFIRMED
            self._send_in_dialog("BYE", now)
            self.state = CallState.TERMINATING
            self._fail(FailureCause.NO_ANSWER, response.status, "answered after CANCEL", now,
                       terminate=False)
            return
        self.state = CallState.CONFIRMED
        self._events.append(CallAnswered(response, response.body if is_sdp(response) else b"", now))

    def _accept(self, response: Response, now: float) -> bool:
        """Record a 401/407 challenge we will answer; False when we must give up (§22.2)."""
        if self._digest is None or self._auth_rounds >= self.settings.max_auth_rounds:
            return False
        proxy = response.status == 407
        rows = response.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        challenge = select_challenge(rows, proxy=proxy)
        if challenge is None:
            return False
        key = (proxy, challenge.realm)
        if key in self._challenges and not challenge.stale:
            # RFC 7616 §3.3: without stale=true a second challenge for the same
            # realm means the credentials themselves were refused.
            return False
        self._challenges[key] = challenge
        self._auth_rounds += 1
        self._events.append(
            AuthChallenged(response.status, challenge.realm, challenge.algorithm,
                           challenge.stale, now)
        )
        return True

    def _auth_detail(self, response: Response) -> str:
        if self._digest is None:
            return f"{response.status} {response.reason}: no credentials configured"
        if self._auth_rounds >= self.settings.max_auth_rounds:
            return f"{response.status} {response.reason}: credentials refused"
        return f"{response.status} {response.reason}: credentials refused or challenge unsupported"

    def _fail(
        self, cause: FailureCause, status: int | None, detail: str, now: float,
        *, terminate: bool = True,
    ) -> None:
        if terminate:
            self.state = CallState.TERMINATED
        self._answer_at = self._cancel_deadline = None
        self._events.append(CallFailed(cause, status, detail, now))


def _to_tag(response: Response) -> str | None:
    return parse_name_addr(response.headers.get("To") or "").tag


