"""Our SIP stack against real implementations (SIPp, kamailio) on loopback.

The unit tests prove we follow our reading of RFC 3261; these prove real
servers agree with it, in both directions: our probe against their answerers,
and SIPp's load generator against our responder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from probes.base import FailureReason
from probes.sip.options import OptionsSettings, SipOptionsProbe, probe_once
from probes.sip.responder import start_responder
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from tests.integration.peers import (
    PeerProcess,
    free_port,
    kamailio,
    require_binary,
    sipp_options_responder,
    sipp_uas,
)

pytestmark = pytest.mark.integration

PEERS = Path(__file__).parent / "peers"


def launch(peer: PeerProcess, started: list[PeerProcess]) -> PeerProcess:
    started.append(peer)
    # PeerProcess.start blocks (readiness polling); keep it off the event loop.
    peer.start()
    return peer


async def test_options_against_sipp_options_responder(
    tmp_path: Path, peers: list[PeerProcess]
) -> None:
    port = free_port()
    await asyncio.to_thread(launch, sipp_options_responder(port, tmp_path), peers)
    result = await probe_once(f"sip:ping@127.0.0.1:{port}", timeout=3)
    assert result.ok, result.detail
    assert result.measurements["sip_status"] == 200
    assert result.measurements["sip_transmissions"] == 1


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_options_against_sipp_uas(
    tmp_path: Path, peers: list[PeerProcess], transport: str
) -> None:
    port = free_port()
    peer = sipp_uas(port, tmp_path, transport="tcp" if transport == "tcp" else "udp")
    await asyncio.to_thread(launch, peer, peers)
    suffix = ";transport=tcp" if transport == "tcp" else ""
    transports = SipTransports()
    await transports.start()
    try:
        probe = SipOptionsProbe(OptionsSettings(SipUri.parse(f"sip:127.0.0.1:{port}{suffix}")),
                                transports)
        loop = asyncio.get_running_loop()
        # Several runs over the shared transports: TCP reuses its connection.
        for _ in range(3):
            result = await probe.run(loop.time() + 3)
            assert result.ok, f"{result.detail}\n{peer.log_tail()}"
            assert result.detail == "SIP 200 OK"
    finally:
        await transports.close()


async def test_options_against_kamailio(tmp_path: Path, peers: list[PeerProcess]) -> None:
    port = free_port()
    await asyncio.to_thread(launch, kamailio(port, tmp_path), peers)
    result = await probe_once(f"sip:127.0.0.1:{port}", timeout=3)
    assert result.ok, result.detail
    assert result.latency is not None and result.latency < 1


async def test_stopped_sipp_is_refused_via_icmp(
    tmp_path: Path, peers: list[PeerProcess]
) -> None:
    port = free_port()
    peer = await asyncio.to_thread(launch, sipp_options_responder(port, tmp_path), peers)
    transports = SipTransports()
    await transports.start()
    try:
        probe = SipOptionsProbe(OptionsSettings(SipUri.parse(f"sip:127.0.0.1:{port}")), transports)
        loop = asyncio.get_running_loop()
        assert (await probe.run(loop.time() + 3)).ok
        await asyncio.to_thread(peer.stop)
        down = await probe.run(loop.time() + 3)
        assert down.reason is FailureReason.REFUSED, down.detail
        assert down.measurements["sip_transmissions"] == 1  # no waiting for Timer F
        await asyncio.to_thread(peer.start)
        assert (await probe.run(loop.time() + 3)).ok
    finally:
        await transports.close()


async def test_sipp_load_against_our_responder(tmp_path: Path) -> None:
    sipp = require_binary("sipp")
    responder = await start_responder("127.0.0.1", 0, transports=("udp",))
    try:
        argv = [
            sipp, f"127.0.0.1:{responder.port}", "-sf", str(PEERS / "uac_options.xml"),
            "-i", "127.0.0.1", "-p", str(free_port()), "-cp", str(free_port()), "-t", "u1",
            "-m", "200", "-r", "100", "-l", "50", "-timeout", "30s", "-timeout_error",
            "-nostdin",
        ]
        log = tmp_path / "sipp-uac.log"
        with open(log, "wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL, stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                code = await asyncio.wait_for(proc.wait(), 40)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        assert code == 0, f"SIPp reported failed calls (exit {code}):\n{tail}"
        assert responder.answered >= 200
        assert responder.malformed == 0
    finally:
        responder.close()
        await responder.wait_closed()
