"""A UDP relay that delays every datagram: a test double for `tc netem delay`.

netem needs CAP_NET_ADMIN, which CI runners do not grant; a userspace relay
adds the same fixed one-way delay to each packet in both directions, which is
all a latency-budget test needs. Runs in a thread so the synchronous
`DaemonProcess` tests can use it; every loop is bounded by `stop()`.
"""

from __future__ import annotations

import heapq
import selectors
import socket
import threading
import time


class DelayRelay:
    """Listens on 127.0.0.1:`port`, forwards to `upstream`, delaying each packet by `delay`."""

    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream, self.delay = upstream, delay
        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.bind(("127.0.0.1", 0))
        self._front.setblocking(False)
        self.port = int(self._front.getsockname()[1])
        self._backs: dict[tuple[str, int], socket.socket] = {}  # client -> upstream socket
        self._client_of: dict[socket.socket, tuple[str, int]] = {}
        self._queue: list[tuple[float, int, socket.socket, bytes, tuple[str, int]]] = []
        self._seq = 0
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._front, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name="delay-relay", daemon=True)
        self.relayed = 0

    def start(self) -> DelayRelay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sel.close()
        for sock in (self._front, *self._backs.values()):
            sock.close()

    def _schedule(self, sock: socket.socket, data: bytes, dest: tuple[str, int]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (time.monotonic() + self.delay, self._seq, sock, data, dest))

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            while self._queue and self._queue[0][0] <= now:
                _, _, sock, data, dest = heapq.heappop(self._queue)
                try:
                    sock.sendto(data, dest)
                    self.relayed += 1
                except OSError:
                    pass  # the far end is gone: a real network drops it too
            wait = min(0.05, max(0.0, self._queue[0][0] - now)) if self._queue else 0.05
            for key, _ in self._sel.select(wait):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                for _ in range(64):  # bounded drain per wake-up
                    try:
                        data, addr = sock.recvfrom(65535)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    if sock is self._front:
                        self._schedule(self._back_for(addr), data, self.upstream)
                    else:
                        self._schedule(self._front, data, self._client_of[sock])

    def _back_for(self, client: tuple[str, int]) -> socket.socket:
        back = self._backs.get(client)
        if back is None:
            back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            back.bind(("127.0.0.1", 0))
            back.setblocking(False)
            self._backs[client] = back
            self._client_of[back] = client
            self._sel.register(back, selectors.EVENT_READ)
        return back
