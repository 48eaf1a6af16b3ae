"""RFC 3263 against real peers: dnsmasq serves NAPTR/SRV/A for two SIPp responders.

The zone (all on loopback, TTL 1 s):

    pbx.test             NAPTR 10 50 "s" "SIP+D2U" -> _sip._udp.pbx.test
    _sip._udp.pbx.test   SRV 10 0 PORT1 sbc1.pbx.test   (preferred)
                         SRV 20 0 PORT2 sbc2.pbx.test   (backup)
    sbc1/sbc2.pbx.test   A 127.0.0.1

The probe must reach sbc1; with sbc1 stopped (ICMP refused) or silent
(timeout) it must fail over to sbc2 within the check's deadline and say so in
the detail, which is what a downtime keeps as evidence.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitord.core.checkstate import CheckMachine, Observation, Thresholds
from monitord.core.events import CheckSnapshot, DowntimeOpened
from probes.base import FailureReason, ProbeResult
from probes.sip.dns import DnsResolver
from probes.sip.options import OptionsSettings, SipOptionsProbe
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from tests.integration.peers import PeerProcess, dnsmasq, free_port, sipp_options_responder

pytestmark = pytest.mark.integration


@dataclass
class Zone:
    dns_port: int
    port1: int
    port2: int
    sbc1: PeerProcess
    sbc2: PeerProcess
    resolver: DnsResolver
    transports: SipTransports

    async def probe(self, uri: str = "sip:pbx.test", timeout: float = 3.0) -> ProbeResult:
        probe = SipOptionsProbe(OptionsSettings(SipUri.parse(uri)), self.transports, self.resolver)
        return await probe.run(asyncio.get_running_loop().time() + timeout)


@pytest.fixture
async def zone(tmp_path: Path) -> AsyncIterator[Zone]:
    dns_port, port1, port2 = free_port(), free_port(), free_port()
    server = dnsmasq(dns_port, tmp_path / "dns", [
        "--naptr-record=pbx.test,10,50,s,SIP+D2U,,_sip._udp.pbx.test",
        f"--srv-host=_sip._udp.pbx.test,sbc1.pbx.test,{port1},10,0",
        f"--srv-host=_sip._udp.pbx.test,sbc2.pbx.test,{port2},20,0",
        "--host-record=sbc1.pbx.test,127.0.0.1",
        "--host-record=sbc2.pbx.test,127.0.0.1",
    ])
    sbc1 = sipp_options_responder(port1, tmp_path / "sbc1")
    sbc2 = sipp_options_responder(port2, tmp_path / "sbc2")
    transports = SipTransports()
    try:
        server.start()
        sbc1.start()
        sbc2.start()
        await transports.start()
        yield Zone(dns_port, port1, port2, sbc1, sbc2,
                   DnsResolver([("127.0.0.1", dns_port)], timeout=1.0), transports)
    finally:
        await transports.close()
        for peer in (sbc1, sbc2, server):
            peer.stop()


async def test_preferred_sbc_answers_then_failover_is_evidence(zone: Zone) -> None:
    ok = await zone.probe()
    assert ok.ok, ok.detail
    assert f"via 127.0.0.1:{zone.port1}/udp (_sip._udp.pbx.test SRV 10/0 -> sbc1.pbx.test)" \
        in ok.detail
    assert ok.measurements["sip_target_index"] == 0
    assert ok.measurements["sip_dns_targets"] == 2

    zone.sbc1.stop()  # nothing listens: ICMP port unreachable, failover at once
    refused = await zone.probe()
    assert refused.ok, refused.detail
    assert f"via 127.0.0.1:{zone.port2}/udp" in refused.detail
    assert f"failed over from 127.0.0.1:{zone.port1}/udp (refused)" in refused.detail
    assert refused.measurements["sip_target_index"] == 1
    assert refused.measurements["sip_failover_attempts"] == 1

    # sbc1's host is alive but SIP hangs (no ICMP): a timeout after its share of the deadline
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", zone.port1))
        loop = asyncio.get_running_loop()
        started = loop.time()
        timed_out = await zone.probe(timeout=3.0)
        took = loop.time() - started
    assert timed_out.ok, timed_out.detail
    assert f"failed over from 127.0.0.1:{zone.port1}/udp (timeout)" in timed_out.detail
    assert 1.2 < took < 3.0  # half of the 3 s went to sbc1, the rest was left for sbc2


async def test_both_down_gives_a_downtime_naming_every_address(zone: Zone) -> None:
    zone.sbc1.stop()
    zone.sbc2.stop()
    failed = await zone.probe()
    assert failed.reason is FailureReason.REFUSED, failed.detail
    assert failed.detail.startswith(f"127.0.0.1:{zone.port1}/udp: ICMP port unreachable")
    assert f"; 127.0.0.1:{zone.port2}/udp: ICMP port unreachable" in failed.detail

    # The downtime keeps the first failed probe's detail: the addresses are its evidence.
    machine = CheckMachine("pbx", Thresholds(alert_after=1, down_after=2))
    snap = CheckSnapshot.initial("pbx")
    events: list[object] = []
    again = await zone.probe()  # the second failure confirms the downtime
    for result in (failed, again):
        assert result.reason is not None
        snap, new = machine.step(snap, Observation(datetime.now(UTC), False, str(result.reason),
                                                   result.detail))
        events.extend(new)
    opened = [e for e in events if isinstance(e, DowntimeOpened)]
    assert len(opened) == 1 and opened[0].detail == failed.detail
    assert opened[0].reason == "refused"


async def test_name_without_records_is_a_dns_failure(zone: Zone) -> None:
    result = await zone.probe("sip:ghost.test")
    assert result.reason is FailureReason.DNS, result.detail
    assert result.detail == (
        "no SIP server found for ghost.test (NAPTR ghost.test: none; SRV _sip._udp.ghost.test:"
        " none; SRV _sip._tcp.ghost.test: none; SRV _sips._tcp.ghost.test: none;"
        " A/AAAA ghost.test: none)")


async def test_unreachable_nameserver_is_a_dns_failure(zone: Zone) -> None:
    dead = DnsResolver([("127.0.0.1", free_port())], timeout=0.5)
    probe = SipOptionsProbe(OptionsSettings(SipUri.parse("sip:pbx.test")), zone.transports, dead)
    result = await probe.run(asyncio.get_running_loop().time() + 2.0)
    assert result.reason is FailureReason.DNS, result.detail
    assert "NAPTR pbx.test at 127.0.0.1:" in result.detail
