"""Shared SIP sockets for every probe in the daemon, and the transaction driver.

One UDP socket per address family serves all targets: a daemon probing
hundreds of trunks must not burn a port (and a conntrack entry) per probe.
Responses find their transaction by the Via branch (§17.1.3), so a shared
socket needs no per-target state beyond the pending-transaction table.

ICMP errors on an unconnected UDP socket are invisible by default on Linux;
with IP_RECVERR the kernel queues them with the original destination, which is
how "nothing listens on that port" becomes REFUSED within a millisecond
instead of a 32-second TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..base import FailureReason, ProbeResult
from ..errors import InvalidValue, LocalProtocolError, ProbeFailure, SipParseError, SipUriError
from ..measurements import Measured
from .dns import ResolvedTarget
from .icmp import enable_icmp_errors, read_icmp_errors
from .message import Request, Response, StreamParser, make_branch, parse_message
from .tls import TlsSettings, certificate_not_after, client_context, describe_tls_error
from .transaction import NonInviteClientTransaction, ResponseReceived, TransactionTimedOut
from .uri import SipUri

__all__ = [
    "CallHandler",
    "NextHop",
    "Outcome",
    "RequestBuilder",
    "RequestContext",
    "SipTransports",
]

log = logging.getLogger(__name__)


Address = tuple[str, int]
StreamTransport = Literal["udp", "tcp"]  # what calls (dialogs) use
WireTransport = Literal["udp", "tcp", "tls"]  # what OPTIONS/REGISTER transactions use


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a request builder needs to fill Via and Contact for this hop."""

    transport: WireTransport
    local_host: str
    local_port: int
    branch: str

    @property
    def sent_by(self) -> str:
        host = f"[{self.local_host}]" if ":" in self.local_host else self.local_host
        return f"{host}:{self.local_port}"

    @property
    def via(self) -> str:
        # RFC 3581 §3: ask for rport so replies cross NAT back to our real port.
        return f"SIP/2.0/{self.transport.upper()} {self.sent_by};rport;branch={self.branch}"


RequestBuilder = Callable[[RequestContext], Request]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of one client transaction, as the probe needs it (never an exception)."""

    response: Response | None
    failure: FailureReason | None
    detail: str
    transmissions: int = 0
    latency: float | None = None
    provisional: tuple[Response, ...] = ()
    tls_not_after: float | None = None  # the TLS peer certificate's notAfter (Unix time)
    # the failure is ours, not the target's: our daemon was too late to judge
    inconclusive: bool = False

    def __post_init__(self) -> None:
        if (self.response is None) == (self.failure is None):
            raise InvalidValue("an outcome has either a final response or a failure")

    def result(self, measured: Measured | None = None) -> ProbeResult:
        """The probe result of a transaction that got no final response."""
        if self.inconclusive:
            return ProbeResult.not_judged(self.detail, measured=measured)
        return ProbeResult.failure(self.failure or FailureReason.INTERNAL, self.detail,
                                   measured=measured)


@dataclass(frozen=True, slots=True)
class NextHop:
    """Where a call's messages go and what we look like from there (for Via/Contact/SDP)."""

    transport: StreamTransport
    family: int
    dest: Address
    local_host: str
    local_port: int


class CallHandler(Protocol):
    """A call (dialog) registered by Call-ID: it owns its transactions itself.

    Unlike OPTIONS, whose client transaction lives here, a dialog core runs
    its INVITE/BYE/CANCEL transactions and answers in-dialog requests (a far
    end's BYE) on its own, so the transport only hands it every message of its
    Call-ID, with where it came from (responses to requests go back there).
    """

    def on_message(
        self, message: Request | Response, source: Address, transport: StreamTransport
    ) -> None: ...

    def on_transport_error(self, reason: FailureReason, detail: str) -> None: ...


@dataclass(eq=False)
class _Pending:
    txn: NonInviteClientTransaction
    dest: Address
    transport: WireTransport
    send: Callable[[bytes], None]
    future: asyncio.Future[Outcome]
    timer: asyncio.TimerHandle | None = None
    provisional: list[Response] = field(default_factory=list)
    tls_not_after: float | None = None


@dataclass(eq=False)
class _TcpConnection:
    dest: Address
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    local: Address
    parser: StreamParser = field(default_factory=StreamParser)
    task: asyncio.Task[None] | None = None
    closed: bool = False
    transport: WireTransport = "tcp"
    key: _ConnKey | None = None  # where it is filed in SipTransports._tcp
    tls_not_after: float | None = None


# TCP connections are filed by address; TLS ones also by the name verified (SNI).
_ConnKey = Address | tuple[Address, str, TlsSettings]


UDP_RECEIVE_BUFFER = 4 * 1024 * 1024

def _norm(addr: tuple[object, ...]) -> Address:
    """Canonical (ip, port) so '::1' and '0:0::1' or 4-tuples compare equal."""
    return _canonical_ip(str(addr[0])), int(str(addr[1]))


@functools.lru_cache(maxsize=8192)
def _canonical_ip(text: str) -> str:
    return str(ipaddress.ip_address(text))


@functools.lru_cache(maxsize=8192)
def _ip_literal(host: str) -> tuple[int, str] | None:
    """(family, canonical ip) if `host` is an IP literal, else None: parsed once per host."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    return (socket.AF_INET6 if addr.version == 6 else socket.AF_INET), str(addr)


class SipTransports:
    """Owned by the daemon: `await start()` once, share with every SIP probe, `await close()`."""

    def __init__(self, *, t4: float = 5.0) -> None:
        self._t4 = t4
        self._udp: dict[int, socket.socket] = {}
        self._tcp: dict[_ConnKey, _TcpConnection] = {}
        self._tcp_locks: dict[_ConnKey, asyncio.Lock] = {}
        self._pending: dict[str, _Pending] = {}
        self._absorbing: dict[str, float] = {}  # branch -> Timer K expiry, oldest first
        self.absorbed_retransmissions = 0
        self._local_ip: dict[str, str] = {}
        self._calls: dict[str, tuple[CallHandler, Address, StreamTransport]] = {}
        self.unmatched_requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.malformed_messages = 0
        self.unmatched_responses = 0

    async def start(self) -> None:
        """Bind the shared UDP sockets (IPv6 is optional: hosts without it still work)."""
        if self._loop is not None:
            raise LocalProtocolError("SipTransports already started")
        self._loop = asyncio.get_running_loop()
        for family, any_addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            try:
                sock = socket.socket(family, socket.SOCK_DGRAM)
            except OSError as exc:
                log.debug("no UDP socket for family %s: %s", family, exc)
                continue
            try:
                sock.setblocking(False)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                enable_icmp_errors(sock)
                # One socket answers for every target: give bursts room (the kernel
                # caps this at net.core.rmem_max).
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
                sock.bind((any_addr, 0))
            except OSError as exc:
                sock.close()
                if family == socket.AF_INET:
                    raise
                log.debug("IPv6 UDP socket unavailable: %s", exc)
                continue
            self._udp[family] = sock
            self._loop.add_reader(sock.fileno(), self._on_udp_readable, sock)

    def udp_port(self, family: int = socket.AF_INET) -> int:
        """Port of the shared UDP socket (what peers see as our source port)."""
        return int(self._udp[family].getsockname()[1])

    async def close(self) -> None:
        loop = self._loop
        for pending in list(self._pending.values()):
            self._finish(pending, ProbeFailure(FailureReason.NETWORK, "SIP transports closed"))
        if loop is not None:
            for sock in self._udp.values():
                loop.remove_reader(sock.fileno())
        for sock in self._udp.values():
            sock.close()
        self._udp.clear()
        conns = list(self._tcp.values())
        self._tcp.clear()
        for conn in conns:
            if conn.task is not None:
                conn.task.cancel()
        for conn in conns:
            if conn.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await conn.task
            await self._close_writer(conn)
        self._loop = None

    # -- the transaction driver -------------------------------------------------

    async def request(
        self,
        build: RequestBuilder,
        target: SipUri,
        deadline: float,
        *,
        t1: float = 0.5,
        t2: float = 4.0,
        tls: TlsSettings | None = None,
        via: ResolvedTarget | None = None,
    ) -> Outcome:
        """Run one non-INVITE client transaction to `target`, giving up at `deadline`.

        Network conditions come back as an `Outcome` with a failure reason;
        only misuse (not started, bad builder) raises. `tls` says how to trust a
        TLS target (default: verify against the system store, like a phone).
        `via` is an address RFC 3263 resolution chose (probes/sip/failover.py):
        sent there over its transport; the URI's host still names the TLS peer.
        """
        loop = self._loop
        if loop is None:
            raise LocalProtocolError("SipTransports.request() before start()")
        holder: list[_Pending] = []
        started = loop.time()
        if started >= deadline:
            # timeout_at() would only cancel at the first await, after sending.
            return Outcome(None, FailureReason.TIMEOUT, "deadline passed before sending", 0)
        try:
            async with asyncio.timeout_at(deadline):
                return await self._run(build, target, t1, t2, holder, tls, via)
        except ProbeFailure as exc:
            return Outcome(None, exc.reason, exc.detail, self._count(holder))
        except TimeoutError:
            count = self._count(holder)
            elapsed = loop.time() - (holder[0].txn.started_at if holder else started)
            detail = f"no final response after {count} transmission(s) over {elapsed:.1f} s"
            if holder and holder[0].provisional:
                last = holder[0].provisional[-1]
                detail += f" (last provisional: {last.status} {last.reason})"
            return Outcome(None, FailureReason.TIMEOUT, detail + " (probe deadline)", count)
        finally:
            if holder:
                self._abandon(holder[0])

    @staticmethod
    def _count(holder: list[_Pending]) -> int:
        return holder[0].txn.transmissions if holder else 0

    async def _run(
        self, build: RequestBuilder, target: SipUri, t1: float, t2: float, holder: list[_Pending],
        tls: TlsSettings | None = None, via: ResolvedTarget | None = None,
    ) -> Outcome:
        loop = asyncio.get_running_loop()
        transport: WireTransport = target.transport if via is None else via.transport
        tls_not_after: float | None = None
        if via is None:
            family, ip = await self._resolve(target, transport)
            dest = _norm((ip, target.effective_port))
        else:
            family, ip, dest = via.family, via.ip, _norm((via.ip, via.port))
        send: Callable[[bytes], None]
        if transport == "udp":
            sock = self._udp.get(family)
            if sock is None:
                raise ProbeFailure(FailureReason.NETWORK, f"no UDP socket for the family of {ip}")
            local: Address = (self._local_ip_for(family, ip), int(sock.getsockname()[1]))

            def send(data: bytes) -> None:
                self._udp_send(sock, data, dest)
        else:
            tls_for = (tls or TlsSettings()) if transport == "tls" else None
            conn = await self._tcp_connection(family, dest, tls_for, target.host)
            local, tls_not_after = conn.local, conn.tls_not_after

            def send(data: bytes) -> None:
                if conn.closed or conn.writer.is_closing():
                    raise ProbeFailure(FailureReason.NETWORK, f"{transport.upper()} connection to {dest} closed")
                conn.writer.write(data)

        ctx = RequestContext(transport, local[0], local[1], make_branch())
        request = build(ctx)
        txn = NonInviteClientTransaction(
            request, reliable=transport != "udp", now=loop.time(), t1=t1, t2=t2, t4=self._t4
        )
        if txn.branch in self._pending:
            raise LocalProtocolError(f"branch {txn.branch} already in use")
        pending = _Pending(txn, dest, transport, send, loop.create_future(),
                           tls_not_after=tls_not_after)
        holder.append(pending)
        self._pending[txn.branch] = pending
        self._pump(pending)
        return await pending.future

    def _pump(self, p: _Pending) -> None:
        """Move bytes out, events up, and re-arm the single timer (aioquic style)."""
        loop = self._loop
        try:
            for data in p.txn.data_to_send():
                p.send(data)
        except ProbeFailure as exc:
            self._finish(p, exc)
            return
        while (event := p.txn.next_event()) is not None:
            if isinstance(event, ResponseReceived) and not event.final:
                p.provisional.append(event.response)
            elif isinstance(event, ResponseReceived):
                latency = event.time - p.txn.started_at
                self._finish(p, Outcome(
                    event.response, None, "", p.txn.transmissions, latency, tuple(p.provisional),
                    p.tls_not_after,
                ))
                timer_k = p.txn.get_timer()
                if timer_k is not None:
                    self._absorb(p.txn.branch, timer_k)
                return
            elif isinstance(event, TransactionTimedOut):
                detail = (
                    f"no final response to {p.txn.method} after {event.transmissions} "
                    f"transmission(s) over {event.time - p.txn.started_at:.1f} s (Timer F)"
                )
                self._finish(p, ProbeFailure(FailureReason.TIMEOUT, detail))
                return
        if p.timer is not None:
            p.timer.cancel()
            p.timer = None
        when = p.txn.get_timer()
        if when is None or loop is None:
            self._forget(p)
        else:
            p.timer = loop.call_at(when, self._on_timer, p)

    def _on_timer(self, p: _Pending) -> None:
        p.timer = None
        if self._loop is not None:
            p.txn.handle_timer(self._loop.time())
            self._pump(p)

    def _finish(self, p: _Pending, result: Outcome | ProbeFailure) -> None:
        """Resolve the waiting probe and drop the transaction."""
        if not p.future.done():
            if isinstance(result, ProbeFailure):
                count = p.txn.transmissions
                p.future.set_result(Outcome(None, result.reason, result.detail, count))
            else:
                p.future.set_result(result)
        self._forget(p)

    def _absorb(self, branch: str, until: float) -> None:
        """Completed state (§17.1.2.2): until Timer K fires, retransmitted responses
        are absorbed, not counted as stray. Only the branch is kept, not the
        transaction: at thousands of probes a second, whole transactions held for
        T4 made the heap the cyclic GC walks grow by tens of thousands of objects."""
        now = self._loop.time() if self._loop is not None else until
        while self._absorbing:
            oldest = next(iter(self._absorbing))
            if self._absorbing[oldest] > now:
                break
            del self._absorbing[oldest]
        self._absorbing[branch] = until

    def _abandon(self, p: _Pending) -> None:
        self._forget(p)

    def _forget(self, p: _Pending) -> None:
        if p.timer is not None:
            p.timer.cancel()
            p.timer = None
        if self._pending.get(p.txn.branch) is p:
            del self._pending[p.txn.branch]

    def _fail_destination(
        self, dest: Address, transport: WireTransport, reason: FailureReason, detail: str
    ) -> None:
        for p in list(self._pending.values()):
            if p.dest == dest and p.transport == transport and not p.future.done():
                self._finish(p, ProbeFailure(reason, detail))
        for handler, call_dest, call_transport in list(self._calls.values()):
            if call_dest == dest and call_transport == transport:
                handler.on_transport_error(reason, detail)

    # -- calls: dialogs that run their own transactions --------------------------

    async def next_hop(self, target: SipUri) -> NextHop:
        """Resolve `target` and pick our local address towards it (opening TCP if needed).

        A call needs this before its first INVITE: Via, Contact and the SDP
        offer carry the address the far end will answer to.
        """
        if self._loop is None:
            raise LocalProtocolError("SipTransports.next_hop() before start()")
        if target.transport == "tls":
            raise LocalProtocolError(f"TLS transport is not supported yet: {target}")
        transport: StreamTransport = "tcp" if target.transport == "tcp" else "udp"
        family, ip = await self._resolve(target, transport)
        dest = _norm((ip, target.effective_port))
        if transport == "udp":
            if family not in self._udp:
                raise ProbeFailure(FailureReason.NETWORK, f"no UDP socket for the family of {ip}")
            local = (self._local_ip_for(family, ip), self.udp_port(family))
        else:
            local = (await self._tcp_connection(family, dest)).local
        return NextHop(transport, family, dest, local[0], local[1])

    def register_call(self, call_id: str, handler: CallHandler, hop: NextHop) -> None:
        """Route every message with this Call-ID to `handler` until `unregister_call`."""
        if call_id in self._calls:
            raise LocalProtocolError(f"Call-ID {call_id} already registered")
        self._calls[call_id] = (handler, hop.dest, hop.transport)

    def unregister_call(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    async def send(self, data: bytes, uri: str | None, hop: NextHop,
                   reply_to: Address | None = None) -> None:
        """Send one of a dialog's messages: to `uri` (the next hop of a request,
        §8.1.2), or back to `reply_to` (a response goes where its request came from,
        §18.2.2), over the call's transport. Raises `ProbeFailure`."""
        if self._loop is None:
            raise ProbeFailure(FailureReason.NETWORK, "SIP transports closed")
        try:
            if uri is None:
                dest = reply_to or hop.dest
            else:
                target = SipUri.parse(uri.strip("<>"))
                literal = _ip_literal(target.host)
                if literal is not None:
                    dest = _norm((literal[1], target.effective_port))
                else:
                    dest = _norm(((await self._resolve(target, hop.transport))[1],
                                  target.effective_port))
            if hop.transport == "udp":
                family = socket.AF_INET6 if ":" in dest[0] else socket.AF_INET
                sock = self._udp.get(family)
                if sock is None:
                    raise ProbeFailure(FailureReason.NETWORK, f"no UDP socket for {dest[0]}")
                self._udp_send(sock, data, dest)
            else:
                conn = await self._tcp_connection(hop.family, dest)
                if conn.closed or conn.writer.is_closing():
                    raise ProbeFailure(FailureReason.NETWORK, f"TCP connection to {dest} closed")
                conn.writer.write(data)
        except SipUriError as exc:
            raise ProbeFailure(FailureReason.MALFORMED, f"bad next hop {uri!r}: {exc}") from exc

    def _dispatch(
        self, message: Request | Response, source: Address, transport: WireTransport = "udp"
    ) -> None:
        call = self._calls.get(message.headers.get("Call-ID") or "") if self._calls else None
        # Calls are not placed over TLS (next_hop refuses it): TLS carries transactions only.
        stream: StreamTransport = "udp" if transport == "udp" else "tcp"
        if transport == "tls":
            call = None
        if isinstance(message, Request):
            if call is not None:
                call[0].on_message(message, source, stream)
                return
            self.unmatched_requests += 1
            log.debug("ignoring %s request from %s on the client socket", message.method, source)
            return
        branch = message.top_via.branch or ""
        p = self._pending.get(branch)
        if p is None and call is not None:
            # A call's transactions (INVITE, CANCEL, BYE) live in its dialog core.
            call[0].on_message(message, source, stream)
            return
        if p is None and branch in self._absorbing:
            self.absorbed_retransmissions += 1
            return
        if p is None or message.cseq[1] != p.txn.method:
            self.unmatched_responses += 1
            log.debug("no transaction for %d response from %s (branch %r)", message.status,
                      source, branch)
            return
        if self._loop is not None:
            p.txn.receive_response(message, self._loop.time())
            self._pump(p)

    # -- resolution and addressing ------------------------------------------------

    async def _resolve(self, target: SipUri, transport: WireTransport) -> tuple[int, str]:
        literal = _ip_literal(target.host)
        if literal is not None:
            return literal
        loop = asyncio.get_running_loop()
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        try:
            infos = await loop.getaddrinfo(target.host, target.effective_port, type=kind)
        except (socket.gaierror, UnicodeError) as exc:
            raise ProbeFailure(FailureReason.DNS, f"cannot resolve {target.host!r}: {exc}") from exc
        for family, _, _, _, sockaddr in infos:
            if transport == "tcp" or family in self._udp:
                return int(family), str(sockaddr[0])
        raise ProbeFailure(FailureReason.DNS, f"{target.host!r} has no usable address ({infos!r})")

    def _local_ip_for(self, family: int, ip: str) -> str:
        """Source IP the kernel picks towards `ip` (for Via/Contact), via a connected UDP socket."""
        cached = self._local_ip.get(ip)
        if cached is None:
            try:
                with socket.socket(family, socket.SOCK_DGRAM) as probe:
                    probe.connect((ip, 9))  # no packet is sent by a UDP connect
                    cached = str(probe.getsockname()[0])
            except OSError as exc:
                raise ProbeFailure(FailureReason.NETWORK, f"no route to {ip}: {exc}") from exc
            if len(self._local_ip) > 4096:
                self._local_ip.clear()
            self._local_ip[ip] = cached
        return cached

    # -- UDP ------------------------------------------------------------------------

    def _udp_send(self, sock: socket.socket, data: bytes, dest: Address) -> None:
        for attempt in range(2):
            try:
                sock.sendto(data, dest)
                return
            except (BlockingIOError, InterruptedError):
                log.debug("UDP send buffer full, datagram to %s dropped", dest)
                return  # Timer E retransmits
            except OSError as exc:
                # With IP_RECVERR the socket error can be a stale ICMP for another
                # destination: dispatch the error queue, then retry once.
                self._drain_errqueue(sock)
                if attempt:
                    raise ProbeFailure(FailureReason.NETWORK, f"send to {dest} failed: {exc}") from exc

    def _on_udp_readable(self, sock: socket.socket) -> None:
        self._drain_errqueue(sock)
        for _ in range(256):  # bounded so one busy socket cannot starve the loop
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drain_errqueue(sock)
                continue
            self._on_datagram(data, _norm(addr))

    def _on_datagram(self, data: bytes, source: Address) -> None:
        if not data.strip(b"\r\n"):
            return  # CRLF keep-alive
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self.malformed_messages += 1
            log.debug("malformed datagram from %s: %s", source, exc)
            self._fail_destination(source, "udp", FailureReason.MALFORMED,
                                   f"malformed response from {source[0]}:{source[1]}: {exc}")
            return
        self._dispatch(message, source)

    def _drain_errqueue(self, sock: socket.socket) -> None:
        for addr, ee_errno in read_icmp_errors(sock):
            try:
                dest = _norm(addr)
            except (ValueError, IndexError, TypeError):
                continue
            where = f"{dest[0]}:{dest[1]}"
            if ee_errno == errno.ECONNREFUSED:
                self._fail_destination(dest, "udp", FailureReason.REFUSED,
                                       f"ICMP port unreachable: nothing listens on UDP {where}")
            else:
                reason = errno.errorcode.get(ee_errno, str(ee_errno))
                self._fail_destination(dest, "udp", FailureReason.NETWORK,
                                       f"ICMP error {reason} sending to UDP {where}")

    # -- TCP ------------------------------------------------------------------------

    async def _tcp_connection(
        self, family: int, dest: Address, tls: TlsSettings | None = None, host: str = ""
    ) -> _TcpConnection:
        if tls is not None:
            return await self._tls_connection(family, dest, tls, host)
        lock = self._tcp_locks.setdefault(dest, asyncio.Lock())
        async with lock:
            conn = self._tcp.get(dest)
            if conn is not None and not conn.closed and not conn.writer.is_closing():
                return conn
            where = f"{dest[0]}:{dest[1]}"
            try:
                reader, writer = await asyncio.open_connection(dest[0], dest[1], family=family)
            except ConnectionRefusedError as exc:
                raise ProbeFailure(FailureReason.REFUSED, f"TCP connection to {where} refused") from exc
            except OSError as exc:
                detail = f"TCP connect to {where} failed: {exc}"
                raise ProbeFailure(FailureReason.NETWORK, detail) from exc
            local = _norm(writer.get_extra_info("sockname"))
            conn = _TcpConnection(dest, reader, writer, local, key=dest)
            conn.task = asyncio.get_running_loop().create_task(self._tcp_reader(conn))
            self._tcp[dest] = conn
            return conn

    async def _tls_connection(
        self, family: int, dest: Address, tls: TlsSettings, host: str
    ) -> _TcpConnection:
        """A TLS connection per (address, verified name, trust settings): the same SBC
        reached under two names is verified twice (probes/sip/tls.py)."""
        name = tls.server_name or host
        key: _ConnKey = (dest, name, tls)
        lock = self._tcp_locks.setdefault(key, asyncio.Lock())
        async with lock:
            conn = self._tcp.get(key)
            if conn is not None and not conn.closed and not conn.writer.is_closing():
                return conn
            where = f"{dest[0]}:{dest[1]}"
            # Python sends no SNI for an IP literal, but still checks the IP SAN.
            try:
                reader, writer = await asyncio.open_connection(
                    dest[0], dest[1], family=family, ssl=client_context(tls),
                    server_hostname=name,
                )
            except ConnectionRefusedError as exc:
                raise ProbeFailure(FailureReason.REFUSED, f"TLS connection to {where} refused") from exc
            except ssl.SSLError as exc:
                raise ProbeFailure(*describe_tls_error(exc, where, name)) from exc
            except OSError as exc:
                raise ProbeFailure(FailureReason.NETWORK, f"TLS connect to {where} failed: {exc}") from exc
            local = _norm(writer.get_extra_info("sockname"))
            not_after = certificate_not_after(writer.get_extra_info("ssl_object"))
            conn = _TcpConnection(dest, reader, writer, local, transport="tls", key=key,
                                  tls_not_after=not_after)
            conn.task = asyncio.get_running_loop().create_task(self._tcp_reader(conn))
            self._tcp[key] = conn
            return conn

    async def _tcp_reader(self, conn: _TcpConnection) -> None:
        where = f"{conn.dest[0]}:{conn.dest[1]}"
        kind = conn.transport.upper()
        reason, detail = FailureReason.NETWORK, f"{kind} connection to {where} closed by the peer"
        try:
            while data := await conn.reader.read(65536):
                try:
                    messages = conn.parser.feed(data)
                except SipParseError as exc:
                    self.malformed_messages += 1
                    log.debug("malformed data on TCP from %s: %s", where, exc)
                    reason = FailureReason.MALFORMED
                    detail = f"malformed response from {where}: {exc}"
                    break
                for message in messages:
                    self._dispatch(message, conn.dest, conn.transport)
        except OSError as exc:
            detail = f"{kind} connection to {where} failed: {exc}"
        finally:
            conn.closed = True
            key = conn.dest if conn.key is None else conn.key
            if self._tcp.get(key) is conn:
                del self._tcp[key]
            self._fail_destination(conn.dest, conn.transport, reason, detail)
            conn.writer.close()

    @staticmethod
    async def _close_writer(conn: _TcpConnection) -> None:
        conn.writer.close()
        with contextlib.suppress(OSError):
            await conn.writer.wait_closed()
