#!/usr/bin/env python3
"""How many concurrent synthetic calls one event loop carries, against SIPp's RTP echo.

Places N calls (default 200) at once-ish (spread over `--ramp` seconds so the
INVITEs do not all leave in the same millisecond) from ONE asyncio loop, each
a full `SipCallProbe` call: INVITE, G.711 offer/answer, `--duration` seconds of
20 ms RTP paced by absolute deadlines, RTCP, BYE. The far end is SIPp's
built-in UAS with `-rtp_echo` on loopback. Prints:

* CPU seconds per call and per call-second (our process only),
* RTP send-pacing error |sent - deadline|: p50/p99/p99.9/max over every
  packet of every call (read from each call's RtpEndpoint through a bench-only
  hook), and the probe's own per-call p99 (median and worst call),
* measured loss on the clean loopback (should be 0) and the MOS range,
* SIPp's own figures from the same run as reference: its CPU time, and the
  call counters of its `-trace_stat` file.

Bounded: every call has its probe deadline and the whole run a hard timeout.
Loopback only. Our loop runs on the first CPU we may use, SIPp on the second. The aim from issue 4: 200 concurrent G.711 calls with p99
pacing error under 2 ms; from issue 14: 500 calls under 1 ms.

    python bench/call_capacity.py --calls 200 --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import probes.rtp.endpoint as endpoint  # noqa: E402
from probes.base import ProbeResult  # noqa: E402
from probes.rtp.pacer import Pacer  # noqa: E402
from probes.rtp.sender import WakeLead  # noqa: E402
from probes.sip.callprobe import CallProbeSettings, SipCallProbe  # noqa: E402
from probes.sip.transport import SipTransports  # noqa: E402
from probes.sip.uri import SipUri  # noqa: E402
from tests.integration.peers import free_port, media_port_block  # noqa: E402

SIPP_STAT_COLUMNS = ("IncomingCall(C)", "SuccessfulCall(C)", "FailedCall(C)", "CurrentCall",
                     "Retransmissions(C)", "OutOfCallMsgs(C)")


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Bench-only hook: every endpoint's per-packet pacing errors, keyed by endpoint, so a
# report() called twice for one call counts its packets once.
LATENESS: dict[int, list[float]] = {}
_report = endpoint.RtpEndpoint.report


def _recording_report(self: endpoint.RtpEndpoint) -> endpoint.MediaReport:
    session = self.session
    if session is not None:
        LATENESS[id(session)] = session.lateness
    return _report(self)


endpoint.RtpEndpoint.report = _recording_report  # type: ignore[method-assign]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def place_calls(args: argparse.Namespace, port: int) -> tuple[list[ProbeResult], float,
                                                                      float]:
    transports = SipTransports()
    await transports.start()
    loop = asyncio.get_running_loop()
    target = SipUri.parse(f"sip:echo@127.0.0.1:{port}")
    pacer = None if args.timer_per_call else Pacer()  # as the daemon's ProbeContext has it

    async def one(i: int) -> ProbeResult:
        await asyncio.sleep(args.ramp * i / args.calls)
        settings = CallProbeSettings(target, duration=args.duration, answer_timeout=5.0)
        return await SipCallProbe(settings, transports, pacer=pacer).run(
            loop.time() + settings.budget)

    cpu0, t0 = time.process_time(), time.monotonic()
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(args.calls))),
            timeout=args.ramp + args.duration + 30.0,
        )
    finally:
        await transports.close()
    return list(results), time.process_time() - cpu0, time.monotonic() - t0


def sipp_stats(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    rows = list(csv.reader(path.read_text().splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    last = dict(zip(rows[0], rows[-1], strict=False))
    return {k: last[k] for k in SIPP_STAT_COLUMNS if k in last}


def report(results: list[ProbeResult], cpu: float, wall: float, args: argparse.Namespace,
           sipp_cpu: float, stats: dict[str, str]) -> None:
    ok = [r for r in results if r.ok]
    m: list[Any] = [r.measurements for r in results]
    every = sorted(abs(x) for errors in LATENESS.values() for x in errors)
    p99s = [x["rtp_pacing_error_p99_seconds"] for x in m if "rtp_pacing_error_p99_seconds" in x]
    lost = sum(x.get("rtp_rx_lost", 0) for x in m)
    received = sum(x.get("rtp_rx_packets", 0) for x in m)
    sent = sum(x.get("rtp_tx_packets", 0) for x in m)
    losses = [x["rtp_rx_loss_ratio"] for x in m if "rtp_rx_loss_ratio" in x]
    mos = [x["mos"] for x in m if "mos" in x]
    setup = [x["call_setup_seconds"] for x in m if "call_setup_seconds" in x]
    reasons: dict[str, int] = {}
    for r in results:
        if r.reason is not None:
            reasons[r.reason.value] = reasons.get(r.reason.value, 0) + 1
    n = len(results)
    print(f"monitord: {n} concurrent calls of {args.duration:g}s media against SIPp -rtp_echo,"
          f" one event loop, ramp {args.ramp:g}s, send lead {'off' if args.no_lead else 'on'};"
          f" wall {wall:.1f}s")
    print(f"  answered with media both ways {len(ok):6d} / {n}   failures {reasons or 'none'}")
    print(f"  set-up time p50 / p99          {pct(setup, .5) * 1e3:8.2f} / "
          f"{pct(setup, .99) * 1e3:.2f} ms")
    print(f"  CPU per call                   {cpu / n * 1e3:8.1f} ms   "
          f"({cpu / (n * args.duration) * 1e3:.2f} ms per call-second; {cpu / wall:.0%} of a core)")
    print(f"  pacing error, all {len(every)} packets: p50 {pct(every, .5) * 1e3:.3f} ms,"
          f" p99 {pct(every, .99) * 1e3:.3f} ms (aim < 1 ms at 500 calls), p99.9 {pct(every, .999) * 1e3:.3f}"
          f" ms, max {every[-1] * 1e3:.3f} ms")
    print(f"  per-call pacing p99 median / worst call {statistics.median(p99s) * 1e3:.3f} / "
          f"{max(p99s) * 1e3:.3f} ms")
    print(f"  RTP sent / echoed back         {sent:8.0f} / {received:.0f}   lost {lost:.0f}"
          f" (loss mean {statistics.fmean(losses):.4%}, worst call {max(losses):.4%})")
    print(f"  MOS min / median               {min(mos):8.2f} / {statistics.median(mos):.2f}")
    print(f"reference: SIPp UAS -rtp_echo, same run: CPU {sipp_cpu:.2f}s"
          f" ({sipp_cpu / n * 1e3:.1f} ms per call, {sipp_cpu / wall:.0%} of a core)")
    for key, value in stats.items():
        print(f"  SIPp {key:27s}{value:>8s}")
    print("ratio (monitord / SIPp) CPU per call"
          f"            {cpu / sipp_cpu if sipp_cpu else float('nan'):8.2f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--duration", type=float, default=5.0, help="media seconds per call")
    p.add_argument("--ramp", type=float, default=1.0, help="seconds over which calls start")
    p.add_argument("--timer-per-call", action="store_true",
                   help="one send timer per call's stream, not one shared by all (before Pacer)")
    p.add_argument("--no-lead", action="store_true",
                   help="arm send timers exactly at the deadline (the pacing before WakeLead)")
    args = p.parse_args()
    if args.no_lead:  # WakeLead(lead=0, limit=0): the lead stays 0
        WakeLead.__init__.__defaults__ = (0.0, 0.1, 0.0)
    if not 1 <= args.calls <= 2000 or not 0.5 <= args.duration <= 60 or args.ramp < 0:
        p.error("need 1 <= --calls <= 2000, 0.5 <= --duration <= 60 and --ramp >= 0")
    if shutil.which("sipp") is None:
        print("sipp is not installed: run scripts/install-peers.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="monitord-callbench-") as tmp:
        workdir = Path(tmp)
        port, stat = free_port(), workdir / "sipp_stat.csv"
        argv = ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-cp", str(free_port()),
                "-t", "u1", "-mi", "127.0.0.1", "-mp", str(media_port_block()), "-rtp_echo",
                "-nostdin", "-trace_stat", "-stf", str(stat), "-fd", "1"]
        # our loop on one CPU, SIPp's echo on the other (as bench/options_throughput.py)
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            argv = ["taskset", "-c", str(cpus[1]), *argv]
            os.sched_setaffinity(0, {cpus[0]})
        sipp = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            if sipp.poll() is not None:
                raise SystemExit(f"SIPp exited with {sipp.returncode}")
            sipp0 = proc_cpu_seconds(sipp.pid)
            gc.collect()
            gc.freeze()  # as the daemon does once it has started (daemon._settle_heap)
            results, cpu, wall = asyncio.run(place_calls(args, port))
            sipp_cpu = proc_cpu_seconds(sipp.pid) - sipp0
            time.sleep(5.2)  # SIPp's uas counts a call after a 4 s timewait; then one -fd 1 row
        finally:
            sipp.terminate()
            sipp.wait(10)
        report(results, cpu, wall, args, sipp_cpu, sipp_stats(stat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
