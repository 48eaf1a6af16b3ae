#!/usr/bin/env python3
"""The floor: the least work an OPTIONS check can do in CPython asyncio, against SIPp.

Why this exists: issue 14 asks monitord's saturated OPTIONS rate on one core
to reach 0.8x SIPp's UAC. This bench measures what CPython's asyncio itself
allows, with none of monitord in it: per check one `call_at` timer, one
OPTIONS datagram from a prebuilt template (only the branch and Call-ID
patched in), one timeout timer, and on the answer a Call-ID lookup, a
status check and the timeout cancelled. No transaction layer, no parser,
no state machine, no store, no metrics. If this floor is below 0.8x SIPp,
no monitoring daemon written in Python on asyncio reaches the ratio.

It ramps the check count (interval 1 s) the way `options_throughput --ramp`
does, until p99 scheduling lateness reaches 20 ms or probes fall behind;
then SIPp's UAC runs at its own maximum on the same core, in the same run,
and the ratio is printed. Both clients are pinned to CPU 0, the SIPp
responder to CPU 1. Loopback only; every phase is bounded in time.

    python bench/asyncio_floor.py [--checks 8000] [--duration 8] [--ramp-factor 1.25]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from hostspeed import HostSpeed  # noqa: E402
from options_throughput import (  # noqa: E402
    free_port,
    pct,
    search_max,
    sipp_max,
    start_sipp_responder,
)

TEMPLATE = (
    "OPTIONS sip:floor@127.0.0.1:{port} SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{{n:x}};rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:floor@127.0.0.1>;tag=floor\r\n"
    "To: <sip:floor@127.0.0.1:{port}>\r\n"
    "Call-ID: {{n:x}}@{run}\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)


class Floor(asyncio.DatagramProtocol):
    """Every check as two timers and a dict entry: the least an asyncio prober can be."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: tuple[str, int],
                 template: str, timeout: float) -> None:
        self.loop, self.target, self.template, self.timeout = loop, target, template, timeout
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[bytes, tuple[int, asyncio.TimerHandle]] = {}
        self.lateness: list[float] = []
        self.answered = self.failed = 0
        self.measuring = False
        self.serial = 0
        self.stopped = False
        self.run_id = f"floor{os.getpid()}x{time.monotonic_ns():x}"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def fire(self, check: int, due: float, interval: float) -> None:
        if self.stopped:
            return
        now = self.loop.time()
        if self.measuring:
            self.lateness.append(now - due)
        self.serial += 1
        n = self.serial
        key = f"{n:x}@{self.run_id}".encode()
        self.pending[key] = (check, self.loop.call_at(now + self.timeout, self.expire, key))
        assert self.transport is not None
        self.transport.sendto(self.template.format(n=n).encode(), self.target)
        self.loop.call_at(due + interval, self.fire, check, due + interval, interval)

    def expire(self, key: bytes) -> None:
        if self.pending.pop(key, None) is not None:
            self.failed += 1

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        i = data.find(b"\r\nCall-ID: ")
        if i < 0:
            return
        j = data.find(b"\r\n", i + 11)
        entry = self.pending.pop(data[i + 11:j], None)
        if entry is None:
            return
        entry[1].cancel()
        if data.startswith(b"SIP/2.0 200 "):
            self.answered += 1
        else:
            self.failed += 1


async def run(checks: int, interval: float, duration: float, port: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    me = sock.getsockname()[1]
    transport, proto = await loop.create_datagram_endpoint(
        lambda: Floor(loop, ("127.0.0.1", port), "", 2.0), sock=sock)
    proto.template = TEMPLATE.format(port=port, me=me, run=proto.run_id)
    start = loop.time() + 0.5
    for c in range(checks):
        due = start + interval * c / checks
        loop.call_at(due, proto.fire, c, due, interval)
    await asyncio.sleep(0.5 + 2 * interval)  # every check has run twice
    gc.collect()
    gc.freeze()  # the most generous floor: no collection walks the checks' state
    proto.measuring = True
    proto.answered = proto.failed = 0
    t0, c0 = time.monotonic(), time.process_time()
    await asyncio.sleep(duration)
    elapsed, cpu = time.monotonic() - t0, time.process_time() - c0
    proto.measuring = False
    proto.stopped = True
    done = proto.answered + proto.failed
    transport.close()
    return {
        "rate": done / elapsed, "failed": proto.failed,
        "p99": pct(proto.lateness, 0.99), "p50": pct(proto.lateness, 0.5),
        "cpu_per_1000": cpu / max(done, 1) * 1000,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checks", type=int, default=8000, help="first step of the ramp")
    ap.add_argument("--duration", type=float, default=8.0, help="measured seconds per step")
    ap.add_argument("--ramp-factor", type=float, default=1.25)
    ap.add_argument("--ramp-max", type=int, default=80_000, help="bound on the check count")
    args = ap.parse_args()
    if shutil.which("sipp") is None:
        print("sipp is not installed: run scripts/install-peers.sh", file=sys.stderr)
        return 2
    ours, theirs = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)
    if ours is not None:
        os.sched_setaffinity(0, {ours})
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        responder = start_sipp_responder(port, theirs, Path(tmp))
        try:
            best: tuple[int, dict[str, float]] | None = None
            host = HostSpeed()

            def attempt(count: float) -> bool:
                nonlocal best
                checks = int(count)
                host.read(f"floor {checks}")
                r = asyncio.run(run(checks, 1.0, args.duration, port))
                held = r["p99"] < 0.020 and r["rate"] >= 0.98 * checks and r["failed"] == 0
                print(f"floor: {checks:6d} checks @1s: {r['rate']:8.0f} probes/s, p50"
                      f" {r['p50'] * 1000:6.2f} ms, p99 {r['p99'] * 1000:8.2f} ms, failed"
                      f" {r['failed']:.0f}, {r['cpu_per_1000']:.4f} CPU s/1,000"
                      f" ({'held' if held else 'did not hold'})", flush=True)
                if held and (best is None or checks > best[0]):
                    best = (checks, r)
                return bool(held)

            search_max(attempt, args.checks, args.ramp_factor, limit=args.ramp_max)
            if best is None:
                print("floor: no step held; lower --checks")
                return 1
            count, r = best
            print(f"floor maximum on one core: {count} checks = {r['rate']:.0f} probes/s")
            host.read("SIPp")
            s = sipp_max(port, max(1000.0, r["rate"]), ours, Path(tmp))
            host.read("end")
            print(f"SIPp UAC maximum on the same core: {s['rate']:.0f}/s,"
                  f" {s['cpu_per_1000']:.4f} CPU s/1,000")
            print(f"ratio floor / SIPp: {r['rate'] / s['rate']:.2f} (issue 14 asks monitord >= 0.8);"
                  f" CPU per request {r['cpu_per_1000'] / s['cpu_per_1000']:.2f}x SIPp's")
            print(host.summary(compared=(f"floor {count}", "SIPp", "end")))
        finally:
            responder.terminate()
            responder.wait(timeout=10)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"(this process used {usage.ru_utime + usage.ru_stime:.1f} CPU s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
