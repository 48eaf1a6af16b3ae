"""The asyncio layer of pre-encoded SNMPv1/v2c GETs (probes/snmp/ber.py): one socket.

Judged on the wire like every probe here: each answer carries the kernel's
arrival stamp (probes/datagrams.py), a request is retransmitted with the same
request-id (an answer to any attempt counts) and at the deadline whatever is
queued is read before silence is declared. The caller (SnmpClient) turns
silence into a timeout or, when our own daemon was to blame, an inconclusive
result. An answer must come from the address asked, with the request's
version, community and request-id; anything else is discarded and counted.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from dataclasses import dataclass

from ..datagrams import drops, enable_timestamps, receive_one
from ..errors import SnmpDecodeError
from .ber import REQUEST_ID_MAX, REQUEST_ID_MIN, GetResponse, GetTemplate, parse_response

__all__ = ["Answered", "FastGet"]

log = logging.getLogger(__name__)

READ_BATCH = 256
DRAIN_LIMIT = 16384


@dataclass(frozen=True, slots=True)
class Answered:
    """A request's end: the response and when it arrived, or silence at the deadline."""

    response: GetResponse | None
    arrival: float
    emptied: bool = True  # our socket's queue was read to the end before judging


class _Pending:
    __slots__ = ("attempt", "deadline", "dest", "future", "left", "template", "timer", "wire")

    def __init__(self, template: GetTemplate, dest: tuple[str, int], wire: bytes,
                 future: asyncio.Future[Answered], left: int, attempt: float,
                 deadline: float) -> None:
        self.template, self.dest, self.wire, self.future = template, dest, wire, future
        self.left, self.attempt, self.deadline = left, attempt, deadline
        self.timer: asyncio.TimerHandle | None = None


class FastGet:
    """Owns one UDP socket (opened on first use) and the requests in flight on it."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, _Pending] = {}
        self._next_id = REQUEST_ID_MIN + secrets.randbelow(REQUEST_ID_MAX - REQUEST_ID_MIN)
        self.received = 0
        self.unusable = 0  # datagrams that were no answer to a request of ours

    def _open(self) -> socket.socket:
        if self._sock is None:
            loop = asyncio.get_running_loop()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                enable_timestamps(sock)
                sock.bind(("0.0.0.0", 0))
            except OSError:
                sock.close()
                raise
            self._sock, self._loop = sock, loop
            loop.add_reader(sock.fileno(), self._read, READ_BATCH)
        return self._sock

    def close(self) -> None:
        for p in list(self._pending.values()):
            if p.timer is not None:
                p.timer.cancel()
        self._pending.clear()
        if self._sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def drops(self) -> int:
        return 0 if self._sock is None else drops(self._sock) or 0

    def _request_id(self) -> int:
        rid = self._next_id
        while rid in self._pending:
            rid = rid + 1 if rid < REQUEST_ID_MAX else REQUEST_ID_MIN
        self._next_id = rid + 1 if rid < REQUEST_ID_MAX else REQUEST_ID_MIN
        return rid

    async def request(self, template: GetTemplate, dest: tuple[str, int], retries: int,
                      attempt: float, deadline: float) -> Answered:
        """Send, retransmit every `attempt` seconds at most `retries` times, and wait until
        an answer or the deadline."""
        sock = self._open()
        loop = asyncio.get_running_loop()
        rid = self._request_id()
        p = _Pending(template, dest, template.encode(rid), loop.create_future(), retries, attempt,
                     deadline)
        self._pending[rid] = p
        self._send(sock, p)
        self._arm(loop, rid, p, loop.time())
        try:
            return await p.future
        finally:
            if p.timer is not None:
                p.timer.cancel()
            self._pending.pop(rid, None)

    def _send(self, sock: socket.socket, p: _Pending) -> None:
        try:
            sock.sendto(p.wire, p.dest)
        except OSError as exc:  # a full buffer or an unreachable net: the retry may pass
            log.debug("SNMP datagram to %s not sent: %s", p.dest, exc)

    def _arm(self, loop: asyncio.AbstractEventLoop, rid: int, p: _Pending, now: float) -> None:
        """One timer: the next retransmission, or the deadline if sooner (it wins a tie)."""
        retransmit = now + p.attempt if p.left > 0 else p.deadline
        p.timer = loop.call_at(min(retransmit, p.deadline), self._on_timer, rid, p)

    def _on_timer(self, rid: int, p: _Pending) -> None:
        p.timer = None
        loop = self._loop
        if p.future.done() or self._sock is None or loop is None:
            return
        emptied = self.drain()  # the answer may be queued already
        if p.future.done():
            return
        now = loop.time()
        if now >= p.deadline:
            p.future.set_result(Answered(None, now, emptied))
            return
        p.left -= 1
        self._send(self._sock, p)
        self._arm(loop, rid, p, now)

    def drain(self) -> bool:
        return self._read(DRAIN_LIMIT)

    def _read(self, limit: int) -> bool:
        sock, loop = self._sock, self._loop
        if sock is None or loop is None:
            return True
        for _ in range(limit):
            try:
                datagram = receive_one(sock, loop.time)
            except OSError as exc:
                log.debug("SNMP socket error: %s", exc)
                continue
            if datagram is None:
                return True
            self.received += 1
            try:
                response = parse_response(datagram.data)
            except SnmpDecodeError as exc:
                self.unusable += 1
                log.debug("SNMP datagram from %s discarded: %s", datagram.source, exc)
                continue
            p = self._pending.get(response.request_id)
            template = None if p is None else p.template
            if (p is None or template is None or p.future.done()
                    or tuple(datagram.source[:2]) != p.dest
                    or response.version != (0 if template.version == "v1" else 1)
                    or response.community != template.community.encode("utf-8")):
                self.unusable += 1
                continue
            p.future.set_result(Answered(response, datagram.arrival))
        return False
