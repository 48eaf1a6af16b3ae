"""Call routing on the shared SIP sockets: in-dialog requests and a dialog's
responses reach the call registered for their Call-ID, and the call can send."""

from __future__ import annotations

import asyncio
import socket

import pytest

from probes.base import FailureReason
from probes.errors import ProbeFailure
from probes.sip.message import Request, Response, parse_message
from probes.sip.routing import Discard
from probes.sip.transport import NextHop, SipTransports
from probes.sip.uri import SipUri

BYE = (
    "BYE sip:monitord@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKfar1\r\n"
    "From: <sip:echo@127.0.0.1>;tag=far\r\nTo: <sip:monitord@127.0.0.1>;tag=near\r\n"
    "Call-ID: {call_id}\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n"
)
RESPONSE = (
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKinvite1\r\n"
    "From: <sip:monitord@127.0.0.1>;tag=near\r\nTo: <sip:echo@127.0.0.1>;tag=far\r\n"
    "Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
)


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[Request | Response, tuple[str, int]]] = []
        self.errors: list[tuple[FailureReason, str]] = []
        self.arrived = asyncio.Event()

    def on_message(self, message: Request | Response, source: tuple[str, int], transport: str,
                   arrival: float) -> None:
        assert transport == "udp"
        self.messages.append((message, source))
        self.arrived.set()

    def on_transport_error(self, reason: FailureReason, detail: str) -> None:
        self.errors.append((reason, detail))
        self.arrived.set()


@pytest.fixture
def peer() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2)
    return s


async def _hop(transports: SipTransports, port: int) -> NextHop:
    return await transports.next_hop(SipUri.parse(f"sip:echo@127.0.0.1:{port}"))


async def test_in_dialog_request_reaches_its_call_and_the_reply_goes_back(
    transports: SipTransports, peer: socket.socket
) -> None:
    with peer:
        port = peer.getsockname()[1]
        hop = await _hop(transports, port)
        assert (hop.local_host, hop.local_port) == ("127.0.0.1", transports.udp_port())
        call = Recorder()
        transports.register_call("call-1", call, hop)
        ours = ("127.0.0.1", transports.udp_port())
        peer.sendto(BYE.format(call_id="call-1").encode(), ours)
        peer.sendto(BYE.format(call_id="someone-else").encode(), ours)
        await asyncio.wait_for(call.arrived.wait(), 2)
        message, source = call.messages[0]
        assert isinstance(message, Request) and message.method == "BYE"
        assert source == ("127.0.0.1", port)
        await transports.send(b"SIP/2.0 200 OK\r\n\r\n", None, hop, reply_to=source)
        data = await asyncio.to_thread(peer.recv, 65535)
        assert data.startswith(b"SIP/2.0 200 OK")
        for _ in range(100):  # the stranger's BYE is counted, not delivered
            if transports.stats.discarded[Discard.STRAY_REQUEST]:
                break
            await asyncio.sleep(0.01)
        assert transports.stats.discarded[Discard.STRAY_REQUEST] == 1 and len(call.messages) == 1
        transports.unregister_call("call-1")


async def test_dialog_responses_route_by_call_id_and_requests_go_to_the_uri(
    transports: SipTransports, peer: socket.socket
) -> None:
    with peer:
        port = peer.getsockname()[1]
        hop = await _hop(transports, port)
        call = Recorder()
        transports.register_call("call-2", call, hop)
        await transports.send(b"INVITE sip:x SIP/2.0\r\n\r\n", f"sip:127.0.0.1:{port};lr", hop)
        assert (await asyncio.to_thread(peer.recv, 65535)).startswith(b"INVITE")
        peer.sendto(RESPONSE.format(call_id="call-2").encode(), ("127.0.0.1", transports.udp_port()))
        await asyncio.wait_for(call.arrived.wait(), 2)
        message = call.messages[0][0]
        assert isinstance(message, Response) and message.status == 180
        assert transports.stats.discarded[Discard.NO_TRANSACTION] == 0


async def test_icmp_unreachable_reaches_the_call(transports: SipTransports) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    hop = await _hop(transports, port)
    call = Recorder()
    transports.register_call("call-3", call, hop)
    await transports.send(b"INVITE sip:x SIP/2.0\r\n\r\n", None, hop)
    await asyncio.wait_for(call.arrived.wait(), 2)
    assert call.errors[0][0] is FailureReason.REFUSED


async def test_bad_next_hop_is_a_transport_failure(transports: SipTransports) -> None:
    hop = await _hop(transports, 5060)
    with pytest.raises(ProbeFailure) as info:
        await transports.send(b"x", "not a uri", hop)
    assert info.value.reason is FailureReason.MALFORMED
    assert parse_message(RESPONSE.format(call_id="x").encode())  # fixture sanity
