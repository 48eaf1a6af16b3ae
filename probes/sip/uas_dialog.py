"""The UAS side of one call, as a sans-IO core (RFC 3261 §13.3, §12.1.1, §9.2, §15, §22).

`UasDialog` answers the INVITEs of one Call-ID according to an `AnswerPlan`:
100 Trying, optionally 183 with early media, 180 Ringing, then after
`ring_seconds` a 200 with the SDP answer, or a configured error code, or
never (ringing until CANCEL). With `credentials` set it first challenges
with 401 (or 407) and only proceeds once the digest response verifies.
It takes the ACK and a BYE, and can send BYE itself (`hangup`).

It is what the UAC core is tested against with no sockets, and the seed of
the responder's answer point. Server-transaction duties are kept compact:
a retransmitted INVITE gets the last response again (§17.2.1), a final
response is retransmitted on UDP every T1 doubling up to T2 until the ACK
arrives (§13.3.1.4 for 2xx, Timer G for the rest), and given up after 64*T1
(Timer H; for a 2xx §13.3.1.4 then ends the call with BYE).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from typing import Literal

from ..errors import DigestParseError, LocalProtocolError
from .call import SDP, CallEnded, Outgoing
from .core import Core, earliest, fire_if_due
from .dialog_state import Dialog
from .digest import Credentials, build_challenge, parse_authorization, verify_authorization
from .message import Request, Response, make_branch, make_tag, parse_message
from .transaction import NonInviteClientTransaction, ResponseReceived
from .uas import build_response

__all__ = [
    "AckReceived",
    "AnswerPlan",
    "ByeReceived",
    "CancelReceived",
    "ChallengeSent",
    "InviteReceived",
    "UasDialog",
    "UasEvent",
    "UasState",
]

_REASONS = {
    180: "Ringing", 183: "Session Progress", 200: "OK", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 407: "Proxy Authentication Required",
    480: "Temporarily Unavailable", 486: "Busy Here", 487: "Request Terminated",
    500: "Server Internal Error", 503: "Service Unavailable", 600: "Busy Everywhere",
    603: "Decline",
}


@dataclass(frozen=True, slots=True)
class AnswerPlan:
    """How the far end behaves; the password never shows in repr (see `Credentials`)."""

    sdp_answer: bytes = b""
    status: int = 200
    ring_seconds: float = 0.0
    answer: bool = True  # False: ring until CANCEL
    early_media: bytes | None = None  # send 183 with this SDP before ringing
    credentials: Credentials | None = None
    realm: str = "monitord"
    proxy_auth: bool = False  # challenge with 407 Proxy-Authenticate instead of 401
    algorithm: str = "MD5"
    stale_once: bool = False  # answer the first valid credentials with stale=true

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 699 or self.ring_seconds < 0:
            raise LocalProtocolError(f"plan needs a final status and ring_seconds >= 0: {self!r}")


class UasState(enum.Enum):
    WAITING = "waiting"  # no (authorised) INVITE yet
    RINGING = "ringing"
    ANSWERED = "answered"  # 2xx sent, waiting for the ACK
    CONFIRMED = "confirmed"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class InviteReceived:
    request: Request
    time: float


@dataclass(frozen=True, slots=True)
class ChallengeSent:
    status: int
    stale: bool
    time: float


@dataclass(frozen=True, slots=True)
class AckReceived:
    request: Request
    time: float


@dataclass(frozen=True, slots=True)
class CancelReceived:
    time: float


@dataclass(frozen=True, slots=True)
class ByeReceived:
    request: Request
    time: float


UasEvent = InviteReceived | ChallengeSent | AckReceived | CancelReceived | ByeReceived | CallEnded


class UasDialog(Core[Outgoing, UasEvent]):
    """Answers the INVITE(s) of one call per its plan."""

    def __init__(
        self,
        plan: AnswerPlan,
        *,
        local_host: str,
        local_port: int,
        transport: Literal["udp", "tcp", "tls"] = "udp",
        t1: float = 0.5,
        t2: float = 4.0,
        t4: float = 5.0,
    ) -> None:
        super().__init__()
        self.plan = plan
        self.state = UasState.WAITING
        self.dialog: Dialog | None = None
        self.local_tag = make_tag()
        self._reliable = transport != "udp"
        self._transport = transport
        self._sent_by = f"{local_host}:{local_port}"
        self._t1, self._t2, self._t4 = t1, t2, t4
        self._invite: Request | None = None
        self._last: dict[str, bytes] = {}  # INVITE branch -> last response sent
        self._nonces: dict[str, int] = {}  # issued nonce -> highest nc seen
        self._stale_sent = False
        self._final_at: float | None = None
        self._retx: bytes | None = None
        self._retx_at: float | None = None
        self._retx_interval = t1
        self._give_up_at: float | None = None
        self._final_is_2xx = False
        self._bye: NonInviteClientTransaction | None = None

    def data_to_send(self) -> list[Outgoing]:
        if self._bye is not None and self.dialog is not None:
            self._outbox += [Outgoing(d, self.dialog.next_hop) for d in self._bye.data_to_send()]
        return super().data_to_send()

    def get_timer(self) -> float | None:
        bye = self._bye.get_timer() if self._bye is not None else None
        return earliest(self._final_at, self._retx_at, self._give_up_at, bye)

    def handle_timer(self, now: float) -> None:
        if self._final_at is not None and now >= self._final_at:
            self._final_at = None
            self._send_final(now)
        if self._give_up_at is not None and now >= self._give_up_at:
            self._retx = self._retx_at = self._give_up_at = None
            if self._final_is_2xx and self.state is UasState.ANSWERED:
                # §13.3.1.4: "If the server retransmits the 2xx response for 64*T1
                # seconds without receiving an ACK, the dialog is confirmed, but
                # the session SHOULD be terminated" - with a BYE.
                self.state = UasState.CONFIRMED
                self.hangup(now)
            elif not self._final_is_2xx and self._invite is not None:
                self.state = UasState.TERMINATED  # Timer H: the ACK never came
        if self._retx is not None and self._retx_at is not None and now >= self._retx_at:
            # §13.3.1.4 / §17.2.1 Timer G: "doubling [...] until it reaches T2".
            self._outbox.append(Outgoing(self._retx, None))
            self._retx_interval = min(2 * self._retx_interval, self._t2)
            self._retx_at = now + self._retx_interval
        if self._bye is not None:
            fire_if_due(self._bye, now)
            self._pump_bye(now)

    def receive_data(self, data: bytes, now: float) -> None:
        self.receive_message(parse_message(data), now)

    def receive_message(self, message: Request | Response, now: float) -> None:
        if isinstance(message, Response):
            if self._bye is not None and message.top_via.branch == self._bye.branch:
                self._bye.receive_response(message, now)
                self._pump_bye(now)
            return
        handler = {
            "INVITE": self._on_invite, "ACK": self._on_ack,
            "CANCEL": self._on_cancel, "BYE": self._on_bye,
        }.get(message.method)
        if handler is None:
            self._respond(message, 501, "Not Implemented")
        else:
            handler(message, now)

    def hangup(self, now: float) -> None:
        """Send BYE in the confirmed dialog (§15.1.1: not before the ACK came, or 64*T1 passed)."""
        if self.state is not UasState.CONFIRMED or self.dialog is None:
            raise LocalProtocolError(f"cannot send BYE in state {self.state.value}")
        via = f"SIP/2.0/{self._transport.upper()} {self._sent_by};rport;branch={make_branch()}"
        bye = self.dialog.request("BYE", via=via)
        bye.headers.add("Content-Length", 0)
        self._bye = NonInviteClientTransaction(
            bye, reliable=self._reliable, now=now, t1=self._t1, t2=self._t2, t4=self._t4
        )
        self.state = UasState.TERMINATING

    # -- requests ------------------------------------------------------------

    def _on_invite(self, request: Request, now: float) -> None:
        branch = request.top_via.branch or ""
        if branch in self._last:
            # §17.2.1: a retransmitted INVITE gets the most recent response again.
            self._outbox.append(Outgoing(self._last[branch], None))
            return
        if self.state is not UasState.WAITING:
            self._respond(request, 500, "Server Internal Error")  # re-INVITEs: not supported
            return
        if self.plan.credentials is not None and not self._authorised(request, now):
            return
        self._invite = request
        self.state = UasState.RINGING
        self._events.append(InviteReceived(request, now))
        # §17.2.1: the server transaction "MUST generate a 100 (Trying)" unless
        # the TU answers within 200 ms; we always send it.
        self._respond(request, 100, "Trying")
        if self.plan.early_media is not None:
            self._respond(request, 183, _REASONS[183], sdp=self.plan.early_media)
        self._respond(request, 180, _REASONS[180])
        if self.plan.answer:
            self._final_at = now + self.plan.ring_seconds
            if self.plan.ring_seconds == 0:
                self.handle_timer(now)

    def _authorised(self, request: Request, now: float) -> bool:
        """§22.4: challenge until the request carries valid credentials for a nonce we issued."""
        plan = self.plan
        assert plan.credentials is not None
        header = "Proxy-Authorization" if plan.proxy_auth else "Authorization"
        stale = False
        for value in request.headers.get_all(header):
            try:
                answer = parse_authorization(value)
            except DigestParseError:
                continue
            seen = self._nonces.get(answer.nonce)
            nc = int(answer.nc, 16) if answer.nc.isalnum() and len(answer.nc) == 8 else 0
            if seen is None or (answer.qop is not None and nc <= seen):
                stale = seen is None  # unknown nonce: maybe an old one
                continue
            if not verify_authorization(answer, expected=plan.credentials, method=request.method,
                                        body=request.body):
                stale = False
                break
            self._nonces[answer.nonce] = nc
            if plan.stale_once and not self._stale_sent:
                self._stale_sent = stale = True
                break
            return True
        status = 407 if plan.proxy_auth else 401
        nonce = secrets.token_hex(12)
        self._nonces[nonce] = 0
        challenge = build_challenge(realm=plan.realm, nonce=nonce, algorithm=plan.algorithm,
                                    stale=stale and bool(request.headers.get(header)))
        name = "Proxy-Authenticate" if plan.proxy_auth else "WWW-Authenticate"
        self._respond(request, status, _REASONS[status], extra=(name, challenge), final=True,
                      now=now)
        self._events.append(ChallengeSent(status, stale, now))
        return False

    def _send_final(self, now: float) -> None:
        request = self._invite
        if request is None or self.state is not UasState.RINGING:
            return
        status = self.plan.status
        sdp = self.plan.sdp_answer if status < 300 else None
        self._respond(request, status, _REASONS.get(status, "Final"), sdp=sdp, final=True, now=now)
        if status < 300:
            self.state = UasState.ANSWERED
            self.dialog = Dialog.for_uas(request, self.local_tag)

    def _on_ack(self, request: Request, now: float) -> None:
        # §17.2.1 / §13.3.1.4: the ACK stops retransmissions of the final response.
        self._retx = self._retx_at = self._give_up_at = None
        invite = self._invite
        if invite is None or request.cseq[0] != invite.cseq[0]:
            return  # the ACK of a challenge, or a stray one
        if self.state is UasState.ANSWERED:
            self.state = UasState.CONFIRMED
            self._events.append(AckReceived(request, now))

    def _on_cancel(self, request: Request, now: float) -> None:
        invite = self._invite
        if invite is None or request.top_via.branch != invite.top_via.branch:
            # §9.2: "If the UAS did not find a matching transaction for the
            # CANCEL according to the procedure above, it SHOULD respond to the
            # CANCEL with a 481".
            self._respond(request, 481, "Call/Transaction Does Not Exist")
            return
        # §9.2: the CANCEL itself gets 200; if no final response was sent yet,
        # "the UAS SHOULD immediately respond to the INVITE with a 487".
        self._respond(request, 200, "OK")
        if self.state is UasState.RINGING:
            self._final_at = None
            self._respond(invite, 487, _REASONS[487], final=True, now=now)
            self._events.append(CancelReceived(now))

    def _on_bye(self, request: Request, now: float) -> None:
        if self.dialog is None or not self.dialog.matches_request(request):
            self._respond(request, 481, "Call/Transaction Does Not Exist")
            return
        # §15.1.2: answer the BYE with 2xx and end the session.
        self._respond(request, 200, "OK")
        self._retx = self._retx_at = self._give_up_at = None
        if self.state is not UasState.TERMINATED:
            self.state = UasState.TERMINATED
            self._events.append(ByeReceived(request, now))

    # -- responses -----------------------------------------------------------

    def _respond(
        self,
        request: Request,
        status: int,
        reason: str,
        *,
        sdp: bytes | None = None,
        extra: tuple[str, str] | None = None,
        final: bool = False,
        now: float = 0.0,
    ) -> None:
        response: Response = build_response(request, status, reason, to_tag=self.local_tag)
        if request.method == "INVITE" and 100 < status < 300:
            # §12.1.1: "the UAS MUST copy all Record-Route header field values
            # from the request into the response" and add a Contact.
            for value in request.headers.get_all("Record-Route"):
                response.headers.add("Record-Route", value)
            tp = "" if self._transport == "udp" else f";transport={self._transport}"
            response.headers.add("Contact", f"<sip:answer@{self._sent_by}{tp}>")
        if extra is not None:
            response.headers.add(*extra)
        if sdp is not None:
            response.headers.add("Content-Type", SDP)
            response.body = sdp
        wire = response.serialize()
        self._outbox.append(Outgoing(wire, None))
        if request.method == "INVITE":
            self._last[request.top_via.branch or ""] = wire
            if final:
                self._final_is_2xx = status < 300
                if status >= 300 and status not in (401, 407):
                    self.state = UasState.TERMINATED
                if not self._reliable:
                    self._retx, self._retx_interval = wire, self._t1
                    self._retx_at = now + self._t1
                self._give_up_at = now + 64 * self._t1

    def _pump_bye(self, now: float) -> None:
        assert self._bye is not None
        event = self._bye.next_event()
        while event is not None:
            if not isinstance(event, ResponseReceived) or event.final:
                status = event.response.status if isinstance(event, ResponseReceived) else None
                self.state = UasState.TERMINATED
                self._events.append(CallEnded(status, now))
            event = self._bye.next_event()
