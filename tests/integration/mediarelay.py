"""A broken media relay on loopback: an SBC's RTP path that we can make misbehave.

A test double (no real program can play the part: rtpengine and rtpproxy
relay faithfully and cannot drop exactly one direction, add seeded jitter or
loop a caller's packets back): SIP datagrams from the caller are relayed to
the far end and its answers back, and the SDP of the INVITE and of the answer
is rewritten so both sides send RTP and RTCP through this relay, like an SBC
anchoring media. Each direction's RTP can then be

* dropped (`drop_up` / `drop_down`: a predicate on seconds since the first
  packet of that direction),
* delayed (`delay_down`: seconds per packet, e.g. seeded uniform jitter; the
  drawn delays are kept in `down_delays`),
* looped back (`reflect_up`: the caller's RTP returns to the caller).

RTCP is relayed untouched (with `delay_down` also applying to the far end's
RTCP, as a network would). In-dialog requests (ACK, BYE) go between the ends
directly: their Contact addresses are not rewritten, media is what matters.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import cast

from probes.rtp.endpoint import open_port_pair

Address = tuple[str, int]
_M_AUDIO = re.compile(rb"^m=audio (\d+) ", re.M)
_CONNECTION = re.compile(rb"^c=IN IP4 (\S+)", re.M)
_LENGTH = re.compile(rb"^(Content-Length|l)[ \t]*:[ \t]*\d+", re.M | re.I)


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on: Callable[[bytes, Address], None]) -> None:
        self.on = on
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on(data, (str(addr[0]), int(addr[1])))

    def send(self, data: bytes, dest: Address) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, dest)


class MediaRelay:
    """See the module docstring. `await start()`, point the call at `sip_port`, `close()`."""

    def __init__(self, far_sip: Address, *,
                 drop_up: Callable[[float], bool] = lambda t: False,
                 drop_down: Callable[[float], bool] = lambda t: False,
                 delay_down: Callable[[], float] = lambda: 0.0,
                 reflect_up: bool = False) -> None:
        self.far_sip = far_sip
        self.drop_up, self.drop_down = drop_up, drop_down
        self.delay_down, self.reflect_up = delay_down, reflect_up
        self.caller_sip: Address | None = None
        self.sip_port = 0
        self.caller_media: Address | None = None  # caller's RTP, from its offer
        self.far_media: Address | None = None  # far end's RTP, from its answer
        self.down_delays: list[float] = []
        self.counts = {"up": 0, "down": 0, "up_dropped": 0, "down_dropped": 0}
        self._sip: _Socket | None = None
        self._to_far: tuple[_Socket, _Socket] | None = None  # faces the far end (RTP, RTCP)
        self._to_caller: tuple[_Socket, _Socket] | None = None  # faces the caller
        self._first: dict[str, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> MediaRelay:
        loop = self._loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Socket(self._on_sip), local_addr=("127.0.0.1", 0))
        self._sip = protocol
        self.sip_port = int(transport.get_extra_info("sockname")[1])
        self._to_far = await self._pair(self._from_far_rtp, self._from_far_rtcp)
        self._to_caller = await self._pair(self._from_caller_rtp, self._from_caller_rtcp)
        return self

    async def _pair(self, on_rtp: Callable[[bytes, Address], None],
                    on_rtcp: Callable[[bytes, Address], None]) -> tuple[_Socket, _Socket]:
        assert self._loop is not None
        rtp_sock, rtcp_sock = open_port_pair("127.0.0.1")
        _, rtp = await self._loop.create_datagram_endpoint(lambda: _Socket(on_rtp),
                                                           sock=rtp_sock)
        _, rtcp = await self._loop.create_datagram_endpoint(lambda: _Socket(on_rtcp),
                                                            sock=rtcp_sock)
        return rtp, rtcp

    def close(self) -> None:
        for sock in (self._sip, *(self._to_far or ()), *(self._to_caller or ())):
            if sock is not None and sock.transport is not None:
                sock.transport.close()

    @staticmethod
    def _port(sock: _Socket) -> int:
        assert sock.transport is not None
        return int(sock.transport.get_extra_info("sockname")[1])

    # -- SIP ---------------------------------------------------------------------------

    def _on_sip(self, data: bytes, source: Address) -> None:
        assert self._sip is not None and self._to_far is not None and self._to_caller is not None
        if source == self.far_sip:
            data, media = self._rewrite(data, self._port(self._to_caller[0]))
            if media is not None:
                self.far_media = media
            if self.caller_sip is not None:
                self._sip.send(data, self.caller_sip)
            return
        self.caller_sip = source
        data, media = self._rewrite(data, self._port(self._to_far[0]))
        if media is not None:
            self.caller_media = media
        self._sip.send(data, self.far_sip)

    @staticmethod
    def _rewrite(data: bytes, port: int) -> tuple[bytes, Address | None]:
        head, sep, body = data.partition(b"\r\n\r\n")
        m = _M_AUDIO.search(body)
        c = _CONNECTION.search(body)
        if not sep or m is None or c is None:
            return data, None
        media = (c.group(1).decode(), int(m.group(1)))
        body = body[: m.start(1)] + str(port).encode() + body[m.end(1):]
        head = _LENGTH.sub(lambda x: x.group(1) + b": " + str(len(body)).encode(), head)
        return head + sep + body, media

    # -- media ---------------------------------------------------------------------------

    def _since(self, direction: str) -> float:
        assert self._loop is not None
        now = self._loop.time()
        return now - self._first.setdefault(direction, now)

    def _from_caller_rtp(self, data: bytes, source: Address) -> None:
        assert self._to_far is not None and self._to_caller is not None
        self.counts["up"] += 1
        if self.drop_up(self._since("up")):
            self.counts["up_dropped"] += 1
            return
        if self.reflect_up:
            self._to_caller[0].send(data, source)
        elif self.far_media is not None:
            self._to_far[0].send(data, self.far_media)

    def _from_caller_rtcp(self, data: bytes, source: Address) -> None:
        assert self._to_far is not None
        if self.far_media is not None:
            self._to_far[1].send(data, (self.far_media[0], self.far_media[1] + 1))

    def _from_far_rtp(self, data: bytes, source: Address) -> None:
        assert self._to_caller is not None and self._loop is not None
        self.counts["down"] += 1
        if self.drop_down(self._since("down")):
            self.counts["down_dropped"] += 1
            return
        if self.caller_media is None:
            return
        delay = self.delay_down()
        self.down_delays.append(delay)
        sock, dest = self._to_caller[0], self.caller_media
        if delay > 0:
            self._loop.call_later(delay, sock.send, data, dest)
        else:
            sock.send(data, dest)

    def _from_far_rtcp(self, data: bytes, source: Address) -> None:
        assert self._to_caller is not None and self._loop is not None
        if self.caller_media is None:
            return
        dest = (self.caller_media[0], self.caller_media[1] + 1)
        delay = self.delay_down()
        if delay > 0:
            self._loop.call_later(delay, self._to_caller[1].send, data, dest)
        else:
            self._to_caller[1].send(data, dest)
