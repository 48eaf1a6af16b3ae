"""The responder's answer point: it takes calls, so A -> platform -> B runs with both ends ours.

Why: a `sip_call` check against a public echo tests someone else's far end. With
`monitord responder` answering at B, a call placed by the daemon at A crosses the
platform (its proxies, SBCs and media relays) and arrives at a far end whose
behaviour we know exactly, so every impairment measured belongs to the path.

Per Call-ID a `UasDialog` (the sans-IO core) answers per an `AnswerPlan` built
from the caller's offer: 100/180/200 with an SDP answer choosing the first
offered G.711 law (telephone-event kept if offered). Media, on a fresh RTP/RTCP
port pair (`RtpEndpoint`):

* `echo` (default): every RTP and RTCP packet is sent straight back to where it
  came from, like SIPp's `-rtp_echo`; the caller measures the round trip of its
  own packets, and loss/jitter over the whole loop.
* `tone`: we send our own test signal (three tones distinct from the
  caller's, probes/rtp/g711.py), paced like the caller's, with RTCP SR whose
  report blocks describe the caller's stream; the caller then measures our
  stream as a real far end (loss and jitter per direction, RTT from
  LSR/DLSR) and can tell our signal from its own looped back. We also check
  the caller's signal (jitter buffer model, audio check) and report it in
  each RTCP compound: an RFC 3611 VoIP Metrics block and an APP "MNTD"
  audio report (probes/rtp/rtcpstate.py); DTMF digits we receive are logged,
  reported, and sent back as our own telephone-events (a digit round trip).

Resources are bounded: at most `max_calls` calls at once (more get 486 Busy
Here), each at most `max_call_seconds` long (then we send BYE), and a finished
call's state lingers `LINGER` seconds to absorb retransmissions, then goes.
Calls arrive over UDP, TCP or TLS; over a stream every message of the call,
our BYE included, goes back over the connection the INVITE came on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from probes.quality.audio import Signal
from probes.rtp.endpoint import MediaSettings, RtpEndpoint
from probes.rtp.g711 import Law
from probes.sdp import (
    TELEPHONE_EVENT,
    Codec,
    MediaDescription,
    SessionDescription,
    parse_sdp,
)

from ..errors import InvalidValue, ProbeError, SdpError, SdpNegotiationError
from .call import CallEnded
from .message import Request, Response, parse_via
from .uas import build_response, response_destination
from .uas_dialog import (
    AckReceived,
    AnswerPlan,
    ByeReceived,
    CancelReceived,
    UasDialog,
    UasState,
)
from .uri import SipUri

__all__ = ["AnswerPoint", "Media", "SdpAnswer", "answer_offer"]

log = logging.getLogger(__name__)

Address = tuple[str, int]
Media = Literal["echo", "tone"]
LINGER = 5.0  # seconds a finished call keeps answering retransmissions
CALL_METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL"})


@dataclass(frozen=True, slots=True)
class SdpAnswer:
    sdp: SessionDescription
    law: Law
    payload_type: int
    ptime: float  # seconds
    remote_rtp: Address
    remote_rtcp: Address
    telephone_event: int | None = None


def answer_offer(offer: SessionDescription, address: str, rtp_port: int,
                 session_id: str) -> SdpAnswer:
    """RFC 3264 §6.1: accept the first offered G.711 law (plus telephone-event if offered)."""
    audio = offer.audio
    if audio is None or audio.port == 0 or audio.connection is None:
        raise SdpNegotiationError("the offer has no usable audio stream")
    chosen = next((c for c in audio.codecs
                   if c.name.upper() in (Law.PCMU, Law.PCMA) and c.clock_rate == 8000), None)
    if chosen is None:
        raise SdpNegotiationError("the offer has no G.711 codec (PCMU or PCMA)")
    codecs = [Codec(chosen.payload_type, chosen.name.upper(), 8000)]
    event = next((c for c in audio.codecs
                  if c.name.lower() == TELEPHONE_EVENT and c.clock_rate == 8000), None)
    if event is not None:
        codecs.append(event)
    ptime = audio.ptime or 20
    media = MediaDescription("audio", rtp_port, "RTP/AVP", tuple(codecs), address, ptime,
                             audio.direction.reverse(), rtp_port + 1, None)
    sdp = SessionDescription("monitord", session_id, "1", address, address, (media,), "monitord")
    return SdpAnswer(
        sdp, Law(chosen.name.upper()), chosen.payload_type, ptime / 1000,
        (audio.connection, audio.port),
        (audio.rtcp_address or audio.connection, audio.rtcp_port or audio.port + 1),
        None if event is None else event.payload_type,
    )


@dataclass(eq=False)
class _Call:
    uas: UasDialog
    media: RtpEndpoint
    answer: SdpAnswer
    source: Address  # where the INVITE came from: responses go back there
    send: Callable[[bytes, Address], None]  # the UDP socket, or the INVITE's connection
    timer: asyncio.TimerHandle | None = None
    deadline: asyncio.TimerHandle | None = None
    finished: bool = False


class AnswerPoint:
    """Answers the calls arriving on the responder's UDP socket (see the module docstring)."""

    def __init__(self, host: str, port: int, send: Callable[[bytes, Address], None], *,
                 media: Media = "echo", max_calls: int = 64,
                 max_call_seconds: float = 300.0) -> None:
        if max_calls < 1 or max_call_seconds <= 0:
            raise InvalidValue("max_calls >= 1 and max_call_seconds > 0")
        self.host, self.port = host, port
        self.tls_port = 0  # where SIP over TLS is answered (our Contact in TLS calls)
        self.media = media
        self.max_calls = max_calls
        self.max_call_seconds = max_call_seconds
        self.answered = 0
        self.digits: dict[str, str] = {}  # Call-ID -> DTMF digits received (the last 1000 calls)
        self._send = send
        self._calls: dict[str, _Call] = {}
        self._opening: set[str] = set()  # Call-IDs whose media port is being opened
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()

    @property
    def active(self) -> int:
        return sum(not c.finished for c in self._calls.values()) + len(self._opening)

    def wants(self, message: Request | Response) -> bool:
        if isinstance(message, Response):
            return message.headers.get("Call-ID") in self._calls
        return message.method in CALL_METHODS

    def receive(self, message: Request | Response, source: Address,
                send: Callable[[bytes, Address], None] | None = None,
                transport: Literal["udp", "tcp", "tls"] = "udp") -> None:
        """One message of a call; `send` is the connection it came on (None: UDP)."""
        send = send or self._send
        call_id = message.headers.get("Call-ID") or ""
        call = self._calls.get(call_id)
        if call is not None:
            call.uas.receive_message(message, self._loop.time())
            self._pump(call_id, call)
            return
        if not isinstance(message, Request) or call_id in self._opening:
            return  # a retransmitted INVITE while its port opens: the next one is answered
        if message.method == "INVITE":
            if self.active >= self.max_calls:
                self._reply(message, source, 486, "Busy Here", send)
                return
            self._opening.add(call_id)
            task = asyncio.create_task(self._new_call(call_id, message, source, send, transport))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif message.method in ("BYE", "CANCEL"):
            self._reply(message, source, 481, "Call/Transaction Does Not Exist", send)
        # a stray ACK is absorbed (§17)

    async def _new_call(self, call_id: str, invite: Request, source: Address,
                        send: Callable[[bytes, Address], None],
                        transport: Literal["udp", "tcp", "tls"]) -> None:
        try:
            offer = parse_sdp(invite.body.decode("utf-8", "replace"))
            media = RtpEndpoint(cname=f"responder@{self.host}")
            await media.open(self.host)
            try:
                answer = answer_offer(offer, self.host, media.rtp_port,
                                      str(int(time.time())))
            except BaseException:
                await media.close()
                raise
        except (SdpError, ValueError) as exc:
            self._opening.discard(call_id)
            log.debug("call %s: unusable offer: %s", call_id, exc)
            self._reply(invite, source, 488, "Not Acceptable Here", send)
            return
        except OSError as exc:
            self._opening.discard(call_id)
            log.warning("call %s: no media port: %s", call_id, exc)
            self._reply(invite, source, 503, "Service Unavailable", send)
            return
        self._opening.discard(call_id)
        plan = AnswerPlan(sdp_answer=answer.sdp.serialize().encode())
        local_port = self.tls_port if transport == "tls" and self.tls_port else self.port
        uas = UasDialog(plan, local_host=self.host, local_port=local_port, transport=transport)
        call = _Call(uas, media, answer, source, send)
        self._calls[call_id] = call
        uas.receive_message(invite, self._loop.time())
        self._pump(call_id, call)

    def _pump(self, call_id: str, call: _Call) -> None:
        for out in call.uas.data_to_send():
            dest = call.source if out.uri is None or call.send is not self._send \
                else _address(out.uri)
            with contextlib.suppress(OSError):
                call.send(out.data, dest)
        while (event := call.uas.next_event()) is not None:
            if isinstance(event, AckReceived):
                self._start_media(call_id, call)
            elif isinstance(event, ByeReceived | CancelReceived | CallEnded):
                self._finish(call_id, call)
        if call.uas.state is UasState.TERMINATED:
            self._finish(call_id, call)
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        when = call.uas.get_timer()
        if when is not None:
            call.timer = self._loop.call_at(when, self._on_timer, call_id, call)

    def _on_timer(self, call_id: str, call: _Call) -> None:
        call.timer = None
        call.uas.handle_timer(self._loop.time())
        self._pump(call_id, call)

    def _start_media(self, call_id: str, call: _Call) -> None:
        a = call.answer
        if self.media == "echo":
            call.media.attach(MediaSettings(law=a.law, payload_type=a.payload_type,
                                            duration=None, ptime=a.ptime, echo=True))
        else:
            call.media.start(a.remote_rtp, a.remote_rtcp, MediaSettings(
                law=a.law, payload_type=a.payload_type, duration=self.max_call_seconds,
                ptime=a.ptime, signal=Signal.ANSWER, telephone_event=a.telephone_event,
                answer_point=True))
        self.answered += 1
        call.deadline = self._loop.call_later(self.max_call_seconds, self._hang_up, call_id, call)

    def _hang_up(self, call_id: str, call: _Call) -> None:
        call.deadline = None
        if call.uas.state is UasState.CONFIRMED:
            call.uas.hangup(self._loop.time())
            self._pump(call_id, call)

    def _finish(self, call_id: str, call: _Call) -> None:
        if call.finished:
            return
        call.finished = True
        if call.deadline is not None:
            call.deadline.cancel()
            call.deadline = None
        session = call.media.session
        if session is not None:
            report = session.report()
            if report.rx is not None:
                a = report.rx.audio
                log.info("call %s ended: received %d frames (%s signal, %d audible, %d gaps),"
                         " digits %r", call_id, a.positions, a.signal.value, a.audible, a.gaps,
                         report.rx.digits)
                self.digits[call_id] = report.rx.digits
                while len(self.digits) > 1000:  # bounded: the oldest calls go first
                    del self.digits[next(iter(self.digits))]
        call.media.stop()
        task = asyncio.create_task(self._retire(call_id, call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retire(self, call_id: str, call: _Call) -> None:
        try:
            await call.media.close()
            await asyncio.sleep(LINGER)
        finally:
            if call.timer is not None:
                call.timer.cancel()
            if self._calls.get(call_id) is call:
                del self._calls[call_id]

    def _reply(self, request: Request, source: Address, status: int, reason: str,
               send: Callable[[bytes, Address], None]) -> None:
        response = build_response(request, status, reason)
        response.headers.add("Content-Length", 0)
        try:
            dest = response_destination(parse_via(request.vias[0]), source)
            send(response.serialize(), dest if send is self._send else source)
        except (ProbeError, OSError) as exc:
            log.debug("could not answer %s from %s: %s", request.method, source, exc)

    async def close(self) -> None:
        """End every call now (no BYE: the socket is going away) and wait for the tasks."""
        for task in list(self._tasks):
            task.cancel()
        for call in list(self._calls.values()):
            if call.timer is not None:
                call.timer.cancel()
            if call.deadline is not None:
                call.deadline.cancel()
            await call.media.close()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._calls.clear()


def _address(uri: str) -> Address:
    u = SipUri.parse(uri.strip("<>"))
    return (u.host.strip("[]"), u.effective_port)
