"""Both ends ours: the call probe calling `monitord responder` (the real CLI process),
directly and through kamailio with 401 auth, echo and test-tone media.

What the answer point is for (issue 4 item 7): A -> platform -> B with a far end
whose behaviour we know, so what the call measures belongs to the path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from probes.sip.digest import Credentials
from probes.sip.transport import SipTransports
from tests.integration.peers import (
    PeerProcess,
    free_port,
    kamailio_call,
    udp_answers_options,
)
from tests.integration.test_call_peers import call, launch

pytestmark = pytest.mark.integration


def responder(port: int, workdir: Path, media: str) -> PeerProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "monitord", "responder", "--listen", f"127.0.0.1:{port}",
            "--transport", "udp", "--media", media, "--log-format", "json"]
    return PeerProcess(argv, name=f"responder-{port}", cwd=str(workdir),
                       ready=lambda: udp_answers_options(port))


def assert_both_ways(result_ok: bool, m: dict[str, float], peer: PeerProcess) -> None:
    assert result_ok, peer.log_tail()
    assert 0 < m["call_setup_seconds"] < 1.5
    assert m["rtp_tx_packets"] >= 50 and m["rtp_rx_packets"] >= 45
    assert m["rtp_rx_loss_ratio"] == 0.0
    assert m["mos"] == pytest.approx(4.4, abs=0.05)
    assert 0 <= m["rtt_seconds"] < 0.05


@pytest.mark.parametrize("media", ["echo", "tone"])
async def test_probe_calls_our_responder_directly(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports, media: str
) -> None:
    port = free_port()
    peer = await launch(responder(port, tmp_path, media), peers)
    result = await call(transports, f"sip:echo@127.0.0.1:{port}", duration=2.5)
    assert_both_ways(result.ok, dict(result.measurements), peer)
    if media == "tone":  # a far end that reports on our stream, like a phone
        assert result.measurements["rtp_tx_loss_ratio"] == 0.0


async def test_probe_calls_our_responder_through_kamailio_with_401(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports
) -> None:
    far, proxy = free_port(), free_port()
    peer = await launch(responder(far, tmp_path / "responder", "echo"), peers)
    await launch(kamailio_call(proxy, tmp_path / "kamailio", far), peers)
    result = await call(transports, f"sip:echo@127.0.0.1:{proxy}", duration=2.0,
                        credentials=Credentials("monitord", "secret"))
    assert_both_ways(result.ok, dict(result.measurements), peer)
    m = result.measurements
    assert 0 < m["call_auth_setup_seconds"] < m["call_setup_seconds"]
