"""The SIP transports every probe of a daemon shares, and the transaction driver.

The parts have their own modules: `datagram` (the shared UDP sockets, with
kernel arrival stamps and ICMP errors), `streams` (the TCP/TLS connection
pool), `routing` (which transaction or call a message belongs to, and what
is discarded) and `resolution` (addresses). Here they are wired together, and
the RFC 3261 §17.1.2 client transaction (`transaction.py`, sans-IO) is driven
on the loop: bytes out, responses in, one timer re-armed (aioquic style).
The timers of all transactions share one loop timer (`timerheap.LoopTimers`).

A transaction's verdict is judged on the wire, because a daemon that falls
behind must not record its own slowness as the target's failure:

- an answer counts at the moment it arrived (the kernel's stamp for UDP; for
  streams, when the loop read it), against the deadline;
- at the deadline, whatever is already queued on our UDP sockets is read
  first; only then is silence a timeout;
- a timeout is recorded only if our side did its part: no datagram dropped by
  our own socket meanwhile, the request (and its retransmissions) sent on
  time (within `probes.timing.tolerance` of the budget). Otherwise the
  outcome is *inconclusive*, with a detail saying what was ours.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from ..base import FailureReason, ProbeResult
from ..datagrams import Datagram
from ..errors import InvalidValue, LocalProtocolError, ProbeFailure, SipUriError
from ..measurements import Measured
from ..timerheap import Entry, LoopTimers
from ..timing import MIN_TOLERANCE, LoopWatch, tolerance
from .datagram import DatagramEndpoint
from .dns import ResolvedTarget
from .message import Request, Response, make_branch
from .resolution import Address, LocalAddresses, canonical, canonical_source, ip_literal, resolve
from .routing import (
    Discard,
    Discarded,
    ForCall,
    ForTransaction,
    RateLimit,
    Routed,
    Router,
    StreamTransport,
    WireTransport,
)
from .streams import StreamConnection, StreamPool
from .tls import TlsSettings
from .transaction import (
    NonInviteClientTransaction,
    PreparedRequest,
    ResponseReceived,
    TransactionTimedOut,
)
from .uri import SipUri

__all__ = [
    "Address",
    "CallHandler",
    "NextHop",
    "Outcome",
    "RequestBuilder",
    "RequestContext",
    "SipTransports",
    "StreamTransport",
    "WireStats",
    "WireTransport",
]

log = logging.getLogger(__name__)


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


RequestBuilder = Callable[[RequestContext], Request | PreparedRequest]


@dataclass(slots=True)
class Outcome:
    """Result of one client transaction, as the probe needs it (never an exception).

    `sent_at` (first transmission) and `arrival` (the final response) are on
    the loop's clock; `latency` is the time between them. `inconclusive`: the
    failure is ours, not the target's (our daemon was too late to judge).

    Treated as a value (copied with `dataclasses.replace`, never changed), but not
    frozen: one is made per probe, and a frozen dataclass's `__init__` sets each of
    its ten fields through `object.__setattr__` (most of the cost of making one).
    It was never hashable anyway: a `Response` is not.
    """

    response: Response | None
    failure: FailureReason | None
    detail: str
    transmissions: int = 0
    latency: float | None = None
    provisional: tuple[Response, ...] = ()
    tls_not_after: float | None = None  # the TLS peer certificate's notAfter (Unix time)
    inconclusive: bool = False
    sent_at: float | None = None
    arrival: float | None = None

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
    """Where a call's messages go and what we look like from there (for Via/Contact/SDP).

    `transport` is how routing files the call (TLS is a stream like TCP);
    `wire` is what goes in Via; `tls` and `server_name` say how a TLS
    connection to `dest` is verified (the URI's host, not the resolved address).
    """

    transport: StreamTransport
    family: int
    dest: Address
    local_host: str
    local_port: int
    wire: WireTransport = "udp"
    tls: TlsSettings | None = None
    server_name: str = ""


class CallHandler(Protocol):
    """A call (dialog) registered by Call-ID: it owns its transactions itself.

    Unlike OPTIONS, whose client transaction lives here, a dialog core runs
    its INVITE/BYE/CANCEL transactions and answers in-dialog requests (a far
    end's BYE) on its own, so the transport only hands it every message of its
    Call-ID, with where it came from (responses to requests go back there) and
    when it arrived (loop clock).
    """

    def on_message(self, message: Request | Response, source: Address,
                   transport: StreamTransport, arrival: float) -> None: ...

    def on_transport_error(self, reason: FailureReason, detail: str) -> None: ...


@dataclass(frozen=True, slots=True)
class WireStats:
    """What the shared sockets saw, for the daemon's metrics (read at scrape time)."""

    received: int  # datagrams read
    discarded: Mapping[Discard, int]  # messages that went nowhere, by reason
    socket_drops: int  # datagrams the kernel dropped because we read too slowly
    malformed_streams: int  # stream connections closed because they stopped parsing
    open_streams: int  # TCP/TLS connections in the pool now


@dataclass(eq=False, slots=True)
class _Pending:
    txn: NonInviteClientTransaction
    dest: Address
    transport: WireTransport
    send: Callable[[bytes], None] | None  # a stream's write; None: our UDP socket, to `dest`
    future: asyncio.Future[Outcome]
    deadline: float
    budget: float  # the time the target had: deadline minus when we should have sent
    late: float  # how late our daemon put requests on the wire, at worst
    drops: int  # our sockets' drop count when the transaction began, or shortly before
    timer: Entry | None = None  # the next transaction timer or the deadline, in `_timers`
    provisional: tuple[Response, ...] = ()  # rare: a tuple grown, not a list per probe
    tls_not_after: float | None = None


class SipTransports:
    """Owned by the daemon: `await start()` once, share with every SIP probe, `await close()`."""

    def __init__(self, *, t4: float = 5.0) -> None:
        self._t4 = t4
        self._router: Router[_Pending, CallHandler] = Router()
        self._datagrams = DatagramEndpoint(
            self._on_datagram, lambda dest, reason, detail: self._fail_destination(
                dest, "udp", reason, detail))
        self._streams = StreamPool(self._on_stream_message, self._fail_destination)
        self._local = LocalAddresses()
        self._discard_log = RateLimit()
        self._loop: asyncio.AbstractEventLoop | None = None
        # every transaction's next timer, in one heap behind one loop timer (`_arm`)
        self._timers: LoopTimers[_Pending] = LoopTimers(self._on_timer)
        # how late our loop runs, for what the wire cannot tell (connects, resolution, calls)
        self.watch = LoopWatch()

    async def start(self) -> None:
        if self._loop is not None:
            raise LocalProtocolError("SipTransports already started")
        self._loop = asyncio.get_running_loop()
        self._datagrams.start(self._loop)
        self._timers.start(self._loop)
        self.watch.start()

    def udp_port(self, family: int = socket.AF_INET) -> int:
        """Port of the shared UDP socket (what peers see as our source port)."""
        return self._datagrams.port(family)

    @property
    def stats(self) -> WireStats:
        return WireStats(self._datagrams.received, MappingProxyType(dict(self._router.discarded)),
                         self._datagrams.drops(), self._streams.malformed, len(self._streams))

    async def close(self) -> None:
        for p in list(self._router.pending()):
            self._finish(p, Outcome(None, FailureReason.NETWORK, "SIP transports closed",
                                    p.txn.transmissions))
        self._timers.stop()
        self._datagrams.close()
        await self._streams.close()
        self.watch.stop()
        self._loop = None

    # -- the transaction driver -----------------------------------------------------------

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
        due: float | None = None,
    ) -> Outcome:
        """Run one non-INVITE client transaction to `target`, giving up at `deadline`.

        Network conditions come back as an `Outcome` with a failure reason;
        only misuse (not started, bad builder) raises. `tls` says how to trust a
        TLS target (default: verify against the system store, like a phone).
        `via` is an address RFC 3263 resolution chose (probes/sip/failover.py):
        sent there over its transport; the URI's host still names the TLS peer.
        `due` is when the request should leave (e.g. when the challenge it
        answers arrived); by default, now.
        """
        loop = self._loop
        if loop is None:
            raise LocalProtocolError("SipTransports.request() before start()")
        entered = loop.time()
        due = entered if due is None else min(due, entered)
        if entered >= deadline:
            # timeout_at() would only cancel at the first await, after sending.
            if deadline - due > MIN_TOLERANCE:
                return Outcome(None, FailureReason.TIMEOUT, "not judged: our daemon reached"
                               f" this request {entered - due:.2f} s after it was due, past the"
                               " deadline (overloaded)", inconclusive=True)
            return Outcome(None, FailureReason.TIMEOUT, "deadline passed before sending", 0)
        try:
            if via is not None and via.transport == "udp":  # nothing to wait for: no timeout
                # a resolved address is a str and an int, as the kernel's are: kept canonical
                pending = self._begin(build, "udp", via.family, via.ip,
                                      canonical_source((via.ip, via.port)), None, t1, t2, False,
                                      deadline, due)
            else:
                async with asyncio.timeout_at(deadline):
                    pending = await self._open(build, target, t1, t2, tls, via, deadline, due)
        except ProbeFailure as exc:
            return Outcome(None, exc.reason, exc.detail, 0)
        except TimeoutError:
            return self._open_timed_out(target, entered, deadline, due)
        try:
            return await pending.future
        finally:
            self._forget(pending)

    async def _open(
        self, build: RequestBuilder, target: SipUri, t1: float, t2: float,
        tls: TlsSettings | None, via: ResolvedTarget | None, deadline: float, due: float,
    ) -> _Pending:
        """Resolve, connect if needed, and send the first transmission."""
        transport: WireTransport = target.transport if via is None else via.transport
        waited = False  # on the wire (resolution, a new connection) before sending
        if via is None:
            waited = ip_literal(target.host) is None
            family, ip = await resolve(target, transport != "udp", self._datagrams.families)
            dest = canonical((ip, target.effective_port))
        else:
            family, ip, dest = via.family, via.ip, canonical((via.ip, via.port))
        conn: StreamConnection | None = None
        if transport != "udp":
            tls_for = (tls or TlsSettings()) if transport == "tls" else None
            conn = await self._streams.get(family, dest, tls_for, target.host)
            waited = waited or conn.opened_at >= due
        return self._begin(build, transport, family, ip, dest, conn, t1, t2, waited, deadline,
                           due)

    def _begin(
        self, build: RequestBuilder, transport: WireTransport, family: int, ip: str,
        dest: Address, conn: StreamConnection | None, t1: float, t2: float, waited: bool,
        deadline: float, due: float,
    ) -> _Pending:
        """Build the request and send its first transmission (raises `ProbeFailure`)."""
        loop = self._loop
        assert loop is not None
        tls_not_after: float | None = None
        send: Callable[[bytes], None] | None
        if conn is None:
            if not self._datagrams.has(family):
                raise ProbeFailure(FailureReason.NETWORK, f"no UDP socket for the family of {ip}")
            local = (self._local.towards(family, ip), self._datagrams.port(family))
            self._datagrams.catch_up()  # a burst of sends must not overflow our receive buffer
            send = None  # `_pump` sends to `dest` (no closure: two cells and a function
            # each, and a daemon that fell behind holds thousands in the GC's view)
        else:
            local, tls_not_after, send = conn.local, conn.tls_not_after, conn.write
        request = build(RequestContext(transport, local[0], local[1], make_branch()))
        now = loop.time()
        txn = NonInviteClientTransaction(
            request, reliable=transport != "udp", now=now, t1=t1, t2=t2, t4=self._t4
        )
        # what delayed the first transmission: only our loop's lag where the wire was
        # involved (its share cannot be told apart), else all of it
        late = self.watch.lateness_since(due) if waited else now - due
        pending = _Pending(txn, dest, transport, send, loop.create_future(), deadline,
                           deadline - due, late,
                           self._datagrams.drops_baseline(now) if transport == "udp" else 0,
                           tls_not_after=tls_not_after)
        self._router.open(txn.branch, txn.method, pending)
        self._pump(pending)
        return pending

    def _open_timed_out(self, target: SipUri, entered: float, deadline: float,
                        due: float) -> Outcome:
        late = self.watch.lateness_since(entered)
        if late > tolerance(deadline - due):
            return Outcome(None, FailureReason.TIMEOUT, f"not judged: our daemon lagged {late:.2f}"
                           f" s while reaching {target.host} (overloaded)", inconclusive=True)
        return Outcome(None, FailureReason.TIMEOUT,
                       f"could not reach {target.host} by the probe deadline", 0)

    def _pump(self, p: _Pending) -> None:
        """Move bytes out, events up, and re-arm the single timer (aioquic style)."""
        try:
            send = p.send
            for data in p.txn.data_to_send():
                if send is None:
                    self._datagrams.send(data, p.dest)
                else:
                    send(data)
        except ProbeFailure as exc:
            self._finish(p, Outcome(None, exc.reason, exc.detail, p.txn.transmissions))
            return
        self._hand_up(p)

    def _hand_up(self, p: _Pending) -> None:
        """`_pump` but the sending: what follows a response, which queues nothing to send."""
        while (event := p.txn.next_event()) is not None:
            if isinstance(event, ResponseReceived):
                if event.response.status < 200:  # not `final`: provisional
                    p.provisional += (event.response,)
                    continue
                self._finish(p, self._answered(p, event))
                timer_k = p.txn.get_timer()
                if timer_k is not None and self._loop is not None:
                    self._router.absorb(p.txn.branch, timer_k, self._loop.time())
                return
            elif isinstance(event, TransactionTimedOut):
                elapsed = event.time - p.txn.started_at
                self._finish(p, self._silence(p, f"over {elapsed:.1f} s (Timer F)", True))
                return
        if self._loop is not None and not p.future.done():
            self._arm(p)

    def _arm(self, p: _Pending) -> None:
        """One timer per transaction: its next transaction timer, or the deadline if sooner
        (the deadline wins a tie, as it did as a timer of its own armed first).

        The timers of all transactions are entries of one heap behind one loop timer,
        set for the earliest: an asyncio TimerHandle each cost an object, a Python
        `__lt__` per heap comparison, and a cancelled one its place in the loop's heap."""
        assert self._loop is not None
        when = p.txn.get_timer()
        due = p.deadline if when is None or when >= p.deadline else when
        entry = p.timer
        if entry is not None:
            if entry[0] == due:
                return
            self._timers.cancel(entry)
        p.timer = self._timers.arm(due, p)

    def _on_timer(self, p: _Pending) -> None:
        p.timer = None
        if self._loop is None or p.future.done():
            return
        now = self._loop.time()
        when = p.txn.get_timer()
        if when is not None and when < p.deadline and when <= now:
            if p.transport == "udp" and now - when > MIN_TOLERANCE:
                self._datagrams.drain()  # we are late: the answer may be queued already
                if p.future.done():
                    return
            if p.transport == "udp":
                self._datagrams.catch_up()  # a batch of retransmissions: as for new requests
                if p.future.done():
                    return
            sent = p.txn.transmissions
            p.txn.handle_timer(now)
            if p.txn.transmissions > sent:
                p.late = max(p.late, now - when)
            self._pump(p)
            if p.future.done():
                return
        if now >= p.deadline:
            self._on_deadline(p)
        elif p.timer is None:
            self._arm(p)

    def _on_deadline(self, p: _Pending) -> None:
        emptied = self._datagrams.drain_since(p.deadline) if p.transport == "udp" else True
        if not p.future.done():
            elapsed = p.deadline - p.txn.started_at
            self._finish(p, self._silence(p, f"over {elapsed:.1f} s (probe deadline)", emptied))

    def _answered(self, p: _Pending, event: ResponseReceived) -> Outcome:
        count, arrival = p.txn.transmissions, event.time
        over = arrival - p.deadline
        if over > 0:
            status = f"{event.response.status} {event.response.reason}".rstrip()
            if p.transport != "udp" and over > tolerance(p.budget):
                return Outcome(None, FailureReason.TIMEOUT, f"not judged: a final response ({status})"
                               f" was read {over:.2f} s after the deadline while our daemon was"
                               " behind; when it arrived is unknown (overloaded)", count,
                               inconclusive=True)
            detail = f"final response {status} arrived {over * 1000:.0f} ms after the probe deadline"
            if p.late > tolerance(p.budget):
                # it answered a request we sent late: on time, its answer may have been too
                return Outcome(None, FailureReason.TIMEOUT, f"not judged: {detail}, but our daemon"
                               f" sent the request {p.late:.2f} s late (overloaded)", count,
                               inconclusive=True)
            return Outcome(None, FailureReason.TIMEOUT, detail, count)
        started = p.txn.started_at
        # every field by position, once per answered probe: keywords cost more to pass
        return Outcome(event.response, None, "", count, max(0.0, arrival - started),
                       p.provisional, p.tls_not_after, False, started, arrival)

    def _silence(self, p: _Pending, span: str, emptied: bool) -> Outcome:
        """No final response: a timeout, unless our own daemon may have caused it."""
        count = p.txn.transmissions
        detail = f"no final response after {count} transmission(s) {span}"
        if p.provisional:
            last = p.provisional[-1]
            detail += f" (last provisional: {last.status} {last.reason})"
        ours = []
        if p.transport == "udp":
            dropped = self._datagrams.drops_since(p.deadline) - p.drops
            if dropped > 0:
                ours.append(f"our socket dropped {dropped} datagram(s) meanwhile")
            if not emptied:
                ours.append("answers were still queued on our socket")
        if p.late > tolerance(p.budget):
            ours.append(f"our daemon sent the request {p.late:.2f} s late")
        if ours:
            return Outcome(None, FailureReason.TIMEOUT, f"not judged: {detail}, but "
                           f"{'; '.join(ours)} (overloaded)", count, inconclusive=True)
        return Outcome(None, FailureReason.TIMEOUT, detail, count)

    def _finish(self, p: _Pending, outcome: Outcome) -> None:
        """Resolve the waiting probe and drop the transaction."""
        if not p.future.done():
            p.future.set_result(outcome)
        self._forget(p)

    def _forget(self, p: _Pending) -> None:
        if p.timer is not None:
            self._timers.cancel(p.timer)
            p.timer = None
        self._router.close(p.txn.branch, p)

    def _fail_destination(
        self, dest: Address, transport: str, reason: FailureReason, detail: str
    ) -> None:
        for p in self._router.pending():
            if p.dest == dest and p.transport == transport and not p.future.done():
                self._finish(p, Outcome(None, reason, detail, p.txn.transmissions))
        if transport in ("udp", "tcp", "tls"):
            stream: StreamTransport = "udp" if transport == "udp" else "tcp"
            for handler in self._router.calls_to(dest, stream):
                handler.on_transport_error(reason, detail)

    # -- what arrives -----------------------------------------------------------------------

    def _on_datagram(self, d: Datagram) -> None:
        self._deliver(self._router.datagram(d.data, canonical_source(d.source), d.arrival))

    def _on_stream_message(self, message: Request | Response, source: Address, kind: str,
                           arrival: float) -> None:
        self._deliver(self._router.message(message, source, "tls" if kind == "tls" else "tcp",
                                           arrival))

    def _deliver(self, routed: Routed[_Pending, CallHandler]) -> None:
        if isinstance(routed, ForTransaction):
            p = routed.pending
            if not p.future.done():
                # filed under the transaction's branch and method: matched (§17.1.3)
                p.txn.receive_matched(routed.response, routed.arrival)
                self._hand_up(p)
        elif isinstance(routed, ForCall):
            routed.handler.on_message(routed.message, routed.source, routed.transport,
                                      routed.arrival)
        elif isinstance(routed, Discarded) and self._loop is not None:
            suppressed = self._discard_log.allow(self._loop.time())
            if suppressed is not None:
                log.debug("discarded (%s) from %s:%d: %s%s", routed.reason.value,
                          routed.source[0], routed.source[1], routed.detail,
                          f" [{suppressed} more discards not logged]" if suppressed else "")

    # -- calls: dialogs that run their own transactions ------------------------------------

    async def next_hop(self, target: SipUri, *, tls: TlsSettings | None = None,
                       via: ResolvedTarget | None = None) -> NextHop:
        """Resolve `target` (or take the address RFC 3263 chose, `via`) and pick our local
        address towards it, opening the TCP or TLS connection if needed.

        A call needs this before its first INVITE: Via, Contact and the SDP
        offer carry the address the far end will answer to. Raises `ProbeFailure`.
        """
        if self._loop is None:
            raise LocalProtocolError("SipTransports.next_hop() before start()")
        wire: WireTransport = target.transport if via is None else via.transport
        transport: StreamTransport = "udp" if wire == "udp" else "tcp"
        if via is None:
            family, ip = await resolve(target, wire != "udp", self._datagrams.families)
            dest = canonical((ip, target.effective_port))
        else:
            family, ip, dest = via.family, via.ip, canonical((via.ip, via.port))
        tls_for = (tls or TlsSettings()) if wire == "tls" else None
        if transport == "udp":
            if not self._datagrams.has(family):
                raise ProbeFailure(FailureReason.NETWORK, f"no UDP socket for the family of {ip}")
            local = (self._local.towards(family, ip), self._datagrams.port(family))
        else:
            local = (await self._streams.get(family, dest, tls_for, target.host)).local
        return NextHop(transport, family, dest, local[0], local[1], wire, tls_for, target.host)

    def register_call(self, call_id: str, handler: CallHandler, hop: NextHop) -> None:
        """Route every message with this Call-ID to `handler` until `unregister_call`."""
        self._router.add_call(call_id, handler, hop.dest, hop.transport)

    def unregister_call(self, call_id: str) -> None:
        self._router.remove_call(call_id)

    async def send(self, data: bytes, uri: str | None, hop: NextHop,
                   reply_to: Address | None = None) -> None:
        """Send one of a dialog's messages: to `uri` (the next hop of a request,
        §8.1.2), or back to `reply_to` (a response goes where its request came from,
        §18.2.2), over the call's transport. Raises `ProbeFailure`."""
        if self._loop is None:
            raise ProbeFailure(FailureReason.NETWORK, "SIP transports closed")
        dest = reply_to or hop.dest
        if uri is not None:
            try:
                target = SipUri.parse(uri.strip("<>"))
            except SipUriError as exc:
                raise ProbeFailure(FailureReason.MALFORMED, f"bad next hop {uri!r}: {exc}") from exc
            if target.host == hop.server_name and ip_literal(target.host) is None:
                dest = hop.dest  # the name RFC 3263 located: stay on the address it chose
            else:
                ip = (await resolve(target, hop.transport == "tcp", self._datagrams.families))[1]
                dest = canonical((ip, target.effective_port))
        if hop.transport == "udp":
            self._datagrams.send(data, dest)
        else:
            (await self._streams.get(hop.family, dest, hop.tls, hop.server_name)).write(data)
