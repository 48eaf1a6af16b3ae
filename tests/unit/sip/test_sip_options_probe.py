"""SipOptionsProbe over real loopback sockets, against our own responder and fake peers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from probes.base import FailureReason
from probes.sip.dns import Resolution
from probes.sip.message import Request, parse_message
from probes.sip.options import OptionsSettings, SipOptionsProbe, probe_once
from probes.sip.responder import Responder, start_responder
from probes.sip.routing import Discard
from probes.sip.transport import SipTransports
from probes.sip.uas import build_response
from probes.sip.uri import SipUri
from tests.needs import missing


def closed_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(transports: SipTransports, uri: str, timeout: float = 2.0, **kw: object):  # type: ignore[no-untyped-def]
    settings = OptionsSettings(SipUri.parse(uri), **kw)  # type: ignore[arg-type]
    deadline = asyncio.get_running_loop().time() + timeout
    return await SipOptionsProbe(settings, transports).run(deadline)


class FakePeer(asyncio.DatagramProtocol):
    """A UDP peer whose reply to each request is decided by the test."""

    def __init__(self, reply: Callable[[Request], list[bytes]]) -> None:
        self.reply = reply
        self.received: list[Request] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = parse_message(data)
        assert isinstance(request, Request)
        self.received.append(request)
        assert self.transport is not None
        for out in self.reply(request):
            self.transport.sendto(out, addr)


@pytest.fixture
async def fake_peer() -> AsyncIterator[Callable[[Callable[[Request], list[bytes]]], FakePeer]]:
    loop = asyncio.get_running_loop()
    made: list[asyncio.DatagramTransport] = []
    peers: list[FakePeer] = []

    async def make(reply: Callable[[Request], list[bytes]]) -> FakePeer:
        transport, peer = await loop.create_datagram_endpoint(
            lambda: FakePeer(reply), local_addr=("127.0.0.1", 0)
        )
        made.append(transport)
        peers.append(peer)
        peer.port = transport.get_extra_info("sockname")[1]  # type: ignore[attr-defined]
        return peer

    yield make  # type: ignore[misc]
    for transport in made:
        transport.close()
    await asyncio.sleep(0)


async def test_options_over_udp(transports: SipTransports, responder: Responder) -> None:
    result = await run(transports, f"sip:ping@127.0.0.1:{responder.port}")
    assert result.ok, result.detail
    assert result.detail == "SIP 200 OK"
    assert result.latency is not None and 0 < result.latency < 1
    assert dict(result.measurements) == {"sip_status": 200.0, "sip_transmissions": 1.0}
    assert responder.answered == 1


async def test_options_over_tcp_reuses_the_connection(
    transports: SipTransports, responder: Responder
) -> None:
    uri = f"sip:127.0.0.1:{responder.port};transport=tcp"
    first = await run(transports, uri)
    second = await run(transports, uri)
    assert first.ok and second.ok, (first.detail, second.detail)
    assert transports.stats.open_streams == 1
    assert len(responder._handlers) == 1


async def test_options_over_ipv6(transports: SipTransports) -> None:
    try:
        r6 = await start_responder("::1", 0)
    except OSError as exc:
        missing(f"an IPv6 loopback (::1: {exc})", "sysctl -w net.ipv6.conf.lo.disable_ipv6=0")
    try:
        result = await run(transports, f"sip:[::1]:{r6.port}")
        assert result.ok, result.detail
    finally:
        r6.close()
        await r6.wait_closed()


async def test_refused_by_icmp_on_closed_udp_port(transports: SipTransports) -> None:
    result = await run(transports, f"sip:127.0.0.1:{closed_port(socket.SOCK_DGRAM)}")
    assert result.reason is FailureReason.REFUSED, result.detail
    assert "ICMP port unreachable" in result.detail
    assert result.measurements["sip_transmissions"] == 1


async def test_refused_by_closed_tcp_port(transports: SipTransports) -> None:
    result = await run(transports, f"sip:127.0.0.1:{closed_port(socket.SOCK_STREAM)};transport=tcp")
    assert result.reason is FailureReason.REFUSED
    assert "TCP connection to 127.0.0.1:" in result.detail and "refused" in result.detail


async def test_refusal_of_one_target_does_not_fail_another(
    transports: SipTransports, responder: Responder
) -> None:
    dead = run(transports, f"sip:127.0.0.1:{closed_port(socket.SOCK_DGRAM)}")
    alive = run(transports, f"sip:127.0.0.1:{responder.port}")
    refused, ok = await asyncio.gather(dead, alive)
    assert refused.reason is FailureReason.REFUSED
    assert ok.ok, ok.detail


async def test_icmp_errors_queued_together_each_refuse_their_own_target(
    transports: SipTransports, responder: Responder
) -> None:
    # several errors queue at once beside an answer: the socket error set with the
    # first makes our next read fail, and reading the error queue hands up all of them
    closed = [closed_port(socket.SOCK_DGRAM) for _ in range(4)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(
        run(transports, f"sip:127.0.0.1:{responder.port}", timeout=5.0),
        *(run(transports, f"sip:127.0.0.1:{port}", timeout=5.0) for port in closed))
    assert loop.time() - started < 2.5  # as the errors came, not at the deadline's drain
    assert results[0].ok, results[0].detail
    for port, result in zip(closed, results[1:], strict=True):
        assert result.reason is FailureReason.REFUSED, result.detail
        assert result.detail.endswith(f"UDP 127.0.0.1:{port}")
        assert result.latency is None and result.measurements["sip_transmissions"] == 1


async def test_timeout_at_deadline_against_a_silent_socket(transports: SipTransports) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = await run(transports, f"sip:127.0.0.1:{port}", timeout=0.8)
    assert result.reason is FailureReason.TIMEOUT
    # T1 = 0.5: sent at 0 and 0.5 s before the 0.8 s deadline.
    assert result.measurements["sip_transmissions"] == 2
    assert result.detail == "no final response after 2 transmission(s) over 0.8 s (probe deadline)"


async def test_timer_f_ends_the_transaction_before_the_deadline(transports: SipTransports) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = await run(transports, f"sip:127.0.0.1:{port}", timeout=5, t1=0.01, t2=0.04)
    assert result.reason is FailureReason.TIMEOUT
    assert "(Timer F)" in result.detail and "over 0.6 s" in result.detail
    assert result.measurements["sip_transmissions"] >= 10


async def test_status_not_accepted(transports: SipTransports, fake_peer) -> None:  # type: ignore[no-untyped-def]
    peer = await fake_peer(lambda req: [
        build_response(req, 100, "Trying").serialize(),
        build_response(req, 503, "Service Unavailable").serialize(),
    ])
    result = await run(transports, f"sip:127.0.0.1:{peer.port}")
    assert result.reason is FailureReason.STATUS
    assert result.detail == "SIP 503 Service Unavailable not in accepted codes"
    assert result.latency is not None
    assert result.measurements["sip_status"] == 503
    accepted = await run(transports, f"sip:127.0.0.1:{peer.port}", accept=frozenset({503}))
    assert accepted.ok


async def test_retransmitted_final_responses_are_absorbed(transports: SipTransports, fake_peer) -> None:  # type: ignore[no-untyped-def]
    peer = await fake_peer(lambda req: [build_response(req, 200, "OK").serialize()] * 3)
    result = await run(transports, f"sip:127.0.0.1:{peer.port}")
    assert result.ok
    await asyncio.sleep(0.05)
    discarded = transports.stats.discarded
    assert discarded[Discard.NO_TRANSACTION] == 0
    assert discarded[Discard.RETRANSMISSION] == 2


async def test_a_malformed_datagram_is_discarded_not_taken_for_an_answer(transports: SipTransports, fake_peer) -> None:  # type: ignore[no-untyped-def]
    """RFC 3261 §18.1.2: what does not parse is discarded; the transaction keeps waiting."""
    junk_only = await fake_peer(lambda req: [b"SIP/2.0 abc\r\n\r\n"])
    result = await run(transports, f"sip:127.0.0.1:{junk_only.port}", timeout=0.8)
    assert result.reason is FailureReason.TIMEOUT, result.detail
    assert transports.stats.discarded[Discard.MALFORMED] == 2  # the request and its Timer E copy
    junk_first = await fake_peer(
        lambda req: [b"\x00junk", b"SIP/2.0 abc\r\n\r\n", build_response(req, 200, "OK").serialize()])
    result = await run(transports, f"sip:127.0.0.1:{junk_first.port}")
    assert result.ok, result.detail
    assert transports.stats.discarded[Discard.MALFORMED] == 4


async def test_request_is_well_formed(transports: SipTransports, fake_peer) -> None:  # type: ignore[no-untyped-def]
    peer = await fake_peer(lambda req: [build_response(req, 200, "OK").serialize()])
    assert (await run(transports, f"sip:pbx@127.0.0.1:{peer.port}")).ok
    (req,) = peer.received
    h = req.headers
    assert req.method == "OPTIONS" and req.uri == f"sip:pbx@127.0.0.1:{peer.port}"
    assert h.get("Max-Forwards") == "70" and h.get("Accept") == "application/sdp"
    assert ";tag=" in (h.get("From") or "") and h.get("CSeq") == "1 OPTIONS"
    assert h.get("Content-Length") == "0" and h.get("Contact") and h.get("Call-ID")
    via = req.top_via
    assert via.host == "127.0.0.1" and via.port == transports.udp_port()
    assert via.has_param("rport") and (via.branch or "").startswith("z9hG4bK")


async def test_dns_failure(transports: SipTransports, monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()

    async def no_such_host(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", no_such_host)  # no real DNS traffic in tests
    result = await run(transports, "sip:pbx.example.invalid")
    assert result.reason is FailureReason.DNS
    assert "cannot resolve 'pbx.example.invalid'" in result.detail


async def test_deadline_already_passed(transports: SipTransports, responder: Responder) -> None:
    result = await run(transports, f"sip:127.0.0.1:{responder.port}", timeout=-1)
    assert result.reason is FailureReason.TIMEOUT
    assert result.measurements["sip_transmissions"] == 0


async def test_probe_once_builds_and_tears_down_its_sockets(responder: Responder) -> None:
    ok = await probe_once(f"sip:127.0.0.1:{responder.port}", timeout=2)
    assert ok.ok
    refused = await probe_once(f"sip:127.0.0.1:{responder.port}", timeout=2, accept=frozenset({404}))
    assert refused.reason is FailureReason.STATUS


async def test_settings_reject_what_cannot_work() -> None:
    assert OptionsSettings(SipUri.parse("sips:pbx.example.com")).target.transport == "tls"
    with pytest.raises(ValueError, match="final"):
        OptionsSettings(SipUri.parse("sip:pbx.example.com"), accept=frozenset({180}))


async def test_responder_survives_garbage(responder: Responder) -> None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        for junk in (b"\x00\xff garbage", b"SIP/2.0 200 OK\r\n\r\n", b"\r\n\r\n"):
            await loop.sock_sendto(s, junk, ("127.0.0.1", responder.port))
    await asyncio.sleep(0.05)
    assert responder.malformed == 2
    reader, writer = await asyncio.open_connection("127.0.0.1", responder.port)
    try:
        writer.write(b"HELLO WORLD\r\n\r\n")
        reply = await asyncio.wait_for(reader.read(), 2)  # read() to EOF: the server closes
        assert reply.startswith(b"SIP/2.0 400 Bad Request\r\n")
    finally:
        writer.close()
        await writer.wait_closed()
    assert (await probe_once(f"sip:127.0.0.1:{responder.port}", timeout=2)).ok


async def test_responder_answers_other_methods_with_501(responder: Responder) -> None:
    request = (
        b"BYE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKb\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", responder.port)
    try:
        writer.write(b"\r\n\r\n" + request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    finally:
        writer.close()
        await writer.wait_closed()
    response = parse_message(head)
    assert (response.status, response.headers.get("To")) == (501, "<sip:x@y>;tag=2")  # type: ignore[union-attr]


async def test_responder_closes_open_tcp_connections_without_loop_errors() -> None:
    """The daemon keeps a TCP connection open; stopping the responder must not log a traceback."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    try:
        responder = await start_responder("127.0.0.1", 0, ("tcp",))
        _reader, writer = await asyncio.open_connection("127.0.0.1", responder.port)
        await asyncio.sleep(0.05)
        responder.close()
        await responder.wait_closed()
        await asyncio.sleep(0.05)
        writer.close()
        await writer.wait_closed()
    finally:
        loop.set_exception_handler(previous)
    assert errors == []


@pytest.mark.parametrize(("transport", "host"), [("udp", "127.0.0.1"), ("tls", "::1")])
def test_a_request_from_the_template_is_the_built_one_but_for_its_fresh_values(
        transport: str, host: str) -> None:
    from probes.sip.message import make_branch
    from probes.sip.options import OptionsTemplate, build_options_request
    from probes.sip.transport import RequestContext

    settings = OptionsSettings(SipUri.parse("sip:pbx.example.net:5070"), from_user="noc")
    ctx0 = RequestContext(transport, host, 5062, make_branch())  # type: ignore[arg-type]
    first = build_options_request(settings, ctx0)
    template = OptionsTemplate(settings, ctx0, first)
    ctx = RequestContext(transport, host, 5062, make_branch())  # type: ignore[arg-type]
    sent = template.request(ctx)
    built = build_options_request(settings, ctx)
    fresh = ("From", "Call-ID")
    assert [(n, v) for n, v in sent.headers if n not in fresh] == \
        [(n, v) for n, v in built.headers if n not in fresh]
    assert sent.headers.get("Call-ID") != first.headers.get("Call-ID")
    assert sent.headers.get("From") != first.headers.get("From")
    # what we remember as the top Via is what our own text parses to
    reparsed = parse_message(sent.serialize())
    assert sent.top_via == reparsed.top_via and sent.top_via.branch == ctx.branch
    assert reparsed.headers == sent.headers


class NoDns:
    """A resolver an IP literal must never reach (RFC 3263 §4.2: no DNS for it)."""

    async def resolve(self, uri: SipUri) -> Resolution:
        raise AssertionError(f"DNS asked for the IP literal {uri.host}")


@pytest.mark.parametrize("peer_does", ["answers", "rejects", "refuses", "stays silent"])
async def test_an_ip_literal_is_probed_with_a_resolver_as_without_one(
    transports: SipTransports, fake_peer, peer_does: str,  # type: ignore[no-untyped-def]
) -> None:
    status = 200 if peer_does == "answers" else 503
    if peer_does in ("answers", "rejects"):
        port = (await fake_peer(lambda req: [
            build_response(req, 100, "Trying").serialize(),
            build_response(req, status, "Why").serialize()])).port
    else:
        port = closed_port(socket.SOCK_DGRAM)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with silent:
        if peer_does == "stays silent":  # bound but never answering; else nothing listens
            silent.bind(("127.0.0.1", port))
        results = []
        for resolver in (None, NoDns()):  # the daemon's probes always have a resolver
            settings = OptionsSettings(SipUri.parse(f"sip:127.0.0.1:{port}"), t1=0.2, t2=0.2)
            deadline = asyncio.get_running_loop().time() + 0.5
            result = await SipOptionsProbe(settings, transports, resolver).run(deadline)
            results.append((result.ok, result.reason, result.inconclusive, result.detail,
                            result.measurements))
    assert results[0] == results[1]
    assert results[0][0] is (peer_does == "answers"), results[0]
