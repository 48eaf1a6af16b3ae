"""A UDP relay that delays every datagram: a test double for `tc netem delay`.

netem needs CAP_NET_ADMIN, which CI runners do not grant; a userspace relay
adds the same fixed one-way delay to each packet in both directions, which is
all a latency-budget test needs. Runs in a thread so the synchronous
`DaemonProcess` tests can use it; every loop is bounded by `stop()`.
"""

from __future__ import annotations

import heapq
import socket
import time

from tests.integration.udprelay import Address, UdpRelay


class DelayRelay(UdpRelay):
    """Listens on 127.0.0.1:`port`, forwards to `upstream`, delaying each packet by `delay`."""

    def __init__(self, upstream: Address, delay: float) -> None:
        super().__init__(upstream, "delay-relay")
        self.delay = delay
        self._queue: list[tuple[float, int, socket.socket, bytes, Address]] = []
        self._seq = 0
        self.relayed = 0

    def _schedule(self, sock: socket.socket, data: bytes, dest: Address) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (time.monotonic() + self.delay, self._seq, sock, data, dest))

    def _idle(self) -> float:
        """Send what is due; wait until the next packet is."""
        now = time.monotonic()
        while self._queue and self._queue[0][0] <= now:
            _, _, sock, data, dest = heapq.heappop(self._queue)
            try:
                sock.sendto(data, dest)
                self.relayed += 1
            except OSError:
                pass  # the far end is gone: a real network drops it too
        return min(0.05, max(0.0, self._queue[0][0] - now)) if self._queue else 0.05

    def _from_client(self, data: bytes, client: Address) -> None:
        self._schedule(self._back_for(client), data, self.upstream)

    def _from_upstream(self, back: socket.socket, data: bytes) -> None:
        self._schedule(self._front, data, self._client_of[back])
