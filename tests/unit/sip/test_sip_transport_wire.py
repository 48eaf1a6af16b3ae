"""Transactions judged on the wire: our own lateness is never the target's timeout.

The peer here runs in a thread so it keeps answering while the test blocks
the event loop, as an overloaded daemon's loop is blocked by its own work.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from probes.base import FailureReason, ProbeResult
from probes.sip.dns import DnsResolver
from probes.sip.message import Request, Response, parse_message
from probes.sip.options import OptionsSettings, SipOptionsProbe
from probes.sip.transport import SipTransports
from probes.sip.uas import build_response
from probes.sip.uri import SipUri


class ThreadPeer:
    """Answers every OPTIONS with 200 at once (or stays silent), from its own thread; or
    ignores the first `skip` requests and answers later ones after `delay` seconds."""

    def __init__(self, silent: bool = False, skip: int = 0, delay: float = 0.0) -> None:
        self.skip, self.delay = skip, delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.silent = silent
        self.answered = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.datagram(data, addr)

    def datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        """One datagram received (in its own thread): parsed, then handled."""
        self.handle(parse_message(data), addr)

    def handle(self, message: Request | Response, addr: tuple[str, int]) -> None:
        """What the peer does with one message it received (in its own thread)."""
        if self.skip > 0:
            self.skip -= 1
            return
        time.sleep(self.delay)
        if isinstance(message, Request) and not self.silent:
            self.sock.sendto(build_response(message, 200, "OK").serialize(), addr)
            self.answered.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def peer() -> Iterator[ThreadPeer]:
    p = ThreadPeer()
    yield p
    p.close()


@pytest.fixture
def silent() -> Iterator[ThreadPeer]:
    p = ThreadPeer(silent=True)
    yield p
    p.close()


async def probe(transports: SipTransports, port: int, timeout: float,
                t1: float = 0.5) -> asyncio.Task[ProbeResult]:
    settings = OptionsSettings(SipUri.parse(f"sip:127.0.0.1:{port}"), t1=t1, t2=max(t1, 4.0))
    deadline = asyncio.get_running_loop().time() + timeout
    task = asyncio.create_task(SipOptionsProbe(settings, transports).run(deadline))
    await asyncio.sleep(0)  # the request leaves
    return task


async def test_an_answer_that_waited_while_our_loop_was_blocked_counts_when_it_arrived(
    transports: SipTransports, peer: ThreadPeer
) -> None:
    await asyncio.sleep(0.05)  # the kernel's timestamping is on
    task = await probe(transports, peer.port, timeout=0.3)
    assert await asyncio.to_thread(peer.answered.wait, 2)
    time.sleep(0.6)  # blocked far past the deadline, the 200 waiting in our socket
    result = await task
    assert result.ok, result.detail
    assert result.latency is not None and result.latency < 0.1  # not the 0.6 s we sat on it


async def test_silence_while_we_sent_on_time_is_a_timeout(
    transports: SipTransports, silent: ThreadPeer
) -> None:
    result = await (await probe(transports, silent.port, timeout=0.3))
    assert result.reason is FailureReason.TIMEOUT and not result.inconclusive


async def test_silence_after_our_retransmission_left_late_is_inconclusive(
    transports: SipTransports, silent: ThreadPeer
) -> None:
    task = await probe(transports, silent.port, timeout=1.0, t1=0.1)
    await asyncio.sleep(0.05)
    time.sleep(0.4)  # Timer E (due at 0.1 s) fires 0.35 s late
    result = await task
    assert result.inconclusive and result.reason is None, result.detail
    assert "our daemon sent the request" in result.detail and "late" in result.detail


async def test_an_answer_past_the_deadline_to_a_retransmission_we_sent_late_is_inconclusive(
    transports: SipTransports,
) -> None:
    """The first request is lost, and our loop sends the retransmission 0.25 s late: its
    answer lands past the deadline, which an on-time retransmission's would not have."""
    slow = ThreadPeer(skip=1, delay=0.2)
    try:
        await asyncio.sleep(0.05)  # the kernel's timestamping is on
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, time.sleep, 0.3)  # Timer E (due at 0.1 s) fires at 0.35 s
        loop.call_later(0.4, time.sleep, 0.3)  # the deadline (0.5 s) is looked at by 0.7 s
        result = await (await probe(transports, slow.port, timeout=0.5, t1=0.1))
    finally:
        slow.close()
    assert result.inconclusive and result.reason is None, result.detail
    assert "after the probe deadline" in result.detail and "late" in result.detail


async def test_silence_while_our_socket_dropped_datagrams_is_inconclusive(
    transports: SipTransports, silent: ThreadPeer
) -> None:
    task = await probe(transports, silent.port, timeout=0.5)
    flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with flood:  # junk that overflows our receive buffer while our loop is blocked
        ours = ("127.0.0.1", transports.udp_port())
        for _ in range(100):  # bounded: 500,000 datagrams at most
            if transports.stats.socket_drops:
                break
            for _ in range(5000):
                flood.sendto(b"x", ours)
    result = await task
    assert transports.stats.socket_drops > 0
    assert result.inconclusive, result.detail
    assert "our socket dropped" in result.detail


class RecordingPeer(ThreadPeer):
    """Silent, but notes when each request (by Call-ID) arrived, on the loop's clock."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        super().__init__(silent=True)

    def handle(self, message: Request | Response, addr: tuple[str, int]) -> None:
        call_id = message.headers.get("Call-ID") or ""
        self.arrivals.setdefault(call_id, []).append(time.monotonic())


async def test_transactions_sharing_the_loop_timer_keep_each_their_own_timers() -> None:
    """Timer E of each transaction, and its deadline, as if each had a loop timer of its own."""
    peer = RecordingPeer()
    transports = SipTransports()
    await transports.start()
    try:
        t1s = (0.05, 0.08, 0.13)
        tasks = [await probe(transports, peer.port, timeout=0.5, t1=t1) for t1 in t1s]
        results = await asyncio.gather(*tasks)
        await asyncio.sleep(0.05)
    finally:
        await transports.close()
        peer.close()
    # E doubles from T1: sent at 0, T1, 3 T1, 7 T1 ... while before the 0.5 s deadline
    expected = [sum(1 for k in range(6) if (2**k - 1) * t1 < 0.5) for t1 in t1s]
    assert [r.measured.exported()["sip_transmissions"] for r in results  # type: ignore[union-attr]
            ] == expected, [r.detail for r in results]
    assert all(r.reason is FailureReason.TIMEOUT and not r.inconclusive for r in results), \
        [(r.reason, r.detail) for r in results]
    assert all("(probe deadline)" in r.detail for r in results)
    for t1, times in zip(sorted(t1s), sorted(peer.arrivals.values(), key=lambda a: a[1] - a[0]),
                         strict=True):
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= t1 * 2**k - 0.005 for k, gap in enumerate(gaps)), (t1, gaps)


async def test_answered_transactions_do_not_pile_up_in_the_timer_heap(
    transports: SipTransports, peer: ThreadPeer
) -> None:
    """Each answer cancels its transaction's timer; the heap sheds the cancelled entries
    once they outnumber the live ones, so it stays as small as what is in flight."""
    await asyncio.sleep(0.05)
    for _ in range(300):
        result = await (await probe(transports, peer.port, timeout=2.0))
        assert result.ok, result.detail
    timers = transports._timers.heap
    assert len(timers) <= 2 * 65 and timers.stale == sum(1 for e in timers._heap if e[2] is None)


class EchoPeer(ThreadPeer):
    """Answers every OPTIONS with 200 by rewriting its text, no parse: fast enough to keep
    up with a burst of requests from the loop (it shares the GIL with the test)."""

    def datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        lines = data.split(b"\r\n")
        keep = [ln for ln in lines[1:] if ln.split(b":", 1)[0] in _ECHOED]
        self.sock.sendto(b"\r\n".join([b"SIP/2.0 200 OK", *keep, b"Content-Length: 0",
                                       b"", b""]), addr)


_ECHOED = (b"Via", b"From", b"To", b"Call-ID", b"CSeq")


async def test_a_burst_of_requests_does_not_overflow_our_receive_buffer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A daemon that fell behind starts its late probes in one loop turn. Their answers
    must not pile up unread until the buffer overflows (each lost one a probe not
    judged): the sends read the socket between them (`DatagramEndpoint.catch_up`)."""
    import probes.sip.datagram as datagram_module

    real = datagram_module.enable_timestamps

    def small_buffer(sock: socket.socket, receive_buffer: int = 0) -> None:
        real(sock, 256 * 1024)  # room for a few hundred answers, not for the whole burst

    monkeypatch.setattr(datagram_module, "enable_timestamps", small_buffer)
    peer = EchoPeer()
    transports = SipTransports()
    await transports.start()
    try:
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        settings = OptionsSettings(SipUri.parse(f"sip:127.0.0.1:{peer.port}"))
        probes = [SipOptionsProbe(settings, transports, DnsResolver()) for _ in range(1500)]
        deadline = loop.time() + 3.0
        tasks = [asyncio.create_task(p.run(deadline)) for p in probes]  # all in one turn
        results = await asyncio.gather(*tasks)
        drops = transports.stats.socket_drops
    finally:
        await transports.close()
        peer.close()
    assert drops == 0
    assert all(r.ok for r in results), {r.detail for r in results if not r.ok}
