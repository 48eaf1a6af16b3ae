#!/usr/bin/env python3
"""How many SNMP polls one monitord core sustains, against a net-snmp `snmpget` loop.

N simulated devices (N SNMP checks, all served by one net-snmp snmpd on
loopback, pinned to another CPU when there is one) are each polled every I
seconds through the daemon's shared SnmpClient and the real snmp_up probe,
with bounded concurrency. Prints polls/s, p50/p99 poll latency and CPU
seconds per 1,000 polls; then, in the same run, a loop of `snmpget`
processes (the fork-per-check way older monitors work) polls the same agent
for the same time, as the reference ratio. Bounded: each phase has a fixed
duration and stops by itself. Loopback only.

    python bench/snmp_poll.py --devices 500 --interval 1 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from probes.snmp.client import SnmpAuth, SnmpClient, SnmpEndpoint  # noqa: E402
from probes.snmp.up import SnmpUpProbe  # noqa: E402
from tests.integration.peers import SNMPD_COMMUNITY, free_port, snmpd  # noqa: E402


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


async def poll(port: int, devices: int, interval: float, duration: float, concurrency: int) -> dict[str, float]:
    client = SnmpClient()
    auth = SnmpAuth("v2c", community=SNMPD_COMMUNITY)
    probes = [SnmpUpProbe(SnmpEndpoint("127.0.0.1", port, auth, retries=1), client) for _ in range(devices)]
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failures = 0
    await probes[0].run(loop.time() + 2)  # engine start-up is not what we measure
    start = loop.time()
    end = start + duration
    cpu0 = time.process_time()

    async def device(i: int, probe: SnmpUpProbe) -> None:
        nonlocal failures
        slot = start + i * interval / devices
        while slot < end:  # bounded by the duration
            await asyncio.sleep(max(0.0, slot - loop.time()))
            async with gate:
                t0 = loop.time()
                result = await probe.run(t0 + interval)
                latencies.append(loop.time() - t0)
                failures += not result.ok
            slot += interval

    await asyncio.gather(*(device(i, p) for i, p in enumerate(probes)))
    wall = loop.time() - start
    cpu = time.process_time() - cpu0
    await client.close()
    latencies.sort()
    n = len(latencies)
    return {
        "polls": n,
        "failures": failures,
        "rate": n / wall,
        "p50": statistics.median(latencies) if n else 0.0,
        "p99": latencies[min(n - 1, int(n * 0.99))] if n else 0.0,
        "cpu_per_1000": cpu / n * 1000 if n else 0.0,
    }


def snmpget_loop(port: int, duration: float) -> dict[str, float]:
    binary = shutil.which("snmpget")
    if binary is None:
        return {"polls": 0, "rate": 0.0, "cpu_per_1000": 0.0}
    argv = [binary, "-v2c", "-c", SNMPD_COMMUNITY, "-r", "1", "-t", "1", "-On",
            f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    polls = failures = 0
    while time.monotonic() - start < duration:  # bounded by the duration
        done = subprocess.run(argv, capture_output=True, timeout=10, env={**os.environ, "MIBS": ""})
        polls += 1
        failures += done.returncode != 0
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"polls": polls, "failures": failures, "rate": polls / wall, "cpu_per_1000": cpu / polls * 1000}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between polls of one device")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    ap.add_argument("--concurrency", type=int, default=256, help="polls in flight at most")
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="snmp-bench-") as tmp:
        agent = snmpd(port, Path(tmp))
        agent.start()
        try:
            if agent.pid is not None and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(agent.pid, {1})
            _pin(0)
            ours = asyncio.run(poll(port, args.devices, args.interval, args.duration, args.concurrency))
            ref = snmpget_loop(port, args.duration)
        finally:
            agent.stop()
    target = args.devices / args.interval
    print(f"snmp_poll: {args.devices} devices every {args.interval:g}s (target {target:.0f} polls/s),"
          f" {args.duration:g}s per phase, one snmpd on 127.0.0.1, monitord pinned to one core")
    print(f"  monitord : {ours['polls']:.0f} polls, {ours['failures']:.0f} failed, {ours['rate']:.0f} polls/s,"
          f" p50 {ours['p50'] * 1000:.2f} ms, p99 {ours['p99'] * 1000:.2f} ms,"
          f" {ours['cpu_per_1000']:.3f} CPU s per 1,000 polls")
    print(f"  snmpget  : {ref['polls']:.0f} polls, {ref['rate']:.0f} polls/s (one process per poll),"
          f" {ref['cpu_per_1000']:.3f} CPU s per 1,000 polls")
    if ref["rate"]:
        print(f"  ratio    : monitord {ours['rate'] / ref['rate']:.1f}x the snmpget loop's rate,"
              f" {ref['cpu_per_1000'] / max(ours['cpu_per_1000'], 1e-9):.1f}x less CPU per poll")
    return 0


if __name__ == "__main__":
    sys.exit(main())
