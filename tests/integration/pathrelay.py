"""A location's network path to a target: a UDP relay that can be cut, and that keeps the
probe history it carried.

A fleet test gives each location its own relay in front of the real target
(SIPp); cutting the relay cuts that location's path only, as a broken
uplink at one site would (packets vanish: the probes time out). Every SIP
request it sees is recorded with the wall clock, its Request-URI user and
whether an answer came back, so a test can set the judged record against
the probes that were really sent: an independent probe history. Runs in a
thread; every loop is bounded by `stop()`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass

from tests.integration.udprelay import Address, UdpRelay

_REQUEST = re.compile(rb"^([A-Z]+) sip:([^@\s;>]+)@")
_CALL_ID = re.compile(rb"^(?:Call-ID|i):\s*(\S+)", re.MULTILINE | re.IGNORECASE)


@dataclass
class Probe:
    """One request (its retransmissions are the same probe: same Call-ID)."""

    at: float  # wall clock (time.time()) when the relay first saw the request
    user: str  # the Request-URI user: names the check in these tests
    client: Address
    relayed: bool  # False: the path was cut
    answered_at: float | None = None  # when the first answer passed back

    def answered_within(self, seconds: float) -> bool:
        return self.answered_at is not None and self.answered_at - self.at <= seconds


class PathRelay(UdpRelay):
    DRAIN = 256

    def __init__(self, upstream: Address) -> None:
        super().__init__(upstream, "path-relay")
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self.probes: list[Probe] = []
        self._by_call: dict[bytes, Probe] = {}

    def cut(self) -> float:
        """From now on nothing passes (both ways); returns the wall clock of the cut."""
        self._cut.set()
        return time.time()

    def mend(self) -> float:
        self._cut.clear()
        return time.time()

    def history(self, user: str) -> list[Probe]:
        with self._lock:
            return [p for p in self.probes if p.user == user]

    def _from_client(self, data: bytes, client: Address) -> None:
        cut = self._cut.is_set()
        match = _REQUEST.match(data)
        call = _CALL_ID.search(data)
        if match is not None:
            with self._lock:
                if call is None or call.group(1) not in self._by_call:  # not a retransmission
                    probe = Probe(time.time(), match.group(2).decode(errors="replace"), client,
                                  not cut)
                    self.probes.append(probe)
                    if call is not None:
                        self._by_call[call.group(1)] = probe
        if cut:
            return
        with contextlib.suppress(OSError):  # the target is down: a real network drops it too
            self._back_for(client).sendto(data, self.upstream)

    def _from_upstream(self, back: socket.socket, data: bytes) -> None:
        if self._cut.is_set():
            return
        call = _CALL_ID.search(data)
        if call is not None:
            with self._lock:
                probe = self._by_call.get(call.group(1))
                if probe is not None and probe.answered_at is None:
                    probe.answered_at = time.time()
        with contextlib.suppress(OSError):
            self._front.sendto(data, self._client_of[back])
