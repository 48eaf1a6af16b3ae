"""pysnmp's UDP transport, made to tell the agent's slowness from ours.

pysnmp's own asyncio transport reads one datagram per loop iteration and
then defers its processing once more (`call_soon`), and pysnmp times
requests out by counting its own timer ticks. A daemon that falls behind
therefore lets answers pile up unread in its socket while requests expire:
the 2,500-check overload of issue 12 recorded 307 "agent did not answer"
timeouts while snmpd answered everything and the drops were on *our* socket.

This transport is what pysnmp talks to instead (it is registered with the
engine before any request, so pysnmp's high-level configuration reuses it):

- it reads in batches with kernel arrival stamps (probes/datagrams.py) and
  hands each datagram to pysnmp at once, noting its arrival in `delivering`
  for the request callback to pick up (probes/snmp/client.py);
- `drain()` reads everything queued right now, so a request is judged at its
  deadline only after what already arrived has been processed;
- `drops()` says how many datagrams our own socket lost.

A datagram pysnmp cannot make sense of (junk, an answer to nobody) is
counted and dropped; it never reaches a request.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import warnings
from typing import Any

from probes.datagrams import drops, enable_timestamps, receive_one

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.carrier.asyncio.dgram.udp import UdpAsyncioTransport

__all__ = ["StampedUdpTransport"]

log = logging.getLogger(__name__)

READ_BATCH = 256  # datagrams per readiness callback
DRAIN_LIMIT = 16384  # datagrams one `drain()` reads at most


class StampedUdpTransport(UdpAsyncioTransport):  # type: ignore[misc]  # pysnmp is untyped
    """A client-mode UDP transport for pysnmp's dispatcher (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._sock: socket.socket | None = None
        self.delivering: float | None = None  # arrival of the datagram being processed
        self.received = 0
        self.unusable = 0  # datagrams pysnmp could not process
        # the last read stopped at its batch limit: answers may still be queued (pysnmp's
        # own timeout, which fires between our reads, must not be trusted then)
        self.backlog = False

    def open_client_mode(self, iface: tuple[str, int] | None = None,
                         allow_broadcast: bool = False) -> StampedUdpTransport:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            enable_timestamps(sock)
            sock.bind(iface or ("0.0.0.0", 0))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.loop.add_reader(sock.fileno(), self._read, READ_BATCH)
        return self

    def send_message(self, outgoingMessage: bytes, transportAddress: Any) -> None:
        if self._sock is None:
            return
        address = (str(transportAddress[0]), int(transportAddress[1]))
        try:
            self._sock.sendto(outgoingMessage, address)
        except OSError as exc:  # a full send buffer or an unreachable net: pysnmp retries
            log.debug("SNMP datagram to %s not sent: %s", address, exc)

    def close_transport(self) -> None:
        if self._sock is not None:
            if not self.loop.is_closed():
                self.loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        super().close_transport()

    def drain(self) -> bool:
        """Process everything queued right now; True when the queue was emptied."""
        return self._read(DRAIN_LIMIT)

    def drops(self) -> int:
        return 0 if self._sock is None else drops(self._sock) or 0

    def _read(self, limit: int) -> bool:
        sock = self._sock
        if sock is None:
            return True
        for _ in range(limit):
            try:
                datagram = receive_one(sock, self.loop.time)
            except OSError as exc:
                log.debug("SNMP socket error: %s", exc)
                continue
            if datagram is None:
                self.backlog = False
                return True
            self.received += 1
            self.delivering = datagram.arrival
            try:
                self._callback_function(self, datagram.source[:2], datagram.data)
            except Exception as exc:  # pysnmp's verdict on a datagram it cannot use
                self.unusable += 1
                log.debug("SNMP datagram from %s dropped: %s", datagram.source, exc)
            finally:
                self.delivering = None
        self.backlog = True
        return False
