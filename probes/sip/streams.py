"""The daemon's pool of SIP stream connections (TCP, and TLS per verified name).

One connection per destination (TLS: per destination, verified name and
trust settings, so the same SBC reached under two names is verified twice),
reused by every probe, as phones and proxies do (RFC 3261 §18.1.1). Bytes are
framed by `StreamParser` inside the protocol callback, so a response is seen
(and stamped) the moment the loop reads it, not one task switch later.

A stream that stops parsing cannot be re-synchronised: it is closed, and
what waited on it fails as `malformed_response` (the peer broke the stream;
unlike a stray datagram, that is a finding about the peer).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from ..base import FailureReason
from ..errors import ProbeFailure, SipParseError
from .message import Request, Response, StreamParser
from .resolution import Address, canonical
from .tls import TlsSettings, certificate_not_after, client_context, describe_tls_error

__all__ = ["StreamConnection", "StreamPool"]

log = logging.getLogger(__name__)

CLOSE_WAIT = 2.0  # seconds `close()` waits for each connection to finish closing

# TCP connections are filed by address; TLS ones also by the name verified (SNI).
ConnKey = Address | tuple[Address, str, TlsSettings]
OnMessage = Callable[[Request | Response, Address, str, float], None]
OnLost = Callable[[Address, str, FailureReason, str], None]


@dataclass(frozen=True, slots=True)
class _Target:
    dest: Address
    kind: str  # "tcp" or "tls"
    key: ConnKey


class StreamConnection(asyncio.Protocol):
    """One connection: frames what arrives, reports its loss once."""

    def __init__(self, pool: StreamPool, target: _Target) -> None:
        self._pool = pool
        self.target = target
        self.dest = target.dest
        self.kind = target.kind
        self._parser = StreamParser()
        self._transport: asyncio.Transport | None = None
        self.local: Address = ("", 0)
        self.tls_not_after: float | None = None
        self.closed = False
        loop = asyncio.get_running_loop()
        self.opened_at = loop.time()  # when connecting began
        self.done: asyncio.Future[None] = loop.create_future()
        self._why: tuple[FailureReason, str] | None = None

    @property
    def where(self) -> str:
        return f"{self.dest[0]}:{self.dest[1]}"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.local = canonical(transport.get_extra_info("sockname"))
        self.tls_not_after = certificate_not_after(transport.get_extra_info("ssl_object"))

    def data_received(self, data: bytes) -> None:
        arrival = asyncio.get_running_loop().time()
        failed: SipParseError | None
        try:
            messages = self._parser.feed(data)
        except SipParseError as exc:  # the stream is out of sync for good
            messages, failed = [], exc
        else:
            failed = self._parser.error
        for message in messages:
            self._pool.on_message(message, self.dest, self.kind, arrival)
        if failed is not None:
            self._pool.malformed += 1
            log.debug("malformed data on %s from %s: %s", self.kind.upper(), self.where, failed)
            self._abort(FailureReason.MALFORMED, f"malformed response from {self.where}: {failed}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        kind = self.kind.upper()
        why = self._why or (
            (FailureReason.NETWORK, f"{kind} connection to {self.where} failed: {exc}")
            if exc is not None
            else (FailureReason.NETWORK, f"{kind} connection to {self.where} closed by the peer"))
        self._pool.lost(self, *why)
        if not self.done.done():
            self.done.set_result(None)

    def write(self, data: bytes) -> None:
        if self.closed or self._transport is None or self._transport.is_closing():
            raise ProbeFailure(FailureReason.NETWORK,
                               f"{self.kind.upper()} connection to {self.dest} closed")
        self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _abort(self, reason: FailureReason, detail: str) -> None:
        self._why = (reason, detail)
        self.close()


class StreamPool:
    """Connections by key, opened on demand under a per-key lock, closed together."""

    def __init__(self, on_message: OnMessage, on_lost: OnLost) -> None:
        self.on_message = on_message
        self._on_lost = on_lost
        self._open: dict[ConnKey, StreamConnection] = {}
        self._locks: dict[ConnKey, asyncio.Lock] = {}
        self.malformed = 0  # connections closed because they stopped parsing

    async def get(self, family: int, dest: Address, tls: TlsSettings | None = None,
                  host: str = "") -> StreamConnection:
        """The open connection to `dest` (TLS: verified as `tls.server_name` or `host`),
        connecting first if there is none. Raises `ProbeFailure`."""
        name = "" if tls is None else tls.server_name or host
        key: ConnKey = dest if tls is None else (dest, name, tls)
        target = _Target(dest, "tcp" if tls is None else "tls", key)
        async with self._locks.setdefault(key, asyncio.Lock()):
            conn = self._open.get(key)
            if conn is not None and not conn.closed:
                return conn
            conn = await self._connect(family, target, tls, name)
            self._open[key] = conn
            return conn

    async def _connect(self, family: int, target: _Target, tls: TlsSettings | None,
                       name: str) -> StreamConnection:
        kind, where = target.kind.upper(), f"{target.dest[0]}:{target.dest[1]}"
        loop = asyncio.get_running_loop()
        try:
            # Python sends no SNI for an IP literal, but still checks the IP SAN.
            _, conn = await loop.create_connection(
                lambda: StreamConnection(self, target), target.dest[0], target.dest[1],
                family=family, ssl=None if tls is None else client_context(tls),
                server_hostname=None if tls is None else name,
            )
        except ConnectionRefusedError as exc:
            raise ProbeFailure(FailureReason.REFUSED, f"{kind} connection to {where} refused") from exc
        except ssl.SSLError as exc:
            raise ProbeFailure(*describe_tls_error(exc, where, name)) from exc
        except OSError as exc:
            raise ProbeFailure(FailureReason.NETWORK, f"{kind} connect to {where} failed: {exc}") from exc
        return conn

    def __len__(self) -> int:
        return len(self._open)

    def lost(self, conn: StreamConnection, reason: FailureReason, detail: str) -> None:
        if self._open.get(conn.target.key) is conn:
            del self._open[conn.target.key]
        self._on_lost(conn.dest, conn.kind, reason, detail)

    async def close(self) -> None:
        conns = list(self._open.values())
        self._open.clear()
        for conn in conns:
            conn.close()
        if conns:
            await asyncio.wait([c.done for c in conns], timeout=CLOSE_WAIT)
