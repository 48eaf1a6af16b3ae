"""OPTIONS and REGISTER over TLS against kamailio's tls module, with a CA made here.

What a NOC gets from `sips:` targets: verification on by default (an unknown
CA fails), SNI/name checks via `server_name`, an expired or wrong-host
certificate failing with OpenSSL's own words, and the days to expiry measured.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from probes.base import FailureReason
from probes.sip.options import OptionsSettings, SipOptionsProbe
from probes.sip.register import RegisterSettings, SipRegisterProbe
from probes.sip.tls import TlsSettings
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from tests.integration.peers import (
    PeerProcess,
    _tcp_ready,
    free_port,
    kamailio,
    kamailio_tls_module,
)
from tests.integration.tlspki import ScratchCa

pytestmark = pytest.mark.integration

def kamailio_tls(workdir: Path, cert: Path, key: Path) -> tuple[PeerProcess, int]:
    """The test kamailio plus a TLS listener (kamailio-tls-modules) using cert/key."""
    kamailio_tls_module()
    udp, tls = free_port(), free_port()
    peer = kamailio(udp, workdir)
    cfg_path = Path(peer.cwd or workdir) / "kamailio.cfg"
    cfg = cfg_path.read_text()
    tls_cfg = Path(peer.cwd or workdir) / "tls.cfg"
    tls_cfg.write_text(
        f"[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
        f"private_key = {key}\ncertificate = {cert}\n\n[client:default]\nverify_certificate = no\n"
    )
    cfg = cfg.replace("disable_tcp=yes", f"enable_tls=yes\nlisten=tls:127.0.0.1:{tls}")
    cfg = cfg.replace('loadmodule "auth.so"',
                      f'loadmodule "auth.so"\nloadmodule "tls.so"\nmodparam("tls", "config", "{tls_cfg}")')
    cfg_path.write_text(cfg)
    peer.ready = _tcp_ready(tls)
    return peer, tls


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ScratchCa:
    return ScratchCa(tmp_path_factory.mktemp("pki"))


async def start(pki: ScratchCa, tmp: Path, started: list[PeerProcess], name: str,
                **kw: object) -> int:
    cert, key = pki.issue(name, ["sip.test"], **kw)  # type: ignore[arg-type]
    peer, port = kamailio_tls(tmp / name, cert, key)
    started.append(peer)
    await asyncio.to_thread(peer.start)
    return port


async def options(transports: SipTransports, uri: str, tls: TlsSettings):  # type: ignore[no-untyped-def]
    settings = OptionsSettings(SipUri.parse(uri), tls=tls)
    return await SipOptionsProbe(settings, transports).run(asyncio.get_running_loop().time() + 5)


async def test_options_and_register_over_tls(
    pki: ScratchCa, tmp_path: Path, peers: list[PeerProcess], transports: SipTransports
) -> None:
    port = await start(pki, tmp_path, peers, "good", days_valid=10)
    trust = TlsSettings(ca_file=str(pki.ca_file), server_name="sip.test")
    for uri in (f"sips:127.0.0.1:{port}", f"sip:127.0.0.1:{port};transport=tls"):
        result = await options(transports, uri, trust)
        assert result.ok, result.detail
        assert 9 < result.measurements["tls_cert_expiry_days"] <= 10
    reg = RegisterSettings(SipUri.parse(f"sips:monitor@127.0.0.1:{port}"), "secret", tls=trust)
    registered = await SipRegisterProbe(reg, transports).run(asyncio.get_running_loop().time() + 5)
    assert registered.ok, registered.detail
    assert registered.measurements["sip_deregistered"] == 1, registered.detail

    # verification is on by default: the system store does not know our CA
    untrusted = await options(transports, f"sips:127.0.0.1:{port}",
                              TlsSettings(server_name="sip.test"))
    assert untrusted.reason is FailureReason.TLS
    assert "unable to get local issuer certificate" in untrusted.detail
    wrong_host = await options(transports, f"sips:127.0.0.1:{port}",
                               TlsSettings(ca_file=str(pki.ca_file), server_name="sbc.other.test"))
    assert wrong_host.reason is FailureReason.TLS, wrong_host.detail
    assert "Hostname mismatch" in wrong_host.detail and "sbc.other.test" in wrong_host.detail


async def test_expired_certificate_fails_with_a_clear_reason(
    pki: ScratchCa, tmp_path: Path, peers: list[PeerProcess], transports: SipTransports
) -> None:
    port = await start(pki, tmp_path, peers, "expired", expired=True)
    result = await options(transports, f"sips:127.0.0.1:{port}",
                           TlsSettings(ca_file=str(pki.ca_file), server_name="sip.test"))
    assert result.reason is FailureReason.TLS
    assert "certificate has expired" in result.detail
    # without verification (lab use) the expiry is still measured, and negative
    lab = await options(transports, f"sips:127.0.0.1:{port}", TlsSettings(verify=False))
    assert lab.ok, lab.detail
    assert lab.measurements["tls_cert_expiry_days"] < 0


async def test_cli_probe_sips(
    pki: ScratchCa, tmp_path: Path, peers: list[PeerProcess]
) -> None:
    port = await start(pki, tmp_path, peers, "cli")
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "monitord", "probe", f"sips:127.0.0.1:{port}",
         "--ca-file", str(pki.ca_file), "--server-name", "sip.test"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK ")
