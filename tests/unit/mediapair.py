"""Two media cores wired together with no sockets (the media twin of sip/callpair.py).

A caller `MediaSession` and a far end (an echo, our answer point, or nobody)
exchange bytes over two one-way `Link`s that can drop, delay, rewrite or
reflect packets; the fake clock jumps to the next thing either core or the
network has due. A `CallJudge` can ride along, so media stopping mid-call is
judged with the same timers the probe arms.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from probes.rtp.session import MediaReport, MediaSession, MediaSettings
from probes.sip.verdict import CallJudge


@dataclass
class Link:
    """One direction of the network. Callbacks get the packet's index on this link."""

    drop: Callable[[int, float], bool] = lambda i, now: False  # RTP only
    delay: Callable[[int], float] = lambda i: 0.001
    rewrite: Callable[[bytes], bytes] = lambda data: data  # RTP only
    reflect: bool = False  # RTP goes back to its sender (a broken relay loops it)
    carried: int = 0


@dataclass
class MediaPair:
    caller: MediaSession
    far: MediaSession | None
    up: Link = field(default_factory=Link)  # caller -> far
    down: Link = field(default_factory=Link)  # far -> caller
    now: float = 0.0
    judge: CallJudge | None = None
    _queue: list[tuple[float, int, str, str, bytes]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def make(cls, caller: MediaSettings, far: MediaSettings | None, **kw: object) -> MediaPair:
        a = MediaSession(caller, ssrc=0x1111, first_sequence=65500, first_timestamp=4_000_000_000)
        b = None if far is None else MediaSession(far, ssrc=0x2222, first_sequence=100,
                                                  first_timestamp=7)
        return cls(a, b, **kw)  # type: ignore[arg-type]

    def start(self) -> None:
        self.caller.start(self.now)
        if self.far is not None and not self.far.s.echo:
            self.far.start(self.now)

    def _send(self, sender: str, kind: str, data: bytes) -> None:
        link = self.up if sender == "a" else self.down
        i = link.carried
        link.carried += 1
        if kind == "rtp":
            if link.drop(i, self.now):
                return
            data = link.rewrite(data)
        to = ("a" if sender == "a" else "b") if link.reflect and kind == "rtp" else \
            ("b" if sender == "a" else "a")
        heapq.heappush(self._queue, (self.now + link.delay(i), next(self._seq), to, kind, data))

    def _deliver(self, to: str, kind: str, data: bytes) -> None:
        session = self.caller if to == "a" else self.far
        if session is None:
            return
        reflect = (session.receive_rtp(data, self.now) if kind == "rtp"
                   else session.receive_rtcp(data, self.now))
        if reflect:
            self._send(to, kind, data)

    def _timers(self) -> list[float]:
        out = [self._queue[0][0]] if self._queue else []
        for s in (self.caller, self.far):
            if s is None:
                continue
            out += [t for t in (s.next_rtp_deadline(), s.next_rtcp_at()) if t is not None]
        if self.judge is not None:
            t = self.judge.get_timer(self.caller.last_rx_at, self.now)
            if t is not None:
                out.append(t)
        return out

    def run(self, until: float) -> None:
        for _ in range(1_000_000):
            for name, s in (("a", self.caller), ("b", self.far)):
                if s is None:
                    continue
                for data in s.rtp_due(self.now):
                    s.sent_at(self.now)
                    self._send(name, "rtp", data)
                rtcp = s.rtcp_due(self.now)
                if rtcp is not None:
                    self._send(name, "rtcp", rtcp)
            while self._queue and self._queue[0][0] <= self.now:
                _, _, to, kind, data = heapq.heappop(self._queue)
                self._deliver(to, kind, data)
            if self.judge is not None:
                self.judge.handle_timer(self.now, self.caller.last_rx_at)
                if self.judge.done:
                    return
            timers = [t for t in self._timers() if t > self.now]
            if not timers or min(timers) > until:
                self.now = until
                return
            self.now = min(timers)
        raise AssertionError("media pair did not settle")

    def finish(self) -> MediaReport:
        """Stop both sides, let the last packets (and the BYEs) arrive, report the caller."""
        for name, s in (("a", self.caller), ("b", self.far)):
            if s is not None:
                bye = s.stop(self.now)
                if bye is not None:
                    self._send(name, "rtcp", bye)
        self.run(self.now + 0.5)
        return self.caller.report()
