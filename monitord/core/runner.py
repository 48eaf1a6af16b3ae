"""The runner and the registry mapping a configured check `type` to its probe.

The runner, not the probe, owns the deadline and the common measurements: a
probe that overruns is cancelled and reported as a timeout, and a probe that
raises is reported as an internal error (with the exception), never allowed
to take the scheduler down.
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
from probes.rtp.g711 import Law
from probes.sip.callprobe import CallProbeSettings, SipCallProbe
from probes.sip.digest import Credentials
from probes.sip.dns import DnsResolver
from probes.sip.options import OptionsSettings, SipOptionsProbe
from probes.sip.register import RegisterSettings, SipRegisterProbe
from probes.sip.tls import TlsSettings
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from probes.snmp.client import SnmpClient

log = structlog.get_logger("monitord.core.runner")

# Extra time after the deadline before the runner cancels a probe that did not
# give up by itself; the probe's own timeout result (with its detail) wins.
DEADLINE_GRACE = 0.05


@dataclass
class ProbeContext:
    """Shared, daemon-wide resources probes may use (one SIP socket for all targets).

    `snmp` is one SnmpEngine for every SNMP check; it opens its socket on first
    use, so a context built without SNMP checks costs nothing. Whoever builds
    the context closes it (the daemon does, after the scheduler drained).
    `dns` locates SIP targets (RFC 3263) for OPTIONS and REGISTER; one for all
    checks so its TTL cache is shared. It holds no sockets between queries.
    """

    sip: SipTransports
    snmp: SnmpClient = field(default_factory=SnmpClient)
    dns: DnsResolver = field(default_factory=DnsResolver)


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
    )
    return SipCallProbe(settings, ctx.sip)


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


async def run_probe(probe: Probe, timeout: float) -> tuple[datetime, ProbeResult, float]:
    """Run once with a deadline; return (wall-clock start, result, duration in seconds)."""
    loop = asyncio.get_running_loop()
    at = datetime.now(UTC)
    t0 = loop.time()
    deadline = t0 + timeout
    try:
        async with asyncio.timeout_at(deadline + DEADLINE_GRACE):
            result = await probe.run(deadline)
    except TimeoutError:
        result = ProbeResult.failure(FailureReason.TIMEOUT, f"no result within {timeout:g}s")
    except Exception as exc:
        log.exception("probe_crashed", probe=type(probe).__name__)
        result = ProbeResult.failure(FailureReason.INTERNAL, f"probe error: {exc!r}")
    return at, result, loop.time() - t0
