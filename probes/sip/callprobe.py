"""The `sip_call` probe: place one real call and measure what a caller lives through.

The SIP side is the sans-IO `UacDialog`; this is its thin asyncio adapter
(like aioquic's): messages of our Call-ID arrive from the shared
`SipTransports`, `loop.time()` is the clock, one `call_at` timer is re-armed
at `get_timer()`, and what `data_to_send()` returns is sent in order by one
sender task. Media is an `RtpEndpoint` started when the 200 arrives.

Measurements (base units, in a `CallMeasured`; export keys in parentheses):

* post-dial delay (``call_post_dial_delay_seconds``): first INVITE -> first 18x;
* set-up time (``call_setup_seconds``): first INVITE -> 200, auth rounds
  included (the voizXL KPI, "average call set-up time 2 s"); also the
  result's latency;
* authenticated set-up (``call_auth_setup_seconds``): that INVITE -> 200;
* answer to media (``call_answer_to_media_seconds``): 200 -> first RTP;
* ``rx_*`` (what we receive), ``tx_*`` (what the far end reported receiving
  from us in RTCP), ``rtt_seconds`` (RTCP LSR/DLSR, else the round trip of
  our own packets when the far end is a packet echo);
* ``mos`` and ``r_factor`` per ITU-T G.107 (see `rate_direction`).

A failed call carries the reason a caller would give: no answer, busy, the
named rejection, auth rejected, no media, one-way audio, or dropped (the far
end hung up early, or its media stopped for `media_timeout`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from dataclasses import dataclass, replace

from ..base import FailureReason, ProbeResult
from ..errors import InvalidValue, ProbeFailure, SdpError
from ..measurements import CallMeasured
from ..quality.emodel import EModelInput, Rating, one_way_delay, rate
from ..rtp.endpoint import MediaReport, RtpEndpoint
from ..rtp.g711 import Law
from ..rtp.stats import StreamStats
from ..sdp import build_offer, negotiate, parse_sdp
from ..timing import tolerance
from .call import (
    AuthChallenged,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallFailed,
    CallSettings,
    CallState,
    FailureCause,
    Outgoing,
    Provisional,
    RemoteHangup,
)
from .dialog import UacDialog
from .digest import Credentials
from .message import Request, Response
from .transport import Address, NextHop, SipTransports, StreamTransport
from .uri import SipUri

__all__ = ["CallProbeSettings", "SipCallProbe", "rate_direction"]

_CAUSES = {
    FailureCause.NO_ANSWER: FailureReason.NO_ANSWER,
    FailureCause.BUSY: FailureReason.BUSY,
    FailureCause.REJECTED: FailureReason.CALL_REJECTED,
    FailureCause.AUTH_REJECTED: FailureReason.AUTH,
    FailureCause.TIMEOUT: FailureReason.TIMEOUT,
}
TICK = 0.05  # how often the media phase looks at the clock


@dataclass(frozen=True)
class CallProbeSettings:
    """One configured test call. Validated here so a bad config fails at load."""

    target: SipUri
    duration: float = 5.0  # seconds of test signal after the answer
    answer_timeout: float = 10.0
    codecs: tuple[Law, ...] = (Law.PCMU, Law.PCMA)
    credentials: Credentials | None = None
    from_user: str = "monitord"
    media_timeout: float = 2.0  # no RTP for this long (after some arrived): dropped
    local_address: str | None = None  # RTP bind address; default our SIP address
    min_jitter_buffer: float = 0.020  # nominal playout delay floor for the E-model
    hangup_wait: float = 2.0  # how long to wait for the BYE's answer
    plc: bool = True  # the listener conceals loss (G.711 Appendix I): Bpl 25.1

    def __post_init__(self) -> None:
        if self.target.transport == "tls":
            raise InvalidValue(f"TLS (sips: or transport=tls) is not supported yet: {self.target}")
        if not self.codecs:
            raise InvalidValue("offer at least one codec (PCMU, PCMA)")
        for name in ("duration", "answer_timeout", "media_timeout", "hangup_wait"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidValue(f"{name} must be a positive number of seconds, got {value!r}")

    @property
    def budget(self) -> float:
        """The longest a call can take: the probe timeout must be at least this."""
        return self.answer_timeout + self.duration + self.hangup_wait + 1.0


def rate_direction(stats: StreamStats, rtt: float | None, plc: bool = True,
                   min_jitter_buffer: float = 0.020) -> Rating:
    """G.107 rating of one received stream.

    One-way delay = RTT/2 + jitter buffer + one 20 ms frame (`one_way_delay`);
    the jitter buffer is taken as a nominal adaptive buffer of twice the
    measured interarrival jitter, never below `min_jitter_buffer` (one
    frame), since we measure the network, not a particular phone's buffer.
    Without an RTT the network transit counts as 0 (a lower bound on delay).
    """
    jitter_buffer = max(min_jitter_buffer, 2 * stats.jitter_seconds)
    delay = one_way_delay(rtt or 0.0, jitter_buffer)
    return rate(EModelInput.voip(one_way_delay=delay, packet_loss=stats.loss_fraction,
                                 burst_ratio=max(1.0, stats.burst_ratio), plc=plc))


class _Call:
    """One call in flight: the dialog, its timer, its sender task, its media."""

    def __init__(self, s: CallProbeSettings, transports: SipTransports, hop: NextHop) -> None:
        self.s = s
        self.transports = transports
        self.hop = hop
        self.loop = asyncio.get_running_loop()
        self.dialog: UacDialog | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.outbox: asyncio.Queue[tuple[Outgoing, Address | None]] = asyncio.Queue()
        self.sender: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()
        self.first_18x: float | None = None
        self.auth_invite_at: float | None = None
        self.answered: CallAnswered | None = None
        self.failed: CallFailed | None = None
        self.remote_bye: float | None = None
        self.ended: CallEnded | None = None
        self.transport_error: tuple[FailureReason, str] | None = None

    # -- CallHandler (called by SipTransports) ---------------------------------

    def on_message(self, message: Request | Response, source: Address,
                   transport: StreamTransport, arrival: float) -> None:
        if self.dialog is None:
            return
        self.dialog.receive_message(message, arrival)
        self._pump(reply_to=source)

    def on_transport_error(self, reason: FailureReason, detail: str) -> None:
        if self.transport_error is None:
            self.transport_error = (reason, detail)
        self.changed.set()

    # -- the adapter --------------------------------------------------------------

    def start(self, offer: bytes) -> UacDialog:
        s = self.s
        settings = CallSettings(
            target=s.target, local_host=self.hop.local_host, local_port=self.hop.local_port,
            transport=self.hop.transport, from_user=s.from_user, credentials=s.credentials,
            answer_timeout=s.answer_timeout,
        )
        dialog = self.dialog = UacDialog(settings, sdp_offer=offer, now=self.loop.time())
        self.transports.register_call(dialog.call_id, self, self.hop)
        self.sender = self.loop.create_task(self._send_loop())
        self._pump()
        return dialog

    def _pump(self, reply_to: Address | None = None) -> None:
        dialog = self.dialog
        if dialog is None:
            return
        for out in dialog.data_to_send():
            self.outbox.put_nowait((out, reply_to))
        while (event := dialog.next_event()) is not None:
            self._on_event(event)
        if self.timer is not None:
            self.timer.cancel()
        when = dialog.get_timer()
        self.timer = None if when is None else self.loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self.timer = None
        if self.dialog is not None:
            self.dialog.handle_timer(self.loop.time())
            self._pump()

    async def _send_loop(self) -> None:
        """One sender, so a TCP connect or DNS lookup never reorders a dialog's messages."""
        while True:
            out, reply_to = await self.outbox.get()
            try:
                await self.transports.send(out.data, out.uri, self.hop, reply_to)
            except ProbeFailure as exc:
                self.on_transport_error(exc.reason, exc.detail)

    def _on_event(self, event: CallEvent) -> None:
        if isinstance(event, Provisional):
            if event.response.status >= 180 and self.first_18x is None:
                self.first_18x = event.time
        elif isinstance(event, AuthChallenged):
            self.auth_invite_at = event.time  # the authenticated INVITE left at this instant
        elif isinstance(event, CallAnswered):
            self.answered = event
        elif isinstance(event, CallFailed):
            self.failed = self.failed or event
        elif isinstance(event, RemoteHangup):
            self.remote_bye = event.time
        elif isinstance(event, CallEnded):
            self.ended = event
        self.changed.set()

    async def wait_until(self, done: bool | None, until: float) -> None:
        """Wait for a change of the call (an event or a transport error) or `until`."""
        if done:
            return
        self.changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(until):
                await self.changed.wait()

    async def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.dialog is not None:
            self.transports.unregister_call(self.dialog.call_id)
        if self.sender is not None:
            # Let queued messages (the BYE's 200, our ACK) leave before stopping.
            for _ in range(10):
                if self.outbox.empty():
                    break
                await asyncio.sleep(0)
            self.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sender


class SipCallProbe:
    """Places one call per run over the daemon's shared SIP transports."""

    def __init__(self, settings: CallProbeSettings, transports: SipTransports) -> None:
        self.settings = settings
        self._transports = transports

    async def run(self, deadline: float) -> ProbeResult:
        s = self.settings
        try:
            hop = await self._transports.next_hop(s.target)
        except ProbeFailure as exc:
            return ProbeResult.failure(exc.reason, exc.detail)
        call = _Call(s, self._transports, hop)
        media = RtpEndpoint()
        try:
            await media.open(s.local_address or hop.local_host)
            return await self._run(call, media, deadline)
        finally:
            await call.close()
            await media.close()

    async def _run(self, call: _Call, media: RtpEndpoint, deadline: float) -> ProbeResult:
        s, loop = self.settings, call.loop
        address = s.local_address or call.hop.local_host
        offer_sd = build_offer(address, media.rtp_port, session_id=str(random.getrandbits(48)),
                               laws=s.codecs)
        dialog = call.start(offer_sd.serialize().encode())
        started = dialog.started_at
        m = CallMeasured()

        # 1. Set-up: until answered, failed, a transport error or the deadline.
        for _ in range(10_000):  # bounded: each pass waits for an event
            if call.answered or call.failed or call.transport_error or loop.time() >= deadline:
                break
            await call.wait_until(None, deadline)
        if call.first_18x is not None:
            m = replace(m, post_dial_delay_seconds=call.first_18x - started)
        if call.failed is not None:
            f = call.failed
            m = replace(m, status=f.status)
            detail = f.detail
            if f.status is not None and not detail.startswith(str(f.status)):
                detail = f"{f.status} {detail}"
            detail = f"SIP {detail}" if f.status is not None else detail
            reason = _CAUSES[f.cause]
            if f.status == 403 and call.auth_invite_at is not None:
                # Forbidden in answer to our credentials: they were refused.
                reason, detail = FailureReason.AUTH, f"{detail} (after our credentials)"
            failed = ProbeResult.failure(reason, detail, measured=m)
            if f.cause in (FailureCause.NO_ANSWER, FailureCause.TIMEOUT):  # timers ran out
                return self._judged(failed, started, deadline - started)
            return failed
        if call.transport_error is not None:
            return ProbeResult.failure(*call.transport_error, measured=m)
        answered = call.answered
        if answered is None:
            if dialog.state in (CallState.CALLING, CallState.EARLY):
                dialog.hangup(loop.time())  # CANCEL (once a 1xx came, §9.1)
                call._pump()
            return self._judged(ProbeResult.failure(
                FailureReason.TIMEOUT, "no answer before the probe deadline", measured=m),
                started, deadline - started)
        setup = answered.time - started
        m = replace(m, status=answered.response.status, setup_seconds=setup,
                    auth_setup_seconds=None if call.auth_invite_at is None
                    else answered.time - call.auth_invite_at)

        # 2. Media, for `duration` or until the call drops.
        try:
            negotiated = negotiate(offer_sd, parse_sdp(answered.sdp.decode("utf-8", "replace")))
        except SdpError as exc:
            await self._hangup(call, deadline)
            return ProbeResult.failure(FailureReason.NO_MEDIA, f"unusable SDP answer: {exc}",
                                       setup, measured=m)
        media.start((negotiated.remote_address, negotiated.remote_port),
                    (negotiated.remote_rtcp_address, negotiated.remote_rtcp_port),
                    law=negotiated.law, payload_type=negotiated.payload_type,
                    duration=s.duration, ptime=negotiated.ptime / 1000)
        media_from = loop.time()
        end = min(media_from + s.duration, deadline - s.hangup_wait)
        dropped: str | None = None
        for _ in range(int(s.duration / TICK) + 100):  # bounded; each pass waits <= TICK
            now = loop.time()
            if now >= end or not media.sending:
                break
            if call.remote_bye is not None:
                dropped = f"far end hung up after {call.remote_bye - answered.time:.1f} s of media"
                break
            last = media.last_rx_at
            if last is not None and now - last >= s.media_timeout:
                dropped = f"media stopped {now - answered.time:.1f} s into the call"
                break
            await call.wait_until(None, min(end, now + TICK))
        media.stop()
        if dropped is None:
            await asyncio.sleep(min(0.1, max(0.0, deadline - loop.time())))  # echo tail
        report = media.report()
        m = self._media_figures(report, answered.time, m)
        await self._hangup(call, deadline)
        if dropped is not None and call.remote_bye is not None:
            return ProbeResult.failure(FailureReason.DROPPED, dropped, setup, measured=m)
        if dropped is not None:  # a gap in what our loop read: judged only if we kept up
            return self._judged(ProbeResult.failure(FailureReason.DROPPED, dropped, setup,
                                                    measured=m), media_from, s.media_timeout)
        return self._judged(self._verdict(report, setup, m), media_from, s.media_timeout)

    def _judged(self, result: ProbeResult, since: float, budget: float) -> ProbeResult:
        """A failure that rests on timers or on RTP our loop read: if our loop lagged
        meanwhile (probes/timing.py), the silence may be ours, so it is not judged."""
        if result.ok or result.inconclusive:
            return result
        late = self._transports.watch.lateness_since(since)
        if late <= tolerance(budget):
            return result
        return ProbeResult.not_judged(f"not judged: {result.detail}, but our daemon lagged"
                                      f" {late:.2f} s meanwhile (overloaded)", result.latency,
                                      result.measured)

    async def _hangup(self, call: _Call, deadline: float) -> None:
        dialog, loop = call.dialog, call.loop
        if dialog is None or dialog.state is not CallState.CONFIRMED:
            return
        dialog.hangup(loop.time())
        call._pump()
        until = min(deadline, loop.time() + self.settings.hangup_wait)
        for _ in range(100):  # bounded: each pass waits for an event or `until`
            if call.ended is not None or loop.time() >= until or call.transport_error:
                break
            await call.wait_until(None, until)

    def _media_figures(self, r: MediaReport, answered_at: float,
                       m: CallMeasured) -> CallMeasured:
        s = self.settings
        rtt = r.rtt
        m = replace(m, tx_packets=r.tx_packets, rtt_seconds=rtt,
                    answer_to_media_seconds=None if r.first_rx_at is None
                    else max(0.0, r.first_rx_at - answered_at))
        if r.pacing_p99 is not None and r.pacing_p50 is not None:
            m = replace(m, pacing_error_p50_seconds=r.pacing_p50,
                        pacing_error_p99_seconds=r.pacing_p99)
        ratings: list[Rating] = []
        if r.rx is not None and r.rx.valid:
            rx = rate_direction(r.rx, rtt, s.plc, s.min_jitter_buffer)
            m = replace(m, rx_packets=r.rx.received, rx_lost=r.rx.lost,
                        rx_loss_ratio=r.rx.loss_fraction, rx_jitter_seconds=r.rx.jitter_seconds,
                        rx_burst_ratio=r.rx.burst_ratio, mos_rx=rx.mos)
            ratings.append(rx)
        else:
            m = replace(m, rx_packets=0)
        if r.tx_loss is not None and r.tx_jitter is not None:
            jitter_buffer = max(s.min_jitter_buffer, 2 * r.tx_jitter)
            tx = rate(EModelInput.voip(one_way_delay=one_way_delay(rtt or 0.0, jitter_buffer),
                                       packet_loss=min(1.0, r.tx_loss), plc=s.plc))
            m = replace(m, tx_loss_ratio=r.tx_loss, tx_jitter_seconds=r.tx_jitter, mos_tx=tx.mos)
            ratings.append(tx)
        if ratings:
            worst = min(ratings, key=lambda x: x.r)  # the caller hears the worse direction
            m = replace(m, mos=worst.mos, r_factor=worst.r)
        return m

    @staticmethod
    def _verdict(r: MediaReport, setup: float, m: CallMeasured) -> ProbeResult:
        received = m.rx_packets or 0
        peer_hears_us = r.tx_loss is not None and r.tx_loss < 0.99
        if received == 0 and peer_hears_us:
            return ProbeResult.failure(
                FailureReason.ONE_WAY_AUDIO,
                "the far end receives our RTP (per its RTCP) but sends none back",
                setup, measured=m)
        if received == 0:
            return ProbeResult.failure(
                FailureReason.NO_MEDIA, f"no RTP received from the far end in {r.tx_packets} "
                "packet times", setup, measured=m)
        if r.tx_loss is not None and r.tx_loss >= 0.99:
            return ProbeResult.failure(
                FailureReason.ONE_WAY_AUDIO,
                "we receive RTP, but the far end reports receiving none of ours",
                setup, measured=m)
        mos = m.mos
        detail = f"answered in {setup * 1000:.0f} ms" + (f", MOS {mos:.2f}" if mos else "")
        return ProbeResult.success(setup, detail, m)
