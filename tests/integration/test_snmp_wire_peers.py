"""SNMP polls judged on the wire, against a real snmpd: our lateness is not the agent's.

The test blocks the event loop as an overloaded daemon's own work does, at
the worst moment: right after the request left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from probes.base import FailureReason, ProbeResult
from probes.errors import SnmpError
from probes.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint
from probes.snmp.up import SnmpUpProbe
from tests.integration.peers import SNMPD_COMMUNITY, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    c = SnmpClient()
    assert c.engine is not None  # loading pysnmp's MIB view takes a second: not under test here
    try:
        yield c
    finally:
        await c.close()


def up(client: SnmpClient, port: int, retries: int = 1) -> SnmpUpProbe:
    auth = SnmpAuth("v2c", community=SNMPD_COMMUNITY)
    return SnmpUpProbe(SnmpEndpoint("127.0.0.1", port, auth, retries=retries), client)


async def run_blocked(probe: SnmpUpProbe, timeout: float, block: float) -> ProbeResult:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(probe.run(loop.time() + timeout))
    await asyncio.sleep(0.05)  # the request is on its way (and answered, if anyone listens)
    time.sleep(block)  # our loop is busy elsewhere, past the deadline
    return await task


async def test_an_answer_that_waited_in_our_socket_is_a_success(
    snmpd_port: int, client: SnmpClient
) -> None:
    probe = up(client, snmpd_port)
    result = await run_blocked(probe, timeout=0.5, block=1.0)
    assert result.ok, result.detail
    assert result.latency is not None and result.latency < 0.1  # not the 1 s we sat on it


async def test_silence_while_our_loop_lagged_is_inconclusive_and_blames_no_agent(
    client: SnmpClient,
) -> None:
    nobody = free_port()
    result = await run_blocked(up(client, nobody), timeout=1.0, block=0.5)
    assert result.inconclusive and result.reason is None, result.detail
    assert "says nothing about the agent" in result.detail
    assert "wrong" not in result.detail  # no "a wrong community looks exactly like this"


async def test_silence_on_time_is_the_agents_timeout(client: SnmpClient) -> None:
    nobody = free_port()
    result = await up(client, nobody).run(asyncio.get_running_loop().time() + 0.6)
    assert result.reason is FailureReason.TIMEOUT and not result.inconclusive
    assert "no SNMP answer from 127.0.0.1" in result.detail


async def test_an_unresolvable_agent_is_a_dns_failure(
    client: SnmpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()

    async def no_such_host(*args: object, **kwargs: object) -> list[object]:
        import socket
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", no_such_host)  # no real DNS traffic in tests
    endpoint = SnmpEndpoint("pbx.example.invalid", 161, SnmpAuth("v2c"))
    with pytest.raises(SnmpError) as info:
        await client.get(endpoint, ["1.3.6.1.2.1.1.3.0"], loop.time() + 1)
    assert info.value.reason is FailureReason.DNS
    assert "cannot resolve 'pbx.example.invalid'" in info.value.detail
