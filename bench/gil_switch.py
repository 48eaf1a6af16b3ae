#!/usr/bin/env python3
"""Why the daemon sets a 0.5 ms GIL switch interval: a loop's lateness next to a busy thread.

One asyncio loop fires 3,000 timers a second, each sending a 300-byte UDP
datagram to a socket the same loop reads (loopback, this process only);
a worker thread burns 40 ms of pure-Python CPU once a second, as a /metrics
render or an SLA refresh does in the daemon. Printed per switch interval:
the timers' lateness p50/p99/max. The reference is the same run with no
worker thread. Pinned to one CPU; each run lasts `--seconds`, bounded.

    python bench/gil_switch.py [--seconds 10] [--burst-ms 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import threading
import time


def burn(seconds: float) -> None:
    t0 = time.thread_time()
    x = 0
    while time.thread_time() - t0 < seconds:
        for i in range(200):
            x += i


async def measure(seconds: float, burst: float, rate: int) -> list[float]:
    loop = asyncio.get_running_loop()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (tx, rx):
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
    dest = rx.getsockname()

    def read() -> None:
        while True:
            try:
                rx.recvfrom(2048)
            except BlockingIOError:
                return

    loop.add_reader(rx.fileno(), read)
    late: list[float] = []
    running = True

    def fire(due: float) -> None:
        if not running:
            return
        late.append(loop.time() - due)
        tx.sendto(b"x" * 300, dest)
        loop.call_at(due + 1.0, fire, due + 1.0)

    start = loop.time() + 0.2
    for i in range(rate):
        loop.call_at(start + i / rate, fire, start + i / rate)
    stop = threading.Event()

    def worker() -> None:
        while not stop.wait(1.0):
            burn(burst)

    thread = threading.Thread(target=worker, daemon=True) if burst > 0 else None
    if thread is not None:
        thread.start()
    await asyncio.sleep(seconds + 0.2)
    running = False
    stop.set()
    if thread is not None:
        thread.join()
    loop.remove_reader(rx.fileno())
    tx.close()
    rx.close()
    return sorted(late)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--burst-ms", type=float, default=40.0)
    ap.add_argument("--rate", type=int, default=3000, help="timed sends per second")
    args = ap.parse_args()
    if not 1 <= args.seconds <= 120:
        ap.error("--seconds must be within 1..120")
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    default = sys.getswitchinterval()
    runs = [("no worker thread (reference)", default, 0.0)] + [
        (f"switch interval {si * 1000:g} ms", si, args.burst_ms / 1000)
        for si in (0.005, 0.001, 0.0005, 0.0002)
    ]
    print(f"{args.rate} timed sends/s for {args.seconds:g} s; worker burst {args.burst_ms:g} ms"
          f" of CPU once a second; CPU {cpus[0]}; machine shared")
    for label, si, burst in runs:
        sys.setswitchinterval(si)
        late = asyncio.run(measure(args.seconds, burst, args.rate))
        n = len(late)
        print(f"  {label:<30} lateness p50 {late[n // 2] * 1000:6.2f}  p99"
              f" {late[int(n * 0.99)] * 1000:6.2f}  max {late[-1] * 1000:6.2f} ms")
    sys.setswitchinterval(default)
    return 0


if __name__ == "__main__":
    sys.exit(main())
