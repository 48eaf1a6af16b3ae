"""REGISTER against kamailio as a digest registrar (usrloc in memory, password "secret").

Proves the probe logs in like a handset with MD5 and SHA-256 challenges,
leaves no binding behind when it de-registers (checked with a Contact-less
REGISTER, which lists the AOR's bindings, §10.2.3), and names a wrong
password "rejected" rather than a generic status.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from probes.base import FailureReason
from probes.sip.register import (
    RegisterSettings,
    SipRegisterProbe,
    StepKind,
    fetch_bindings,
)
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from tests.integration.peers import PeerProcess, free_port, kamailio

pytestmark = pytest.mark.integration


async def start_kamailio(tmp: Path, started: list[PeerProcess], algorithm: str | None) -> int:
    port = free_port()
    peer = kamailio(port, tmp / f"kam-{port}", auth_algorithm=algorithm)
    started.append(peer)
    await asyncio.to_thread(peer.start)
    return port


def settings(port: int, password: str = "secret", **kw: object) -> RegisterSettings:
    return RegisterSettings(SipUri.parse(f"sip:monitor@127.0.0.1:{port}"), password,
                            **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_register_and_deregister_leave_no_binding(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports, algorithm: str
) -> None:
    port = await start_kamailio(tmp_path, peers, algorithm)
    loop = asyncio.get_running_loop()
    kept = await SipRegisterProbe(settings(port, deregister=False), transports).run(
        loop.time() + 5)
    assert kept.ok, kept.detail
    assert kept.measurements["sip_auth_rounds"] == 1
    assert kept.measurements["sip_register_expires"] > 0
    listed = await fetch_bindings(settings(port), transports, loop.time() + 5)
    assert listed is not None and listed.kind is StepKind.DONE
    assert len(listed.bindings) == 1, listed.bindings

    result = await SipRegisterProbe(settings(port), transports).run(loop.time() + 5)
    assert result.ok, result.detail
    assert result.measurements["sip_deregistered"] == 1, result.detail
    assert result.latency is not None and 0 < result.latency < 2
    listed = await fetch_bindings(settings(port), transports, loop.time() + 5)
    assert listed is not None and listed.kind is StepKind.DONE
    assert listed.bindings == (), listed.bindings


async def test_wrong_password_is_rejected(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports
) -> None:
    port = await start_kamailio(tmp_path, peers, None)
    loop = asyncio.get_running_loop()
    result = await SipRegisterProbe(settings(port, "wrong"), transports).run(loop.time() + 5)
    assert result.reason is FailureReason.REJECTED, result.detail
    assert "401" in result.detail


async def test_register_cli_one_shot(tmp_path: Path, peers: list[PeerProcess]) -> None:
    port = await start_kamailio(tmp_path, peers, None)
    secret = tmp_path / "pw"
    secret.write_text("secret\n")
    secret.chmod(0o600)
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "monitord", "register", f"sip:monitor@127.0.0.1:{port}",
         "--password-file", str(secret)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK ") and "de-registered" in proc.stdout
