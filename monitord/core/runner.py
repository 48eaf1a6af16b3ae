"""The runner and the registry mapping a configured check `type` to its probe.

The runner, not the probe, owns the deadline and the common measurements: a
probe that raises is reported as an internal error (with the exception),
never allowed to take the scheduler down, and a probe that overruns its
deadline is cancelled shortly after it.

That cancellation is a safety net, not the verdict: probes judge by when
answers arrived on the wire (probes/timing.py, probes/datagrams.py) and give
up by themselves. So the net is lag-aware: when it fires while our own loop
is behind, the probe may merely be waiting for its turn to finish judging,
and it gets that turn (bounded). A probe cut off while we were behind comes
back *inconclusive* (`ProbeResult.inconclusive`), never as a timeout the
target did not cause; the pipeline must not count it as a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from monitord.config.call import SipCallCheck
from monitord.config.dns import DnsConfig
from monitord.config.load import EffectiveCheck
from monitord.config.models import CheckConfig, SipOptionsCheck
from monitord.config.register import SipRegisterCheck
from monitord.config.siptls import SipTlsConfig
from monitord.config.snmp import SNMP_CHECK_MODELS
from monitord.core.snmpbuild import snmp_probe
from probes.base import FailureReason, Probe, ProbeResult
from probes.quality.jitterbuffer import JitterBufferKind, JitterBufferSettings
from probes.rtp.g711 import Law
from probes.rtp.pacer import Pacer
from probes.sip.callprobe import CallProbeSettings, SipCallProbe
from probes.sip.digest import Credentials
from probes.sip.dns import DnsResolver
from probes.sip.options import OptionsSettings, SipOptionsProbe
from probes.sip.register import RegisterSettings, SipRegisterProbe
from probes.sip.tls import TlsSettings
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from probes.sip.verdict import FarEnd
from probes.snmp.client import SnmpClient
from probes.timerheap import Entry, LoopTimers
from probes.timing import tolerance

log = structlog.get_logger("monitord.core.runner")

# Extra time after the deadline before the runner cancels a probe that did not
# give up by itself; the probe's own timeout result (with its detail) wins.
DEADLINE_GRACE = 0.05
# How often the net looks again because our loop was behind when it looked.
NET_EXTENSIONS = 20


@dataclass
class ProbeContext:
    """Shared, daemon-wide resources probes may use (one SIP socket for all targets).

    `snmp` is one SnmpEngine for every SNMP check; it opens its socket on first
    use, so a context built without SNMP checks costs nothing. Whoever builds
    the context closes it (the daemon does, after the scheduler drained).
    `dns` locates SIP targets (RFC 3263) for OPTIONS, REGISTER and calls; one for all
    checks so its TTL cache is shared. It holds no sockets between queries.
    `pacer` is the one RTP send timer of every call in flight (probes/rtp/pacer.py).
    `nets` holds the runner's safety nets, one loop timer for all (probes/timerheap.py).
    """

    sip: SipTransports
    snmp: SnmpClient = field(default_factory=SnmpClient)
    dns: DnsResolver = field(default_factory=DnsResolver)
    pacer: Pacer = field(default_factory=Pacer)
    nets: LoopTimers[_SafetyNet] = field(default_factory=lambda: safety_nets())


def _sip_options(check: CheckConfig, ctx: ProbeContext) -> Probe:
    assert isinstance(check, SipOptionsCheck)  # the registry is keyed by `type`
    settings = OptionsSettings(
        target=SipUri.parse(check.target), accept=check.accept_codes, from_user=check.from_user,
        tls=tls_settings(check.tls),
    )
    return SipOptionsProbe(settings, ctx.sip, ctx.dns)


def _sip_register(check: CheckConfig, ctx: ProbeContext) -> Probe:
    assert isinstance(check, SipRegisterCheck)
    settings = RegisterSettings(
        target=SipUri.parse(check.target), password=check.password_file.get(),
        username=check.username, domain=check.domain, expires=check.expires,
        deregister=check.deregister, tls=tls_settings(check.tls),
    )
    return SipRegisterProbe(settings, ctx.sip, ctx.dns)


def _sip_call(check: CheckConfig, ctx: ProbeContext) -> Probe:
    assert isinstance(check, SipCallCheck)
    credentials = None
    if check.auth_user is not None and check.password_file is not None:
        credentials = Credentials(check.auth_user, check.password_file.get())
    settings = CallProbeSettings(
        target=SipUri.parse(check.target), duration=check.duration,
        answer_timeout=check.answer_timeout, media_timeout=check.media_timeout,
        codecs=(Law(check.codec),) if check.codec else (Law.PCMU, Law.PCMA),
        credentials=credentials, from_user=check.from_user, local_address=check.local_address,
        jitter_buffer=JitterBufferSettings(
            JitterBufferKind(check.jitter_buffer.type), check.jitter_buffer.nominal,
            check.jitter_buffer.minimum, check.jitter_buffer.maximum),
        gap_threshold=check.gap_threshold, far_end=FarEnd(check.far_end),
        dtmf=() if check.dtmf is None else check.dtmf.schedule(),
        require_dtmf=check.dtmf is not None and check.dtmf.require_round_trip,
        tls=tls_settings(check.tls),
    )
    return SipCallProbe(settings, ctx.sip, ctx.dns, ctx.pacer)


def dns_resolver(cfg: DnsConfig) -> DnsResolver:
    """The daemon's resolver from `daemon.dns` (empty nameservers: the system's)."""
    return DnsResolver(cfg.addresses, timeout=cfg.timeout)


def tls_settings(cfg: SipTlsConfig) -> TlsSettings:
    return TlsSettings(ca_file=cfg.ca_file, verify=cfg.verify, server_name=cfg.server_name)


PROBE_FACTORIES: dict[str, Callable[[CheckConfig, ProbeContext], Probe]] = {
    "sip_options": _sip_options,
    "sip_register": _sip_register,
    "sip_call": _sip_call,
    **{kind: (lambda check, ctx: snmp_probe(check, ctx.snmp)) for kind in SNMP_CHECK_MODELS},
}


def build_probe(check: EffectiveCheck, ctx: ProbeContext) -> Probe:
    return PROBE_FACTORIES[check.type](check.config, ctx)


async def run_probe(probe: Probe, timeout: float, nets: LoopTimers[_SafetyNet] | None = None
                    ) -> tuple[datetime, ProbeResult, float]:
    """Run once with a deadline; return (wall-clock start, result, duration in seconds).

    `nets` holds the safety net's timer: the daemon passes one for all its probes
    (`safety_nets()`; probes/timerheap.py says why); without it the net gets its own.
    """
    loop = asyncio.get_running_loop()
    at = datetime.now(UTC)
    t0 = loop.time()
    deadline = t0 + timeout
    net = _SafetyNet(loop, safety_nets() if nets is None else nets, deadline, timeout)
    try:
        result = await probe.run(deadline)
    except asyncio.CancelledError:
        if not net.fired or net.uncancel():
            raise
        result = net.result()
    except Exception as exc:
        log.exception("probe_crashed", probe=type(probe).__name__)
        result = ProbeResult.failure(FailureReason.INTERNAL, f"probe error: {exc!r}")
    else:
        if net.fired:
            net.uncancel()  # the probe finished (and swallowed our cancel): its verdict stands
    finally:
        net.disarm()
    return at, result, loop.time() - t0


class _SafetyNet:
    """Cancels the running probe `DEADLINE_GRACE` after its deadline, unless the loop is
    behind: then it looks again one grace later, at most `NET_EXTENSIONS` times (a
    hung probe must still end, even on a loop that never catches up).

    The cancel itself waits one loop turn: when our loop ran a little late, the
    probe's own deadline (or its answer) and the net come due in the same turn,
    and the probe's wake-up is already queued. Cancelling then would replace the
    verdict the probe has reached with a timeout of our making."""

    __slots__ = ("_due", "_entry", "_extensions", "_loop", "_nets", "_soon", "_task",
                 "_timeout", "fired", "late")

    def __init__(self, loop: asyncio.AbstractEventLoop, nets: LoopTimers[_SafetyNet],
                 deadline: float, timeout: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._task, self._loop, self._nets, self._timeout = task, loop, nets, timeout
        self._extensions = NET_EXTENSIONS
        self.late = 0.0  # how far behind the loop was when the net looked
        self.fired = False
        self._soon: asyncio.Handle | None = None
        self._due = deadline + DEADLINE_GRACE
        self._entry: Entry | None = nets.arm(self._due, self)

    def due(self) -> None:
        """Its timer in `nets` came due."""
        self._entry = None
        self._check(self._due)

    @property
    def _tolerance(self) -> float:
        return tolerance(self._timeout)  # asked only when the net fires: rare

    def _check(self, due: float) -> None:
        now = self._loop.time()
        self.late = max(self.late, now - due)
        if now - due > self._tolerance and self._extensions > 0:
            self._extensions -= 1
            self._due = now + DEADLINE_GRACE
            self._entry = self._nets.arm(self._due, self)
            return
        self._soon = self._loop.call_soon(self._fire)

    def _fire(self) -> None:
        self._soon = None
        self.fired = True
        self._task.cancel()

    def uncancel(self) -> bool:
        """Take back our cancellation; True when someone else cancelled the task too."""
        return self._task.uncancel() > 0

    def result(self) -> ProbeResult:
        # The net looked on time, but the loop can stall before its cancel takes effect
        # (a full collection, a render holding the GIL): the probe's own answer or
        # deadline may have waited behind that stall just the same.
        self.late = max(self.late, self._loop.time() - self._due)
        if self.late > self._tolerance:
            return ProbeResult.not_judged(
                f"no result within {self._timeout:g}s, but our daemon ran {self.late:.2f} s behind"
                " meanwhile (overloaded): this says nothing about the target")
        return ProbeResult.failure(FailureReason.TIMEOUT, f"no result within {self._timeout:g}s")

    def disarm(self) -> None:
        if self._entry is not None:
            self._nets.cancel(self._entry)
            self._entry = None
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None


def safety_nets() -> LoopTimers[_SafetyNet]:
    """One loop timer for the safety nets of many probes (`ProbeContext.nets`)."""
    return LoopTimers(_SafetyNet.due)
