"""RFC 3263 §4.3 failover for OPTIONS and REGISTER over loopback sockets.

DNS is a fake `Locator` (the records -> addresses rules are tested in
test_sip_dns.py); the SIP peers are real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from probes.base import FailureReason
from probes.errors import DnsQueryError
from probes.sip.dns import Resolution, ResolvedTarget
from probes.sip.failover import attempt_deadline
from probes.sip.options import OptionsSettings, SipOptionsProbe
from probes.sip.register import SipRegisterProbe
from probes.sip.responder import Responder
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from tests.unit.sip.test_sip_register import FakeRegistrar, serve, settings


class FakeLocator:
    def __init__(self, *ports: int, error: str | None = None) -> None:
        self.targets = tuple(ResolvedTarget("udp", "127.0.0.1", p, socket.AF_INET,
                                            f"_sip._udp.pbx.test SRV {10 * (i + 1)}/0 -> sbc{i}")
                             for i, p in enumerate(ports))
        self.error = error
        self.calls = 0

    async def resolve(self, uri: SipUri) -> Resolution:
        self.calls += 1
        if self.error:
            raise DnsQueryError(self.error)
        return Resolution(self.targets, ("NAPTR pbx.test: none",))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A bound UDP socket that never answers: every request to it times out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def options(transports: SipTransports, locator: FakeLocator, timeout: float = 2.0):  # type: ignore[no-untyped-def]
    probe = SipOptionsProbe(OptionsSettings(SipUri.parse("sip:pbx.test")), transports, locator)
    return await probe.run(asyncio.get_running_loop().time() + timeout)


def test_attempt_deadline_shares_what_is_left() -> None:
    assert attempt_deadline(10.0, 13.0, 1) == 13.0
    assert attempt_deadline(10.0, 13.0, 2) == 11.5
    assert attempt_deadline(10.0, 13.0, 3) == 11.0
    assert attempt_deadline(12.0, 13.0, 0) == 13.0


async def test_preferred_target_answers(transports: SipTransports, responder: Responder,
                                        silent_port: int) -> None:
    result = await options(transports, FakeLocator(responder.port, silent_port))
    assert result.ok, result.detail
    assert result.detail == (f"SIP 200 OK [via 127.0.0.1:{responder.port}/udp"
                             " (_sip._udp.pbx.test SRV 10/0 -> sbc0)]")
    assert result.measurements["sip_target_index"] == 0
    assert result.measurements["sip_failover_attempts"] == 0
    assert result.measurements["sip_target_port"] == responder.port


async def test_timeout_fails_over_within_the_deadline(
    transports: SipTransports, responder: Responder, silent_port: int,
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await options(transports, FakeLocator(silent_port, responder.port), timeout=2.0)
    assert result.ok, result.detail
    assert 0.9 < loop.time() - started < 2.0  # the first target had half of the 2 s
    assert f"via 127.0.0.1:{responder.port}/udp" in result.detail
    assert f"failed over from 127.0.0.1:{silent_port}/udp (timeout)" in result.detail
    assert result.measurements["sip_target_index"] == 1
    assert result.measurements["sip_failover_attempts"] == 1


async def test_refused_fails_over_at_once(transports: SipTransports, responder: Responder) -> None:
    dead = closed_port()
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await options(transports, FakeLocator(dead, responder.port))
    assert result.ok, result.detail
    assert loop.time() - started < 0.5
    assert f"127.0.0.1:{dead}/udp (refused)" in result.detail


async def test_all_targets_failing_names_each(transports: SipTransports, silent_port: int) -> None:
    dead = closed_port()
    result = await options(transports, FakeLocator(silent_port, dead), timeout=1.0)
    assert result.reason is FailureReason.TIMEOUT  # the preferred target's reason
    assert result.detail.startswith(f"127.0.0.1:{silent_port}/udp: no final response")
    assert f"; 127.0.0.1:{dead}/udp: ICMP port unreachable" in result.detail
    assert result.measurements["sip_failover_attempts"] == 2
    assert "sip_target_index" not in result.measurements


async def test_dns_failures(transports: SipTransports) -> None:
    empty = await options(transports, FakeLocator())
    assert empty.reason is FailureReason.DNS
    assert empty.detail == "no SIP server found for pbx.test (NAPTR pbx.test: none)"
    broken = await options(transports, FakeLocator(error="DNS timeout: NAPTR pbx.test at x"))
    assert broken.reason is FailureReason.DNS and broken.detail == "DNS timeout: NAPTR pbx.test at x"


async def test_register_fails_over_then_stays_on_the_registrar(
    transports: SipTransports, silent_port: int,
) -> None:
    reg = FakeRegistrar()
    server, port = await serve(reg)
    try:
        locator = FakeLocator(silent_port, port)
        probe = SipRegisterProbe(settings(target=SipUri.parse("sip:alice@pbx.test")), transports,
                                 locator)
        result = await probe.run(asyncio.get_running_loop().time() + 3)
        assert result.ok, result.detail
        assert "de-registered" in result.detail and not reg.bindings
        assert f"failed over from 127.0.0.1:{silent_port}/udp (timeout)" in result.detail
        # REGISTER, its challenged retry and the de-registration all reached this registrar
        assert len(reg.requests) >= 3 and locator.calls == 1
        assert all(r.uri == "sip:pbx.test" for r in reg.requests)
    finally:
        server.close()
