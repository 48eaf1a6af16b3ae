"""A UDP relay on loopback in a thread: the part every test relay shares.

Each client gets a socket of its own towards `upstream`, so the answers find
their way back to whoever asked; what happens to a datagram on the way is
the subclass's (`_from_client`, `_from_upstream`). Every loop is bounded by
`stop()`, and each wake-up drains at most `DRAIN` datagrams per socket.
"""

from __future__ import annotations

import selectors
import socket
import threading
from typing import Self

Address = tuple[str, int]


class UdpRelay:
    DRAIN = 64

    def __init__(self, upstream: Address, name: str) -> None:
        self.upstream = upstream
        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.bind(("127.0.0.1", 0))
        self._front.setblocking(False)
        self.port = int(self._front.getsockname()[1])
        self._backs: dict[Address, socket.socket] = {}  # client -> its socket towards upstream
        self._client_of: dict[socket.socket, Address] = {}
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._front, selectors.EVENT_READ)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-{self.port}", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sel.close()
        for sock in (self._front, *self._backs.values()):
            sock.close()

    def _idle(self) -> float:
        """Called before each wait: how long to wait for datagrams at most (seconds)."""
        return 0.05

    def _from_client(self, data: bytes, client: Address) -> None:
        raise NotImplementedError

    def _from_upstream(self, back: socket.socket, data: bytes) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._sel.select(self._idle()):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                for _ in range(self.DRAIN):
                    try:
                        data, addr = sock.recvfrom(65535)
                    except OSError:  # drained (BlockingIOError), or closed under us
                        break
                    if sock is self._front:
                        self._from_client(data, addr)
                    else:
                        self._from_upstream(sock, data)

    def _back_for(self, client: Address) -> socket.socket:
        back = self._backs.get(client)
        if back is None:
            back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            back.bind(("127.0.0.1", 0))
            back.setblocking(False)
            self._backs[client] = back
            self._client_of[back] = client
            self._sel.register(back, selectors.EVENT_READ)
        return back
