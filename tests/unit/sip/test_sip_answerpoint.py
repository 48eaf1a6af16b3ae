"""The responder's answer point: the SDP answer it builds, and our own call probe
calling it over loopback, with RTP echo and with a test tone (both ends ours)."""

from __future__ import annotations

import asyncio

import pytest

from probes.base import ProbeResult
from probes.errors import SdpError
from probes.rtp.g711 import Law
from probes.sdp import build_offer, parse_sdp
from probes.sip.answerpoint import answer_offer
from probes.sip.callprobe import CallProbeSettings, SipCallProbe
from probes.sip.responder import start_responder
from probes.sip.transport import SipTransports
from probes.sip.uri import SipUri


def test_answer_takes_the_first_offered_law_and_keeps_dtmf() -> None:
    offer = parse_sdp(build_offer("192.0.2.1", 4000, session_id="1",
                                  laws=(Law.PCMA, Law.PCMU)).serialize())
    a = answer_offer(offer, "192.0.2.2", 5000, "7")
    audio = a.sdp.audio
    assert audio is not None
    assert (a.law, a.payload_type, a.ptime) == (Law.PCMA, 8, 0.020)
    assert [c.name for c in audio.codecs] == ["PCMA", "telephone-event"]
    assert (a.remote_rtp, a.remote_rtcp) == (("192.0.2.1", 4000), ("192.0.2.1", 4001))
    assert (audio.port, audio.rtcp_port, audio.connection) == (5000, 5001, "192.0.2.2")
    assert parse_sdp(a.sdp.serialize()) == a.sdp  # it survives the wire


def test_answer_refuses_an_offer_without_g711() -> None:
    text = build_offer("192.0.2.1", 4000, session_id="1").serialize()
    text = text.replace("PCMU/8000", "G729/8000").replace("PCMA/8000", "GSM/8000")
    with pytest.raises(SdpError, match=r"G\.711"):
        answer_offer(parse_sdp(text), "192.0.2.2", 5000, "7")


async def _call(transports: SipTransports, port: int, **kw: object) -> ProbeResult:
    settings = CallProbeSettings(SipUri.parse(f"sip:echo@127.0.0.1:{port}"), **kw)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    return await SipCallProbe(settings, transports).run(loop.time() + settings.budget)


@pytest.mark.parametrize("media", ["echo", "tone"])
async def test_our_probe_calls_our_responder(transports: SipTransports, media: str) -> None:
    responder = await start_responder("127.0.0.1", 0, ("udp",), media=media)  # type: ignore[arg-type]
    try:
        # tone: RTCP goes both ways each second, so an RTT from LSR/DLSR needs ~2 s
        result = await _call(transports, responder.port, duration=1.2 if media == "echo" else 2.5)
        m = result.measurements
        assert result.ok, result.detail
        assert m["rtp_tx_packets"] >= 50 and m["rtp_rx_packets"] >= 40
        assert m["rtp_rx_loss_ratio"] == 0.0
        assert m["mos"] > 4.3
        assert m["rtt_seconds"] < 0.05
        if media == "tone":  # a real far end: it reports on our stream in RTCP
            assert m["rtp_tx_loss_ratio"] == 0.0
        assert responder.calls is not None and responder.calls.answered == 1
    finally:
        responder.close()
        await responder.wait_closed()


async def test_calls_beyond_the_limit_are_busy(transports: SipTransports) -> None:
    responder = await start_responder("127.0.0.1", 0, ("udp",), media="echo", max_calls=1)
    try:
        first = asyncio.create_task(_call(transports, responder.port, duration=1.0))
        await asyncio.sleep(0.3)
        second = await _call(transports, responder.port, duration=1.0)
        assert second.reason is not None and second.reason.value == "busy"
        assert (await first).ok
    finally:
        responder.close()
        await responder.wait_closed()
