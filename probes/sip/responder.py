"""A tiny SIP endpoint that answers OPTIONS: the daemon's own "am I reachable" target.

Other monitors (or a peer monitord) can probe it, and our tests use it as a
known-good peer. It is stateless (§8.2.7 style): it never retransmits and keeps
nothing per request, so garbage or floods cost one parse each and nothing more.

With `media` set it also takes calls (`answerpoint.py`) over UDP, TCP and,
with a certificate, TLS: INVITE, ACK, BYE, CANCEL and the answers to its
own BYEs go to the answer point, which keeps bounded per-call state (over a
stream, on the connection the INVITE came on); everything else stays
stateless.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from collections.abc import Iterable
from typing import Literal, cast

from ..errors import InvalidValue, ProbeError, SipParseError
from .answerpoint import AnswerPoint, Media
from .message import Request, Response, StreamParser, parse_message, parse_via
from .uas import answer, response_destination

__all__ = ["Responder", "start_responder"]

log = logging.getLogger(__name__)
_BAD_REQUEST = Response(400, "Bad Request")


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: Responder) -> None:
        self._owner = owner
        self.transport: asyncio.DatagramTransport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # 3.11's selector datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip(b"\r\n") or self.transport is None:
            return  # CRLF keep-alive
        source = (str(addr[0]), int(addr[1]))
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._owner.malformed += 1
            log.debug("ignoring malformed datagram from %s: %s", source, exc)
            return
        calls = self._owner.calls
        if calls is not None and calls.wants(message):
            calls.receive(message, source)
            return
        if not isinstance(message, Request):
            return
        try:
            response = answer(message, source=source)
            if response is None:
                return
            dest = response_destination(parse_via(message.vias[0]), source)
            self.transport.sendto(response.serialize(), dest)
            self._owner.answered += 1
        except (ProbeError, OSError) as exc:
            log.debug("could not answer %s from %s: %s", message.method, source, exc)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error on responder socket: %s", exc)


class Responder:
    """A running responder; `port` is the bound UDP/TCP port (same number for both)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.port = 0
        self.answered = 0
        self.malformed = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_protocol: _UdpProtocol | None = None
        self._server: asyncio.Server | None = None
        self._tls_server: asyncio.Server | None = None
        self.tls_port = 0
        self._handlers: set[asyncio.Task[None]] = set()
        self.calls: AnswerPoint | None = None  # the answer point, when it takes calls

    def _sendto(self, data: bytes, dest: tuple[str, int]) -> None:
        if self._udp is not None and not self._udp.is_closing():
            self._udp.sendto(data, dest)

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        for server in (self._server, self._tls_server):
            if server is not None:
                server.close()
        for task in self._handlers:
            task.cancel()

    async def wait_closed(self) -> None:
        if self.calls is not None:
            await self.calls.close()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for server in (self._server, self._tls_server):
            if server is not None:
                await server.wait_closed()
        if self._udp_protocol is not None and self._udp is not None and self._udp.is_closing():
            # The socket is only closed once connection_lost ran: wait for it so a
            # probe right after close() sees ICMP unreachable, not a silent socket.
            await self._udp_protocol.lost

    async def _handle_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._handle_tcp(reader, writer, "tls")

    async def _handle_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          kind: Literal["tcp", "tls"] = "tcp") -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        peer = writer.get_extra_info("peername")
        source = (str(peer[0]), int(peer[1])) if peer else None
        parser = StreamParser()

        def send(data: bytes, dest: tuple[str, int]) -> None:
            if not writer.is_closing():
                writer.write(data)

        try:
            while data := await reader.read(65536):
                try:
                    messages = parser.feed(data)
                except SipParseError as exc:
                    # §21.4.1: the request could not be understood; the stream is
                    # out of sync, so answer 400 and drop the connection.
                    self.malformed += 1
                    log.debug("malformed TCP data from %s: %s", source, exc)
                    writer.write(_BAD_REQUEST.serialize())
                    await writer.drain()
                    break
                for message in messages:
                    calls = self.calls
                    if calls is not None and source is not None and calls.wants(message):
                        calls.receive(message, source, send, kind)
                        continue
                    if isinstance(message, Request):
                        response = answer(message, source=source)
                        if response is not None:
                            writer.write(response.serialize())
                            self.answered += 1
                await writer.drain()
        except (OSError, ProbeError) as exc:
            log.debug("TCP connection from %s ended: %s", source, exc)
        except asyncio.CancelledError:
            # close() ends open connections; return normally, because asyncio's
            # stream server (3.11) reports a handler that ends cancelled as an error.
            log.debug("TCP connection from %s closed by shutdown", source)
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()


async def start_responder(
    host: str,
    port: int,
    transports: Iterable[str] = ("udp", "tcp"),
    *,
    media: Media | None = None,
    max_calls: int = 64,
    max_call_seconds: float = 300.0,
    tls: ssl.SSLContext | None = None,
    tls_port: int = 0,
) -> Responder:
    """Bind and start answering; `port=0` picks one port free for UDP and TCP alike.

    `media` ("echo" or "tone") also answers calls (see answerpoint.py). With a
    `tls` server context, SIP over TLS is answered on `tls_port` too (0: any free port).
    """
    wanted = set(transports)
    if not wanted or wanted - {"udp", "tcp"}:
        raise InvalidValue(f"transports must be a subset of udp, tcp: got {sorted(wanted)}")
    loop = asyncio.get_running_loop()
    responder = Responder(host)
    for _ in range(20 if port == 0 else 1):
        bound = port
        try:
            if "udp" in wanted:
                udp, protocol = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(responder), local_addr=(host, bound)
                )
                responder._udp, responder._udp_protocol = udp, protocol
                bound = int(udp.get_extra_info("sockname")[1])
            if "tcp" in wanted:
                server = await asyncio.start_server(
                    responder._handle_tcp, host, bound, family=_family(host), reuse_address=True
                )
                responder._server = server
                bound = int(server.sockets[0].getsockname()[1])
        except OSError as exc:
            responder.close()
            await responder.wait_closed()
            responder._udp = responder._server = responder._udp_protocol = None
            if port == 0 and exc.errno == errno.EADDRINUSE:
                continue  # the UDP port we got is taken on TCP: try another
            raise
        responder.port = bound
        if tls is not None:
            server = await asyncio.start_server(responder._handle_tls, host, tls_port,
                                                family=_family(host), ssl=tls,
                                                reuse_address=True)
            responder._tls_server = server
            responder.tls_port = int(server.sockets[0].getsockname()[1])
        if media is not None:
            responder.calls = AnswerPoint(host, bound, responder._sendto, media=media,
                                          max_calls=max_calls, max_call_seconds=max_call_seconds)
            responder.calls.tls_port = responder.tls_port
        log.debug("SIP responder listening on %s:%d (%s)", host, bound, ", ".join(sorted(wanted)))
        return responder
    raise OSError(errno.EADDRINUSE, f"no port free for both UDP and TCP on {host}")


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
