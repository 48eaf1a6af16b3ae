"""A hostile UDP relay: 5 bytes of junk (b"\\x00junk") before every 200 it forwards.

A fake for the hostile part only: no real SIP program sends garbage on
purpose, yet a keep-alive with a stray byte, a scanner, or a spoofed packet
to our fixed shared port does exactly this. Everything else is real: the
requests go to SIPp and its answers come back unchanged, from the same
address as the junk. Built on `DelayRelay` with no delay.
"""

from __future__ import annotations

import socket

from tests.integration.delayrelay import DelayRelay

JUNK = b"\x00junk"


class JunkRelay(DelayRelay):
    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__(upstream, delay=0.0)
        self.junk_sent = 0

    def _schedule(self, sock: socket.socket, data: bytes, dest: tuple[str, int]) -> None:
        if sock is self._front and data.startswith(b"SIP/2.0 200"):
            super()._schedule(sock, JUNK, dest)
            self.junk_sent += 1
        super()._schedule(sock, data, dest)
