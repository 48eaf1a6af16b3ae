"""UDP sockets that say when each datagram arrived on the wire, not when we read it.

Why: a probe's deadline is about the target, so it must be measured on the
wire. Under load an answer can wait in our own socket buffer or behind other
work in the event loop for seconds; stamped when our code got round to it, a
2 ms answer becomes a timeout and the target is blamed for our slowness. So:

- the kernel stamps each datagram as it is queued (SO_TIMESTAMPNS, socket(7))
  and `receive` converts that stamp to the loop's monotonic clock;
- `receive` reads many datagrams per call (asyncio's datagram transport reads
  one per loop iteration, which lets a busy loop fall behind its own socket);
- `drops` reads the kernel's count of datagrams it threw away because our
  receive buffer was full (SO_MEMINFO), so an answer we lost ourselves is
  never taken for silence from the target.

Linux only in its precise form; elsewhere a datagram is stamped when read and
no drops are reported (what asyncio gives, no worse). Until the kernel has
switched its timestamping on (a few milliseconds after the first socket asks)
datagrams are also stamped when read, which only ever makes them look later.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RECEIVE_BUFFER", "Datagram", "drops", "enable_timestamps", "receive_one"]

LINUX = sys.platform.startswith("linux")
SO_TIMESTAMPNS: int = getattr(socket, "SO_TIMESTAMPNS", 35)  # <asm-generic/socket.h>
SO_MEMINFO = 55  # <asm-generic/socket.h>; the value array is SK_MEMINFO_*
SK_MEMINFO_DROPS = 8
_TIMESPEC = struct.Struct("@ll")  # struct timespec: tv_sec, tv_nsec
_TIMESPEC_SIZE = _TIMESPEC.size
_unpack_timespec = _TIMESPEC.unpack_from
_SOL_SOCKET = socket.SOL_SOCKET
_wall = time.time  # looked up once: `receive_one` runs for every datagram
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) if LINUX else 0
# A stamp older than this is a clock step (CLOCK_REALTIME moved), not a queue.
MAX_QUEUE_AGE = 120.0
# One socket answers for every target: give bursts room (capped at net.core.rmem_max).
RECEIVE_BUFFER = 4 * 1024 * 1024


@dataclass(slots=True)
class Datagram:
    """One datagram read. A value, yet not frozen: one is made per datagram, and a frozen
    dataclass's `__init__` sets each field through `object.__setattr__`."""

    data: bytes
    source: tuple[object, ...]  # the socket address as the kernel gave it
    arrival: float  # when it reached our socket, on the loop's clock


def enable_timestamps(sock: socket.socket, receive_buffer: int = RECEIVE_BUFFER) -> None:
    """Ask for kernel arrival stamps and a receive buffer that absorbs bursts."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    if LINUX:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


def receive_one(sock: socket.socket, now: Callable[[], float]) -> Datagram | None:
    """One queued datagram with its arrival time, or None when the queue is empty.

    `now` is the loop's clock. Raises OSError as recvmsg does (with IP_RECVERR
    a queued ICMP error surfaces here; the caller drains the error queue).
    """
    if not LINUX:
        try:
            data, source = sock.recvfrom(65535)
        except (BlockingIOError, InterruptedError):
            return None
        return Datagram(data, source, now())
    try:
        data, ancillary, _, source = sock.recvmsg(65535, _ANCILLARY)
    except (BlockingIOError, InterruptedError):
        return None
    loop_now = now()
    for level, kind, payload in ancillary:
        if level == _SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= _TIMESPEC_SIZE:
            sec, nsec = _unpack_timespec(payload)
            age = _wall() - (sec + nsec * 1e-9)
            if 0.0 < age < MAX_QUEUE_AGE:
                return Datagram(data, source, loop_now - age)
    return Datagram(data, source, loop_now)


def drops(sock: socket.socket) -> int | None:
    """Datagrams the kernel dropped on this socket so far (buffer full), if it says."""
    if not LINUX:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * (SK_MEMINFO_DROPS + 1))
    except OSError:
        return None
    if len(raw) < 4 * (SK_MEMINFO_DROPS + 1):
        return None
    return int(struct.unpack_from("=I", raw, 4 * SK_MEMINFO_DROPS)[0])
