"""The `sip_call` probe: place one real call and measure what a caller lives through.

A thin asyncio adapter around three sans-IO cores: the SIP dialog
(`UacDialog`), the media session (probes/rtp/session.py, driven by
`RtpEndpoint`) and the verdict (`CallJudge`, verdict.py). Messages of our
Call-ID arrive from the shared `SipTransports`; `loop.time()` is the clock;
each core's timer is re-armed where it asks; nothing polls.

Route: a target whose host is a name is located by RFC 3263 through the
daemon's shared resolver; addresses are tried in turn (at most
`MAX_ATTEMPTS`) when one does not answer at all within its share of the
answer time, fails on the transport, or answers 503 (RFC 3261 §21.5.4, RFC
3263 §4.3: the server is overloaded, try another). Each attempt is a fresh
INVITE; set-up time counts from the first, as the caller waits through all.
Calls go over UDP, TCP or TLS (`sips:`, `;transport=tls`), like OPTIONS.

Measurements (base units, in a `CallMeasured`; export keys in parentheses):

* post-dial delay (``call_post_dial_delay_seconds``): first INVITE -> first 18x;
* set-up time (``call_setup_seconds``): first INVITE -> 200, auth rounds and
  failovers included (the voizXL KPI, "average call set-up time 2 s"); also
  the result's latency;
* the media both ways, the audio check per direction, DTMF, and the G.107
  rating (probes/quality/rating.py), published as ``mos`` only with a
  measured round trip, else as ``mos_estimated``.

The verdict names what a caller would say: no answer, busy, the named
rejection, auth rejected, dropped (by whom, when), media stopped, no media,
one-way audio (which way), looped-back media, audio gaps, digits lost.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field, replace

from ..base import FailureReason, ProbeResult
from ..errors import DnsQueryError, InvalidValue, ProbeFailure, SdpError
from ..measurements import CallMeasured, SipRoute
from ..quality.audio import Signal
from ..quality.jitterbuffer import JitterBufferSettings
from ..rtp.endpoint import MediaReport, MediaSettings, RtpEndpoint
from ..rtp.g711 import Law
from ..rtp.pacer import Pacer
from ..sdp import build_offer, negotiate, parse_sdp
from ..timing import tolerance
from .call import CallAnswered, CallFailed, CallSettings, CallState, FailureCause
from .callfigures import media_figures
from .callwire import CallLeg
from .digest import Credentials
from .dns import Locator, ResolvedTarget
from .failover import MAX_ATTEMPTS
from .resolution import ip_literal
from .tls import TlsSettings
from .transport import SipTransports
from .uri import SipUri
from .verdict import CallJudge, CallOutcome, FarEnd, MediaFacts, Verdict, judge

__all__ = ["CallProbeSettings", "SipCallProbe"]

_CAUSES = {
    FailureCause.NO_ANSWER: FailureReason.NO_ANSWER,
    FailureCause.BUSY: FailureReason.BUSY,
    FailureCause.REJECTED: FailureReason.CALL_REJECTED,
    FailureCause.AUTH_REJECTED: FailureReason.AUTH,
    FailureCause.TIMEOUT: FailureReason.TIMEOUT,
}
ECHO_TAIL = 0.1  # seconds to keep listening after our last packet: the echo's last ones


@dataclass(frozen=True)
class CallProbeSettings:
    """One configured test call. Validated here so a bad config fails at load."""

    target: SipUri
    duration: float = 5.0  # seconds of test signal after the answer
    answer_timeout: float = 10.0
    codecs: tuple[Law, ...] = (Law.PCMU, Law.PCMA)
    credentials: Credentials | None = None
    from_user: str = "monitord"
    media_timeout: float = 2.0  # no RTP for this long (after some arrived): media stopped
    local_address: str | None = None  # RTP bind address; default our SIP address
    jitter_buffer: JitterBufferSettings = field(default_factory=JitterBufferSettings)
    gap_threshold: float = 0.1  # a run of missing/silent audio this long is a gap
    far_end: FarEnd = FarEnd.ANY
    dtmf: tuple[tuple[str, float], ...] = ()  # (digit, seconds after the answer)
    require_dtmf: bool = False  # the digits must come back (answer point, echo)
    hangup_wait: float = 2.0  # how long to wait for the BYE's answer
    plc: bool = True  # the listener conceals loss (G.711 Appendix I): Bpl 25.1
    tls: TlsSettings | None = None

    def __post_init__(self) -> None:
        if not self.codecs:
            raise InvalidValue("offer at least one codec (PCMU, PCMA)")
        for name in ("duration", "answer_timeout", "media_timeout", "hangup_wait",
                     "gap_threshold"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidValue(f"{name} must be a positive number of seconds, got {value!r}")
        if self.require_dtmf and not self.dtmf:
            raise InvalidValue("require_dtmf needs digits to send (dtmf)")
        for digit, offset in self.dtmf:
            if not 0 <= offset < self.duration:
                raise InvalidValue(f"DTMF digit {digit!r} at {offset:g} s is outside the"
                                   f" {self.duration:g} s of media")

    @property
    def budget(self) -> float:
        """The longest a call can take: the probe timeout must be at least this."""
        return self.answer_timeout + self.duration + self.hangup_wait + 1.0


class SipCallProbe:
    """Places one call per run over the daemon's shared SIP transports."""

    def __init__(self, settings: CallProbeSettings, transports: SipTransports,
                 resolver: Locator | None = None, pacer: Pacer | None = None) -> None:
        """`pacer`: the send timer shared by every call of the loop (probes/rtp/pacer.py);
        without one, each call's stream has a timer of its own."""
        self.settings = settings
        self._transports = transports
        self._resolver = resolver
        self._pacer = pacer

    async def run(self, deadline: float) -> ProbeResult:
        s, loop = self.settings, asyncio.get_running_loop()
        started = loop.time()
        targets: list[ResolvedTarget | None] = [None]
        route: SipRoute | None = None
        if self._resolver is not None and ip_literal(s.target.host) is None:
            try:
                async with asyncio.timeout_at(deadline):
                    resolution = await self._resolver.resolve(s.target)
            except DnsQueryError as exc:
                return ProbeResult.failure(FailureReason.DNS, exc.detail)
            except TimeoutError:
                return ProbeResult.failure(FailureReason.TIMEOUT, f"DNS resolution of"
                                           f" {s.target.host} did not finish by the deadline")
            if not resolution.targets:
                return ProbeResult.failure(FailureReason.DNS,
                                           resolution.describe_empty(s.target.host))
            targets = list(resolution.targets[:MAX_ATTEMPTS])
            route = SipRoute(dns_targets=len(resolution.targets), failover_attempts=0,
                             dns_seconds=loop.time() - started)
        media = RtpEndpoint(pacer=self._pacer)
        failed: list[tuple[str, str]] = []
        first_invite: float | None = None
        try:
            for i, via in enumerate(targets):
                try:
                    hop = await self._transports.next_hop(s.target, tls=s.tls, via=via)
                except ProbeFailure as exc:
                    failed.append((str(via or s.target.host), exc.detail))
                    if i + 1 < len(targets):
                        continue
                    return ProbeResult.failure(exc.reason, _tried(failed), measured=_routed(
                        CallMeasured(), route, failed, via, targets))
                if media.rtp_port == 0:
                    await media.open(s.local_address or hop.local_host)
                leg = CallLeg(CallSettings(
                    target=s.target, local_host=hop.local_host, local_port=hop.local_port,
                    transport=hop.wire, from_user=s.from_user,
                    credentials=s.credentials,
                    answer_timeout=s.answer_timeout), self._transports, hop)
                untried = len(targets) - i
                attempt = await self._attempt(leg, media, deadline, first_invite, untried)
                first_invite = first_invite if first_invite is not None else leg.started
                if attempt is None:  # try the next address
                    failed.append((str(via or hop.dest), leg.failover_detail))
                    await leg.close()
                    continue
                result = attempt
                m = result.measured
                if isinstance(m, CallMeasured) and route is not None:
                    result = replace(result, measured=_routed(m, route, failed, via, targets),
                                     detail=result.detail + _evidence(via, failed))
                await leg.close()
                return result
            return ProbeResult.failure(FailureReason.CALL_REJECTED if any(
                "503" in d for _, d in failed) else FailureReason.TIMEOUT, _tried(failed),
                measured=_routed(CallMeasured(), route, failed, None, targets))
        finally:
            await media.close()

    async def _attempt(self, leg: CallLeg, media: RtpEndpoint, deadline: float,
                       first_invite: float | None, untried: int) -> ProbeResult | None:
        """One INVITE to one address; None when the next address should be tried."""
        s, loop = self.settings, asyncio.get_running_loop()
        address = s.local_address or leg.hop.local_host
        offer_sd = build_offer(address, media.rtp_port, session_id=str(random.getrandbits(48)),
                               laws=s.codecs)
        leg.start(offer_sd.serialize().encode())
        started = first_invite if first_invite is not None else leg.started
        judge_ = CallJudge(duration=s.duration, media_timeout=s.media_timeout)
        leg.on_event = judge_.sip_event
        m = CallMeasured()

        # 1. Set-up: until answered, failed, a transport error or the deadline. An address
        # that says nothing at all within its share of the answer time is given up on.
        share = s.answer_timeout / max(1, untried) if untried > 1 else math.inf
        give_up = min(deadline, leg.started + share)
        for _ in range(10_000):  # bounded: each pass waits for an event
            now = loop.time()
            if leg.answered or leg.failed or leg.transport_error or now >= deadline:
                break
            if untried > 1 and not leg.responded and now >= give_up:
                leg.failover_detail = f"no response within {share:.1f} s"
                leg.hangup()
                return None
            await leg.wait(min(deadline, give_up) if untried > 1 and not leg.responded
                           else deadline)
        if leg.first_18x is not None:
            m = replace(m, post_dial_delay_seconds=leg.first_18x - started)
        if leg.failed is not None:
            return self._setup_failed(leg, leg.failed, m, started, deadline, untried)
        if leg.transport_error is not None:
            if untried > 1:
                leg.failover_detail = leg.transport_error[1]
                return None
            return ProbeResult.failure(*leg.transport_error, measured=m)
        answered = leg.answered
        if answered is None:
            if leg.dialog is not None and leg.dialog.state in (CallState.CALLING,
                                                               CallState.EARLY):
                leg.hangup()  # CANCEL (once a 1xx came, §9.1)
            return self._judged(ProbeResult.failure(
                FailureReason.TIMEOUT, "no answer before the probe deadline", measured=m),
                started, deadline - started)
        setup = answered.time - started
        m = replace(m, status=answered.response.status, setup_seconds=setup,
                    auth_setup_seconds=None if leg.auth_invite_at is None
                    else answered.time - leg.auth_invite_at)
        return await self._media_phase(leg, media, offer_sd, answered, judge_, m, deadline)

    def _setup_failed(self, leg: CallLeg, f: CallFailed, m: CallMeasured, started: float,
                      deadline: float, untried: int) -> ProbeResult | None:
        m = replace(m, status=f.status, outcome=CallOutcome.REJECTED.value)
        detail = f.detail
        if f.status is not None and not detail.startswith(str(f.status)):
            detail = f"{f.status} {detail}"
        detail = f"SIP {detail}" if f.status is not None else detail
        if untried > 1 and (f.status == 503 or f.cause is FailureCause.TIMEOUT):
            leg.failover_detail = detail  # overloaded or silent: the next address may answer
            return None
        reason = _CAUSES[f.cause]
        if f.status == 403 and leg.auth_invite_at is not None:
            # Forbidden in answer to our credentials: they were refused.
            reason, detail = FailureReason.AUTH, f"{detail} (after our credentials)"
        failed = ProbeResult.failure(reason, detail, measured=m)
        if f.cause in (FailureCause.NO_ANSWER, FailureCause.TIMEOUT):  # timers ran out
            return self._judged(failed, started, deadline - started)
        return failed

    async def _media_phase(self, leg: CallLeg, media: RtpEndpoint, offer_sd: object,
                           answered: CallAnswered, judge_: CallJudge, m: CallMeasured,
                           deadline: float) -> ProbeResult:
        s, loop = self.settings, asyncio.get_running_loop()
        setup = m.setup_seconds
        try:
            negotiated = negotiate(offer_sd,  # type: ignore[arg-type]
                                   parse_sdp(answered.sdp.decode("utf-8", "replace")))
        except SdpError as exc:
            await self._hangup(leg, deadline)
            return ProbeResult.failure(FailureReason.NO_MEDIA, f"unusable SDP answer: {exc}",
                                       setup, measured=replace(
                                           m, outcome=CallOutcome.NO_MEDIA.value))
        dtmf = s.dtmf if negotiated.telephone_event is not None else ()
        media.start(
            (negotiated.remote_address, negotiated.remote_port),
            (negotiated.remote_rtcp_address, negotiated.remote_rtcp_port),
            MediaSettings(law=negotiated.law, payload_type=negotiated.payload_type,
                          duration=s.duration, ptime=negotiated.ptime / 1000,
                          signal=Signal.CALLER, telephone_event=negotiated.telephone_event,
                          dtmf=dtmf, jitter_buffer=s.jitter_buffer,
                          gap_seconds=s.gap_threshold))
        media_from = loop.time()
        judge_.media_started(media_from)
        hard_end = deadline - s.hangup_wait
        for _ in range(100_000):  # bounded: each pass waits for an event or a core's timer
            now = loop.time()
            if judge_.done or now >= hard_end:
                break
            if leg.transport_error is not None:
                judge_.transport_failed(now, leg.transport_error[1])
                break
            when = judge_.get_timer(media.last_rx_at, now)
            await leg.wait(min(hard_end, when if when is not None else hard_end))
            media.drain()  # what is queued already arrived: silence must be the far end's
            judge_.handle_timer(loop.time(), media.last_rx_at)
        media.stop()
        if judge_.ended is None:
            await asyncio.sleep(min(ECHO_TAIL, max(0.0, deadline - loop.time())))
        report = media.report()
        m = media_figures(report, answered.time, m, s.plc, s.jitter_buffer.nominal)
        if not dtmf and s.dtmf:
            m = replace(m, dtmf_sent="".join(d for d, _ in s.dtmf), dtmf_received="")
        await self._hangup(leg, deadline)
        verdict = judge(judge_.ended, _facts(report, s, dtmf != ()))
        m = replace(m, outcome=verdict.outcome.value,
                    direction=None if verdict.direction is None else verdict.direction.value,
                    dropped_by=verdict.dropped_by, dropped_after_seconds=verdict.at)
        result = _result(verdict, setup, m)
        if verdict.dropped_by == "far_end":
            return result  # a BYE is the far end's word, whatever our loop did
        return self._judged(result, media_from, s.media_timeout)

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

    async def _hangup(self, leg: CallLeg, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if leg.dialog is None or leg.dialog.state is not CallState.CONFIRMED:
            return
        leg.hangup()
        until = min(deadline, loop.time() + self.settings.hangup_wait)
        for _ in range(100):  # bounded: each pass waits for an event or `until`
            if leg.ended is not None or loop.time() >= until or leg.transport_error:
                break
            await leg.wait(until)


def _facts(r: MediaReport, s: CallProbeSettings, dtmf_sent: bool) -> MediaFacts:
    rx = r.rx
    peer = r.peer
    tx_loss = None
    block = peer.last_block
    if block is not None and r.tx_packets:
        tx_loss = max(0, block.cumulative_lost) / max(1, r.tx_packets)
    return MediaFacts(
        tx_packets=r.tx_packets, rx_packets=0 if rx is None else rx.stats.received,
        rx_audio=None if rx is None else rx.audio, peer_reports=peer.peer_reports,
        reports_about_us=peer.reports_about_us, tx_loss=tx_loss,
        tx_audio=None if peer.audio is None else peer.audio.figures,
        own_returned=r.own_ssrc_received, far_end=s.far_end,
        digits_sent=r.digits_sent, digits_received="" if rx is None else rx.digits,
        require_digits=(s.require_dtmf and dtmf_sent) or s.require_dtmf,
    )


def _result(v: Verdict, setup: float | None, m: CallMeasured) -> ProbeResult:
    reason = v.reason
    if reason is not None:
        return ProbeResult.failure(reason, v.detail, setup, measured=m)
    parts = [f"answered in {(setup or 0) * 1000:.0f} ms"]
    if m.mos is not None:
        parts.append(f"MOS {m.mos:.2f}")
    elif m.mos_estimated is not None:
        parts.append(f"MOS <= {m.mos_estimated:.2f} (estimated: no round trip measured)")
    if m.audio_rx is not None:
        parts.append(f"audio received: {m.audio_rx.signal}")
    if m.dtmf_sent:
        parts.append(f"DTMF {m.dtmf_sent!r} -> {m.dtmf_received!r}")
    return ProbeResult.success(setup, ", ".join(parts), m)


def _tried(failed: list[tuple[str, str]]) -> str:
    return "; ".join(f"{where}: {detail}" for where, detail in failed) or "no address answered"


def _evidence(via: ResolvedTarget | None, failed: list[tuple[str, str]]) -> str:
    if via is None:
        return ""
    out = f" [via {via} ({via.how})"
    if failed:
        out += "; failed over from " + ", ".join(f"{w} ({d})" for w, d in failed)
    return out + "]"


def _routed(m: CallMeasured, route: SipRoute | None, failed: list[tuple[str, str]],
            used: ResolvedTarget | None, targets: list[ResolvedTarget | None]) -> CallMeasured:
    """The call's measurements with how RFC 3263 and failover went (None: an IP literal)."""
    if route is None:
        return m
    return replace(m, route=replace(
        route, failover_attempts=len(failed),
        target_index=None if used is None else targets.index(used),
        target_port=None if used is None else used.port))
