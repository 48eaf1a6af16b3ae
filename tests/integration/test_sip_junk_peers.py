"""Issue 12: one junk datagram must not fail a healthy target (RFC 3261 §18.1.2).

Before: a peer sending `\\x00junk` ahead of each valid 200 OK put every check
on that address DOWN with `malformed_response`, because a datagram that did
not parse failed all pending transactions of its source. Now junk is
discarded and counted, and only a parsed response ends a transaction. The
target is a real SIPp behind `JunkRelay` (the hostile part, a fake).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitord.sinks.probing import ProbingCollector
from probes.sip.options import OptionsSettings, SipOptionsProbe
from probes.sip.routing import Discard
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from tests.integration.conftest import RunningPeer
from tests.integration.daemon import DaemonProcess
from tests.integration.junkrelay import JunkRelay
from tests.integration.peers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def hostile_sipp(sipp_options: RunningPeer) -> Iterator[JunkRelay]:
    relay = JunkRelay(("127.0.0.1", sipp_options.port)).start()
    try:
        yield relay
    finally:
        relay.stop()


async def test_every_probe_succeeds_and_every_junk_datagram_is_counted(
    hostile_sipp: JunkRelay,
) -> None:
    transports = SipTransports()
    await transports.start()
    registry = CollectorRegistry()
    registry.register(ProbingCollector(sip=lambda: transports.stats))
    try:
        probes = [SipOptionsProbe(OptionsSettings(SipUri.parse(
            f"sip:check{i}@127.0.0.1:{hostile_sipp.port}")), transports) for i in range(5)]
        loop = asyncio.get_running_loop()
        results = []
        for _ in range(10):  # five checks on one address, concurrently, ten rounds
            results += await asyncio.gather(*(p.run(loop.time() + 2) for p in probes))
        failed = [r.detail for r in results if not r.ok]
        assert failed == []
        assert hostile_sipp.junk_sent == 50
        await asyncio.sleep(0.1)
        assert transports.stats.discarded[Discard.MALFORMED] == hostile_sipp.junk_sent
        assert registry.get_sample_value("monitord_sip_datagrams_discarded_total",
                                         {"reason": "malformed"}) == 50
    finally:
        await transports.close()


def test_checks_on_a_junk_sending_address_stay_up_in_the_daemon(
    hostile_sipp: JunkRelay, tmp_path: Path
) -> None:
    names = [f"sbc-{i}" for i in range(3)]
    daemon = DaemonProcess(tmp_path, free_port(), {
        "daemon": {"site": "it"},
        # strict thresholds: a single failed probe would show as DOWN
        "defaults": {"interval": "500ms", "timeout": "400ms", "down_after": 1, "alert_after": 1},
        "checks": [{"name": n, "type": "sip_options", "target": f"sip:127.0.0.1:{hostile_sipp.port}"}
                   for n in names],
    })
    try:
        daemon.start()
        daemon.wait_for("30 junk datagrams", lambda: hostile_sipp.junk_sent >= 30, timeout=20)
        metrics = daemon.get("/metrics")
        for name in names:
            check = daemon.check(name)
            assert check["state"] == "up" and check["consecutive_failures"] == 0, check
            assert check["last_result"]["ok"] is True
            failures = (f'monitord_probes_total{{check="{name}",result="failure",site="it",'
                        f'type="sip_options"}}')
            assert f"{failures} 0.0" in metrics
        assert daemon.get("/api/v1/downtimes") == []
        assert not [r for r in daemon.log_records() if r.get("reason") == "malformed_response"]
    finally:
        daemon.stop()
