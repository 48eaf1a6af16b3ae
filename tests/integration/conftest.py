"""Fixtures shared by the real-peer tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.peers import (
    PeerProcess,
    free_port,
    media_port_block,
    sipp_options_responder,
    sipp_uas,
    snmpd,
)
from tests.integration.webhook import Webhook


@dataclass(frozen=True, slots=True)
class RunningPeer:
    process: PeerProcess
    port: int

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"


@pytest.fixture
def sipp_options(tmp_path: Path) -> Iterator[RunningPeer]:
    """SIPp answering OPTIONS with 200 on UDP 127.0.0.1 (free port); stop/start it for outages."""
    port = free_port()
    proc = sipp_options_responder(port, tmp_path / "sipp-options")
    proc.start()
    try:
        yield RunningPeer(proc, port)
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def snmpd_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """net-snmp snmpd on UDP 127.0.0.1 (free port), one per test module (see peers.snmpd)."""
    port = free_port()
    proc = snmpd(port, tmp_path_factory.mktemp("snmpd"))
    proc.start()
    try:
        yield port
    finally:
        proc.stop()


@pytest.fixture
def own_snmpd(tmp_path: Path) -> Iterator[tuple[PeerProcess, int]]:
    """An snmpd of the test's own (stop/start it for outages and reboots) and its port."""
    port = free_port()
    proc = snmpd(port, tmp_path / "snmpd")
    proc.start()
    try:
        yield proc, port
    finally:
        proc.stop()


@pytest.fixture
def snmp_and_sip(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """snmpd and SIPp's call answerer with RTP echo: (snmp port, sip port), for a full daemon."""
    snmp_port, sip_port = free_port(), free_port()
    agent = snmpd(snmp_port, tmp_path / "snmpd")
    sipp = sipp_uas(sip_port, tmp_path / "sipp", media_port_block())
    agent.start()
    try:
        sipp.start()
        try:
            yield snmp_port, sip_port
        finally:
            sipp.stop()
    finally:
        agent.stop()


@pytest.fixture
def daemon_dir(tmp_path: Path) -> Path:
    """A working directory for a daemon process (config, store, log)."""
    d = tmp_path / "daemon"
    d.mkdir()
    return d


@pytest.fixture
def peers() -> Iterator[list[PeerProcess]]:
    """Peers a test started (append them); each is stopped after the test."""
    started: list[PeerProcess] = []
    yield started
    for peer in started:
        peer.stop()


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    """A webhook receiver on loopback for Alertmanager's notifications."""
    hook = Webhook()
    await hook.start()
    try:
        yield hook
    finally:
        await hook.close()
