"""Calls over the transports OPTIONS and REGISTER use: TLS, TCP, RFC 3263 and failover.

* sips: through kamailio's tls module (a CA made here) to SIPp's RTP echo;
* TCP and TLS straight to `monitord responder` (the answer point's own TLS);
* an SRV-located target (dnsmasq) whose preferred SBC, a SIPp scenario, is
  overloaded and answers 503: the call fails over to the backup SBC and
  says so in its detail and route figures.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from probes.measurements import CallMeasured
from probes.sip.callprobe import CallProbeSettings, SipCallProbe
from probes.sip.dns import DnsResolver
from probes.sip.tls import TlsSettings
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri
from probes.sip.verdict import FarEnd
from tests.integration.peers import (
    _HERE,
    PeerProcess,
    _sipp_common,
    _tcp_ready,
    dnsmasq,
    free_port,
    media_port_block,
    require_binary,
    sipp_call_uas,
    sipp_uas,
    udp_answers_options,
)
from tests.integration.test_call_peers import launch
from tests.integration.test_sip_tls_peers import kamailio_tls
from tests.integration.tlspki import ScratchCa

pytestmark = pytest.mark.integration


async def place(transports: SipTransports, settings: CallProbeSettings,
                resolver: DnsResolver | None = None):  # type: ignore[no-untyped-def]
    result = await SipCallProbe(settings, transports, resolver).run(
        asyncio.get_running_loop().time() + settings.budget)
    print(f"\n{settings.target}: ok={result.ok} reason={result.reason} {result.detail}")
    for key, value in sorted(result.measurements.items()):
        print(f"  {key} = {value:.6g}")
    return result


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ScratchCa:
    return ScratchCa(tmp_path_factory.mktemp("pki"))


async def test_tls_call_through_kamailio_to_sipp_echo(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports, pki: ScratchCa
) -> None:
    sipp_port = free_port()
    # SIPp's call scenario (not its built-in uas, whose 200 drops Record-Route): kamailio
    # record-routes TLS -> UDP, so our ACK and BYE cross it over TLS again.
    await launch(sipp_call_uas(sipp_port, tmp_path / "sipp", media_port_block()), peers)
    cert, key = pki.issue("kamailio", ["sip.test"])
    proxy, tls_port = kamailio_tls(tmp_path / "kamailio", cert, key)
    cfg = Path(proxy.cwd or tmp_path) / "kamailio.cfg"
    cfg.write_text(cfg.read_text().replace(
        'sl_send_reply("503", "No relay configured");',
        f'$du = "sip:127.0.0.1:{sipp_port}"; t_relay();'))
    await launch(proxy, peers)
    settings = CallProbeSettings(SipUri.parse(f"sips:echo@127.0.0.1:{tls_port}"), duration=2.0,
                                 far_end=FarEnd.ECHO,
                                 tls=TlsSettings(ca_file=str(pki.dir / "ca.pem"),
                                                 server_name="sip.test"))
    result = await place(transports, settings)
    m = result.measured
    assert result.ok, f"{result.detail}\n{proxy.log_tail()}"
    assert isinstance(m, CallMeasured) and m.audio_rx is not None
    assert m.audio_rx.signal == "caller" and m.rx_packets and m.rx_packets >= 90
    assert m.mos is not None and m.mos > 4.3


def tone_responder(port: int, workdir: Path, cert: Path | None = None,
                   key: Path | None = None, tls_port: int = 0) -> PeerProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "monitord", "responder", "--listen", f"127.0.0.1:{port}",
            "--transport", "udp,tcp", "--media", "tone", "--log-format", "json"]
    if cert is not None and key is not None:
        argv += ["--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", str(tls_port)]
    return PeerProcess(argv, name=f"responder-{port}", cwd=str(workdir),
                       ready=(lambda: udp_answers_options(port)) if not tls_port
                       else _tcp_ready(tls_port))


async def test_tcp_and_tls_calls_to_the_answer_point(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports, pki: ScratchCa
) -> None:
    port, tls_port = free_port(), free_port()
    cert, key = pki.issue("responder", ["answer.test"])
    await launch(tone_responder(port, tmp_path, cert, key, tls_port), peers)
    for uri, tls in ((f"sip:echo@127.0.0.1:{port};transport=tcp", None),
                     (f"sips:echo@127.0.0.1:{tls_port}",
                      TlsSettings(ca_file=str(pki.dir / "ca.pem"), server_name="answer.test"))):
        settings = CallProbeSettings(SipUri.parse(uri), duration=2.0, tls=tls,
                                     far_end=FarEnd.ANSWER_POINT, dtmf=(("7", 0.5),),
                                     require_dtmf=True)
        result = await place(transports, settings)
        m = result.measured
        assert result.ok, result.detail
        assert isinstance(m, CallMeasured) and m.audio_rx is not None
        assert m.audio_rx.signal == "answer" and m.dtmf_received == "7"


async def test_srv_located_call_fails_over_from_a_503(
    tmp_path: Path, peers: list[PeerProcess], transports: SipTransports
) -> None:
    dns_port, busy_port, good_port = free_port(), free_port(), free_port()
    await launch(dnsmasq(dns_port, tmp_path / "dns", [
        "--naptr-record=pbx.test,10,50,s,SIP+D2U,,_sip._udp.pbx.test",
        f"--srv-host=_sip._udp.pbx.test,sbc1.pbx.test,{busy_port},10,0",
        f"--srv-host=_sip._udp.pbx.test,sbc2.pbx.test,{good_port},20,0",
        "--host-record=sbc1.pbx.test,127.0.0.1",
        "--host-record=sbc2.pbx.test,127.0.0.1",
    ]), peers)
    wd = tmp_path / "busy"
    wd.mkdir()
    scenario = wd / "uas_503.xml"
    shutil.copyfile(_HERE / "uas_503.xml", scenario)
    await launch(PeerProcess([require_binary("sipp"), "-sf", str(scenario), "-aa",
                              *_sipp_common(busy_port, "u1")], name=f"sipp-503-{busy_port}",
                             cwd=str(wd), ready=lambda: udp_answers_options(busy_port)), peers)
    await launch(sipp_uas(good_port, tmp_path / "good", media_port_block()), peers)
    resolver = DnsResolver([("127.0.0.1", dns_port)], timeout=1.0)
    settings = CallProbeSettings(SipUri.parse("sip:echo@pbx.test"), duration=1.5)
    result = await place(transports, settings, resolver)
    m = result.measured
    assert result.ok, result.detail
    assert "503" in result.detail and f":{good_port}" in result.detail
    assert isinstance(m, CallMeasured) and m.route is not None
    assert (m.route.dns_targets, m.route.failover_attempts, m.route.target_index) == (2, 1, 1)
    assert m.route.target_port == good_port
    assert m.setup_seconds is not None and m.setup_seconds < 1.0
