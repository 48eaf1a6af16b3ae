"""Kernel arrival stamps and drop counts on loopback UDP (Linux)."""

from __future__ import annotations

import socket
import time

import pytest

from probes.datagrams import LINUX, drops, enable_timestamps, receive_one

pytestmark = pytest.mark.skipif(not LINUX, reason="SO_TIMESTAMPNS and SO_MEMINFO are Linux's")


def _pair(receive_buffer: int = 1 << 20) -> tuple[socket.socket, socket.socket]:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setblocking(False)
    enable_timestamps(rx, receive_buffer)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return rx, tx


def test_a_datagram_that_waited_in_our_buffer_is_dated_when_it_arrived() -> None:
    rx, tx = _pair()
    with rx, tx:
        time.sleep(0.05)  # the kernel switches its timestamping on a moment after we ask
        tx.sendto(b"answer", rx.getsockname())
        sent = time.monotonic()
        time.sleep(0.3)  # our loop is busy elsewhere
        got = receive_one(rx, time.monotonic)
        read = time.monotonic()
        assert got is not None and got.data == b"answer"
        assert sent - 0.01 <= got.arrival <= sent + 0.05, (sent, got.arrival, read)
        assert receive_one(rx, time.monotonic) is None  # empty: never blocks


def test_datagrams_our_full_buffer_dropped_are_counted() -> None:
    rx, tx = _pair(receive_buffer=2048)  # the kernel doubles it; a few datagrams fit
    with rx, tx:
        before = drops(rx)
        assert before is not None
        for _ in range(200):
            tx.sendto(b"x" * 512, rx.getsockname())
        after = drops(rx)
        assert after is not None and after - before > 100
