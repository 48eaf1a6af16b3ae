"""The daemon's shared SIP UDP sockets: one per address family for every target.

A daemon probing hundreds of trunks must not burn a port (and a conntrack
entry) per probe, so one socket per family serves all of them; responses find
their transaction by the Via branch (probes/sip/routing.py).

Each datagram is handed up with the time the kernel queued it
(probes/datagrams.py), read in batches, so a busy loop judges answers by when
they arrived, not by when it got round to them. `drain()` reads whatever is
queued right now: a transaction calls it before declaring a timeout.

ICMP errors on an unconnected UDP socket are invisible by default on Linux;
with IP_RECVERR the kernel queues them with the original destination, which
is how "nothing listens on that port" becomes REFUSED within a millisecond
instead of a 32-second TIMEOUT.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

from ..base import FailureReason
from ..datagrams import Datagram, drops, enable_timestamps, receive_one
from ..errors import LocalProtocolError, ProbeFailure
from .icmp import enable_icmp_errors, read_icmp_errors
from .resolution import Address, canonical

__all__ = ["DatagramEndpoint"]

log = logging.getLogger(__name__)

READ_BATCH = 256  # datagrams per readiness callback: one busy socket cannot starve the loop
DRAIN_LIMIT = 16384  # datagrams one `drain()` reads at most (bounded, yet far above a burst)
BASELINE_AGE = 0.1  # seconds a drop count read from the kernel serves as a transaction baseline
CATCH_UP = READ_BATCH  # datagrams sent with no read in between before `catch_up()` reads


class DatagramEndpoint:
    """Owns the sockets; hands datagrams and ICMP errors to the transports above."""

    def __init__(
        self,
        on_datagram: Callable[[Datagram], None],
        on_error: Callable[[Address, FailureReason, str], None],
    ) -> None:
        self._on_datagram = on_datagram
        self._on_error = on_error
        self._sockets: dict[int, socket.socket] = {}
        self._ports: dict[int, int] = {}  # family -> our bound port
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received = 0
        self._drops = 0  # the last drop count read, and when (loop clock): for both
        self._drops_at = float("-inf")  # request baselines and timeout verdicts
        self._drained_at = float("-inf")  # when the last drain that emptied every queue began
        self._unread_sends = 0  # datagrams sent since the sockets were last read

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind the sockets (IPv6 is optional: hosts without it still work)."""
        self._loop = loop
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
                enable_timestamps(sock)
                sock.bind((any_addr, 0))
            except OSError as exc:
                sock.close()
                if family == socket.AF_INET:
                    raise
                log.debug("IPv6 UDP socket unavailable: %s", exc)
                continue
            self._sockets[family] = sock
            self._ports[family] = int(sock.getsockname()[1])
            loop.add_reader(sock.fileno(), self._read, sock, READ_BATCH)

    def close(self) -> None:
        for sock in self._sockets.values():
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()
        self._ports.clear()
        self._loop = None

    def has(self, family: int) -> bool:
        return family in self._sockets

    @property
    def families(self) -> frozenset[int]:
        return frozenset(self._sockets)

    def port(self, family: int = socket.AF_INET) -> int:
        """Port of the shared socket (what peers see as our source port)."""
        return self._ports[family]

    def send(self, data: bytes, dest: Address) -> None:
        """Send one datagram; a full send buffer drops it (Timer E retransmits)."""
        family = socket.AF_INET6 if ":" in dest[0] else socket.AF_INET
        sock = self._sockets.get(family)
        if sock is None:
            raise ProbeFailure(FailureReason.NETWORK, f"no UDP socket for {dest[0]}")
        for attempt in range(2):
            try:
                sock.sendto(data, dest)
                self._unread_sends += 1
                return
            except (BlockingIOError, InterruptedError):
                log.debug("UDP send buffer full, datagram to %s dropped", dest)
                return
            except OSError as exc:
                # With IP_RECVERR the socket error can be a stale ICMP for another
                # destination: dispatch the error queue, then retry once.
                self._errors(sock)
                if attempt:
                    raise ProbeFailure(FailureReason.NETWORK, f"send to {dest} failed: {exc}") from exc

    def drain(self) -> bool:
        """Hand up everything queued right now; True when every queue was emptied."""
        if self._loop is None:
            raise LocalProtocolError("DatagramEndpoint.drain() before start()")
        began = self._loop.time()
        sockets = list(self._sockets.values())
        for sock in sockets:
            self._errors(sock)
        emptied = all(self._read(sock, DRAIN_LIMIT) for sock in sockets)
        if emptied:
            self._drained_at = began
        return emptied

    def drain_since(self, t: float) -> bool:
        """`drain()`, unless one that began at or after loop time `t` emptied every queue:
        all that arrived before `t` was handed up then, and nothing since matters to a
        probe whose deadline is `t`.

        Why: in an outage thousands of probes a second reach their deadline, often
        many in one loop turn, and each drain is two error-queue reads and two reads
        per probe, every one failing on an empty queue.
        """
        if self._drained_at >= t:
            return True
        return self.drain()

    def catch_up(self) -> None:
        """Read what is queued (a batch) when `CATCH_UP` datagrams went out since the
        sockets were last read; else nothing (one comparison).

        Why: a daemon that fell behind starts its late probes in one burst, and the
        loop runs them all (and the retransmissions of a timer batch) before its
        next look at the sockets. Our peers answer meanwhile, and a burst of a few
        thousand answers fills the receive buffer (8 MB holds 6,553 small datagrams
        on Linux): the kernel drops the rest, each of those probes waits for its
        deadline, retransmits, and is not judged. Reading between the sends keeps
        the queue to about a batch. Answers are judged by their kernel arrival stamp,
        so reading them sooner changes no verdict; it only stops us losing them.
        """
        if self._unread_sends >= CATCH_UP and self._loop is not None:
            for sock in list(self._sockets.values()):
                self._read(sock, READ_BATCH)

    def drops(self) -> int:
        """Datagrams the kernel dropped on our sockets because we read too slowly."""
        return sum(drops(sock) or 0 for sock in self._sockets.values())

    def drops_since(self, t: float) -> int:
        """`drops()` as read at or after loop time `t` (the reading is kept for the probes
        whose deadlines passed by then). A later reading can only count more: drops after
        a probe's deadline make its silence ours (not judged) as a fresh read would."""
        if self._drops_at < t:
            assert self._loop is not None
            self._drops, self._drops_at = self.drops(), self._loop.time()
        return self._drops

    def drops_baseline(self, now: float) -> int:
        """A drop count to compare a later `drops()` with: read from the kernel at most
        `BASELINE_AGE` before `now` (loop clock), not once per request (a syscall each).

        The count only grows, so an older reading is never above the count at `now`:
        the difference a timeout sees can include drops from just before its request,
        never miss one of its own. Drops near a request make its silence ours (not
        judged); they never make an answer we lost the target's timeout.
        """
        if now - self._drops_at >= BASELINE_AGE or now < self._drops_at:
            self._drops, self._drops_at = self.drops(), now
        return self._drops

    def _read(self, sock: socket.socket, limit: int) -> bool:
        """Hand up to `limit` queued datagrams up; True when the queue is empty.

        A queued ICMP error needs no look at the error queue first: the kernel sets the
        socket error with it, so the next read fails with it before any datagram
        (datagram.c) and `_errors` drains the queue then (one syscall less per wake-up).
        """
        assert self._loop is not None
        self._unread_sends = 0
        clock = self._loop.time
        for _ in range(limit):
            try:
                datagram = receive_one(sock, clock)
            except OSError:
                self._errors(sock)
                continue
            if datagram is None:
                return True
            self.received += 1
            self._on_datagram(datagram)
        return False

    def _errors(self, sock: socket.socket) -> None:
        for addr, ee_errno in read_icmp_errors(sock):
            try:
                dest = canonical(addr)
            except (ValueError, IndexError, TypeError):
                continue
            where = f"{dest[0]}:{dest[1]}"
            if ee_errno == errno.ECONNREFUSED:
                self._on_error(dest, FailureReason.REFUSED,
                               f"ICMP port unreachable: nothing listens on UDP {where}")
            else:
                reason = errno.errorcode.get(ee_errno, str(ee_errno))
                self._on_error(dest, FailureReason.NETWORK,
                               f"ICMP error {reason} sending to UDP {where}")
