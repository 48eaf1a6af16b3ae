#!/usr/bin/env python3
"""How many SIP OPTIONS checks one daemon core sustains, against SIPp as reference.

Runs the real daemon (scheduler, probes, state machines, SQLite store, HTTP)
in this process, pinned to one CPU, with N checks at interval I against a
SIPp OPTIONS responder pinned to another. Prints achieved probes/s, p50/p99
scheduling lateness, CPU seconds per 1,000 probes and RSS per check; then, in
the same run, SIPp's own UAC sends the same number of OPTIONS at the same
rate on the same core, as the reference ratio. Bounded: every phase has a
fixed duration or request count and stops by itself. Loopback only.

    python bench/options_throughput.py --checks 2000 --interval 1 --duration 20

With `--scrape-every S`, curl (on the other CPU) scrapes /metrics every S
seconds through HTTP while lateness is measured. With `--ramp`, the check
count grows by `--ramp-factor` from `--checks` until p99 lateness reaches
20 ms (or probes fall behind their slots): the highest count that held is
the daemon's maximum on one core; then SIPp's UAC is run at its own maximum
on the same core, and the ratio of the two rates printed. Every run prints
the /metrics render cost scaled to 10,000 checks. With `--outage refused|silent`
every check points at a dead target instead (a site-wide outage: each check goes
DOWN and stays), which is when the record costs most:

    python bench/options_throughput.py --outage silent --checks 8000 --interval 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hostspeed import HostSpeed  # noqa: E402

from monitord.config import parse_config  # noqa: E402
from monitord.daemon import Daemon  # noqa: E402
from monitord.logsetup import configure_logging  # noqa: E402
from probes.datagrams import RECEIVE_BUFFER  # noqa: E402

SCENARIOS = ROOT / "tests" / "integration" / "peers"
# Both SIPp processes get the receive buffer the daemon's SIP socket asks for. SIPp's
# default (64 KB, ~100 answers) makes its UAC drop its own answers in any scheduling
# hiccup above ~10,000 requests/s: it then waits out Timer F and "collapses" to a few
# thousand per second (exit 255). That is a buffer we did not give it, not its maximum.
SIPP_BUFFER = RECEIVE_BUFFER


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def start_sipp_responder(port: int, cpu: int | None, workdir: Path) -> subprocess.Popen[bytes]:
    argv = [
        "sipp", "-sf", str(SCENARIOS / "uas_options.xml"), "-i", "127.0.0.1", "-p", str(port),
        "-cp", str(free_port()), "-t", "u1", "-nostdin", "-max_recv_loops", "10000",
        # the reference peer must not be what drops a daemon's burst (a production
        # SBC's buffer is larger than SIPp's default)
        "-buff_size", str(SIPP_BUFFER),
    ]  # fmt: skip
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    proc = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    if proc.poll() is not None:
        raise SystemExit(f"SIPp responder exited with {proc.returncode}")
    return proc


async def scraper(port: int, every: float, stop: asyncio.Event, cpu: int | None) -> int:
    """Scrape /metrics over HTTP every `every` seconds until `stop` (curl, on `cpu`)."""
    scrapes = 0
    argv = ["curl", "-s", "-o", "/dev/null", "--max-time", "10", f"http://127.0.0.1:{port}/metrics"]
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    while not stop.is_set():
        proc = await asyncio.create_subprocess_exec(*argv)
        await proc.wait()
        scrapes += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    return scrapes


async def run_daemon(args: argparse.Namespace, target_port: int, workdir: Path,
                     scrape_cpu: int | None = None) -> dict[str, Any]:
    with contextlib.ExitStack() as held:
        if args.outage is not None:
            target_port = outage_port(args.outage, held)
        return await _run_daemon(args, target_port, workdir, scrape_cpu)


def outage_port(kind: str, held: contextlib.ExitStack) -> int:
    """A port on 127.0.0.1 that plays a site-wide outage: every check goes DOWN and stays.

    `refused`: nothing listens (ICMP port unreachable; the kernel rate-limits
    those to ~1,000/s, so past that probes wait for their retransmission).
    `silent`: a socket that never reads, so every probe runs to its timeout
    with its retransmissions: a black-holed SBC.
    """
    if kind == "refused":
        return free_port()
    sink = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    sink.bind(("127.0.0.1", 0))
    return int(sink.getsockname()[1])


async def _run_daemon(args: argparse.Namespace, target_port: int, workdir: Path,
                      scrape_cpu: int | None) -> dict[str, Any]:
    checks = "\n".join(
        f"  - {{name: c{i:05d}, type: sip_options, target: 'sip:127.0.0.1:{target_port}'}}"
        for i in range(args.checks)
    )
    listen = free_port()
    limit = "" if args.concurrency is None else f", max_concurrency: {args.concurrency}"
    db = workdir / f"bench-{args.checks}.db"
    cfg = parse_config(
        f"""
daemon: {{site: bench, listen: '127.0.0.1:{listen}', storage: '{db}'{limit}}}
defaults: {{interval: {args.interval}s, timeout: {min(args.interval, 1.0)}s}}
checks:
{checks}
"""
    )
    rss_before = rss_kib()
    daemon = Daemon(cfg)
    lateness: list[float] = []
    outcomes: Counter[str] = Counter()
    recording = False
    original_lateness = daemon.metrics.lateness
    original_probe_done = daemon.metrics.probe_done

    def record_lateness(seconds: float) -> None:
        original_lateness(seconds)
        if recording:
            lateness.append(seconds)

    def record_probe(check: str, kind: str, result: Any, duration: float, snap: Any) -> None:
        # counted where the daemon counts them, without a scrape: a scrape of a few
        # thousand checks costs real CPU and would disturb what is measured here
        original_probe_done(check, kind, result, duration, snap)
        if recording:
            outcomes[
                "ok" if result.ok else (result.reason.value if result.reason else "failed")
            ] += 1

    daemon.metrics.lateness = record_lateness  # type: ignore[method-assign]
    daemon.metrics.probe_done = record_probe  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    ready = asyncio.create_task(daemon.wait_ready())
    await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():  # the daemon ended before it was ready: say why, do not wait forever
        ready.cancel()
        await task  # raises what stopped it
        raise SystemExit("the daemon stopped before it was ready")
    await asyncio.sleep(args.warmup)
    scraping = asyncio.Event()
    scrapes = None
    if args.scrape_every:
        scrapes = asyncio.create_task(scraper(listen, args.scrape_every, scraping, scrape_cpu))
    cpu0, t0 = time.process_time(), time.monotonic()
    recording = True
    await asyncio.sleep(args.duration)
    recording = False
    cpu1, t1 = time.process_time(), time.monotonic()
    scraping.set()
    scraped = await scrapes if scrapes is not None else 0
    rss_after = rss_kib()
    # one /metrics render, as a Prometheus scrape triggers it (in a worker thread)
    scrape_seconds, scrape_samples = await asyncio.to_thread(_timed_render, daemon)
    stop.set()
    await task
    done = sum(outcomes.values())
    failures = done - outcomes["ok"]
    return {
        "probes": done,
        "failures": failures,
        "rate": done / (t1 - t0),
        "cpu_per_1000": (cpu1 - cpu0) / done * 1000 if done else float("nan"),
        "lat_p50": pct(lateness, 0.50),
        "lat_p99": pct(lateness, 0.99),
        "lat_max": max(lateness, default=float("nan")),
        "lat_mean": statistics.fmean(lateness) if lateness else float("nan"),
        "rss_per_check_kib": (rss_after - rss_before) / args.checks,
        "reasons": {k: v for k, v in outcomes.items() if k != "ok"},
        "scrape_seconds": scrape_seconds,
        "scrape_samples": scrape_samples,
        "scrapes": scraped,
    }


def _timed_render(daemon: Daemon) -> tuple[float, int]:
    """The median CPU of three renders of /metrics' body, as a scrape produces it."""
    times = []
    for _ in range(3):
        t0 = time.thread_time()
        body = daemon.metrics.render()
        times.append(time.thread_time() - t0)
    samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return statistics.median(times), samples


def sipp_uac_argv(target_port: int, rate: float, count: int, cpu: int | None,
                  timeout: float) -> list[str]:
    """SIPp's UAC sending `count` OPTIONS at `rate`, with the daemon's receive buffer."""
    argv = [
        "sipp", f"127.0.0.1:{target_port}", "-sf", str(SCENARIOS / "uac_options.xml"),
        "-i", "127.0.0.1", "-p", str(free_port()), "-cp", str(free_port()), "-t", "u1",
        "-r", str(int(rate)), "-m", str(count), "-l", str(max(100, int(rate))),
        "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error",
        "-buff_size", str(SIPP_BUFFER),
    ]  # fmt: skip
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


def run_sipp_uac(
    target_port: int, rate: float, count: int, cpu: int | None, workdir: Path,
    timeout: float = 120.0,
) -> dict[str, float]:
    argv = sipp_uac_argv(target_port, rate, count, cpu, timeout)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(argv, cwd=workdir, capture_output=True, timeout=180)
    elapsed = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "exit": float(proc.returncode),
        "rate": count / elapsed,
        "cpu_per_1000": cpu_s / count * 1000,
    }


def search_max(attempt: Callable[[float], bool], start: float, factor: float,
               limit: float) -> None:
    """The one search both sides of the ratio get: grow by `factor` from `start` while
    `attempt` holds (or shrink while it does not), then two geometric bisections
    between the last rate that held and the first that did not. Bounded: at most
    `limit`, eight shrinking steps and two bisections; `attempt` records what it
    measured."""
    low: float | None = None
    high = start
    if attempt(start):
        low, high = start, start * factor
        while high <= limit and attempt(high):
            low, high = high, high * factor
    else:
        for _ in range(8):
            if attempt(high / factor):
                low = high / factor
                break
            high /= factor
    for _ in range(2):
        if low is None or high > limit:
            return
        mid = (low * high) ** 0.5
        if attempt(mid):
            low = mid
        else:
            high = mid


def sipp_max(target_port: int, start: float, cpu: int | None, workdir: Path) -> dict[str, float]:
    """SIPp's UAC at its own maximum on `cpu`, found the way ours is: the rate grows by
    half from `start` while every OPTIONS is answered at the rate asked for.

    Asked for far more than it can send at once (-r 100000), SIPp overruns the
    responder's socket, waits out Timer F for the lost requests and reports a
    few hundred per second: that is no maximum. Each try is bounded (about 3 s
    of requests, a timeout of twice that).

    The maximum is the highest rate achieved with every OPTIONS answered, the
    step that did not hold included: asked for more than it could do, SIPp still
    did that much (taking the last step that held instead would understate it).
    After the first step that does not hold, two more tries bisect the gap to
    the last one that did (one step of 1.5x left up to half of SIPp's headroom
    unmeasured). When even the first rate does not hold, the rate shrinks by the
    same steps instead. SIPp's UAC runs with `SIPP_BUFFER`: with its default
    buffer its tries collapsed at 10,000-27,000/s (to 7,000-10,000/s, exit 255),
    with the daemon's buffer they reached 42,000-74,000/s on the same machine.
    """
    best: dict[str, float] | None = None

    def attempt(rate: float) -> bool:
        nonlocal best
        count = max(20_000, int(rate * 3))
        s = run_sipp_uac(target_port, rate, count, cpu, workdir, timeout=2 * count / rate + 5)
        held = s["exit"] == 0 and s["rate"] >= 0.95 * rate
        print(f"  SIPp at {rate:8.0f}/s: achieved {s['rate']:8.1f}/s, exit {s['exit']:.0f}"
              f" ({'held' if held else 'did not hold'})", flush=True)
        if s["exit"] == 0 and (best is None or s["rate"] > best["rate"]):
            best = s
        return held

    search_max(attempt, start, 1.5, limit=200_000)
    if best is None:
        raise SystemExit("SIPp's UAC never finished with every OPTIONS answered")
    return best


def print_run(args: argparse.Namespace, r: dict[str, Any]) -> None:
    target = args.checks / args.interval
    print(
        f"  achieved probes/s        {r['rate']:10.1f}   (target {target:.1f}, {r['rate'] / target:.1%})"
    )
    print(
        f"  probes measured          {r['probes']:10.0f}   failures {r['failures']:.0f}"
        f" (by reason: {r['reasons'] or 'none'})"
    )
    print(f"  scheduling lateness p50  {r['lat_p50'] * 1000:10.3f} ms")
    print(f"  scheduling lateness p99  {r['lat_p99'] * 1000:10.3f} ms   (aim < 20 ms)"
          + (f", scraped {r['scrapes']}x over HTTP meanwhile" if args.scrape_every else ""))
    print(f"  scheduling lateness max  {r['lat_max'] * 1000:10.3f} ms")
    print(f"  CPU s per 1,000 probes   {r['cpu_per_1000']:10.4f}")
    print(f"  RSS per check            {r['rss_per_check_kib']:10.1f} KiB")
    print(
        f"  one /metrics render      {r['scrape_seconds'] * 1000:10.1f} ms CPU for"
        f" {r['scrape_samples']} samples = {r['scrape_seconds'] * 1000 * 10000 / args.checks:.1f}"
        " ms per 10,000 checks (off the loop, holding the GIL)"
    )


def ramp(args: argparse.Namespace, port: int, ours: int, theirs: int | None,
         workdir: Path, host: HostSpeed) -> int:
    """Grow the check count until lateness or throughput gives, then bisect the last step
    twice (as SIPp's maximum is searched); then SIPp at its maximum."""
    best: tuple[int, dict[str, Any]] | None = None
    first = args.checks

    def attempt(count: float) -> bool:
        nonlocal best
        checks = args.checks = int(count)
        speed = host.read(f"ramp {checks}")
        print(f"ramp: {checks} checks every {args.interval:g}s (host {speed:.1f} us)", flush=True)
        r = asyncio.run(run_daemon(args, port, workdir, theirs))
        print_run(args, r)
        held = bool(r["lat_p99"] < 0.020 and r["rate"] >= 0.98 * checks / args.interval)
        if held and (best is None or checks > best[0]):
            best = (checks, r)
        return held

    search_max(attempt, first, args.ramp_factor, limit=args.ramp_max)
    if best is None:
        print(f"ramp: even {first} checks were too many for one core")
        return 1
    count, r = best
    print(f"monitord's maximum on CPU {ours}: {count} checks = {r['rate']:.0f} probes/s at p99"
          f" lateness {r['lat_p99'] * 1000:.1f} ms, {r['cpu_per_1000']:.4f} CPU s per 1,000")
    print(f"reference: SIPp UAC at its own maximum on CPU {ours}", flush=True)
    host.read("SIPp")
    s = sipp_max(port, max(1000.0, r["rate"]), ours, workdir)
    host.read("end")
    print(f"  SIPp achieved OPTIONS/s  {s['rate']:10.1f}   (exit {s['exit']:.0f}: 0 = all answered)")
    print(f"  SIPp CPU s per 1,000     {s['cpu_per_1000']:10.4f}")
    print("ratios (monitord / SIPp), both on one core")
    print(f"  maximum rate             {r['rate'] / s['rate']:10.2f}   (aim >= 0.8)")
    print(f"  CPU per request          {r['cpu_per_1000'] / s['cpu_per_1000']:10.2f}")
    print(host.summary(compared=(f"ramp {count}", "SIPp", "end")))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checks", type=int, default=2000)
    p.add_argument("--interval", type=float, default=1.0, help="seconds")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds (after warm-up)")
    p.add_argument("--warmup", type=float, default=None,
                   help="seconds after the daemon is ready before measuring (default: its"
                        " start-up round, interval + timeout + 1 s, after which it settles"
                        " its heap, and 2 s more)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="daemon.max_concurrency (default: unset, as the daemon's default)")
    p.add_argument("--scrape-every", type=float, default=0.0,
                   help="seconds between HTTP scrapes of /metrics while measuring (0: none)")
    p.add_argument("--outage", choices=("refused", "silent"), default=None,
                   help="point every check at a dead target instead of the SIPp responder (a"
                        " site-wide outage: refused = nothing listens, silent = no answer,"
                        " every probe times out); the SIPp reference still runs")
    p.add_argument("--ramp", action="store_true", help="find the highest count one core holds")
    p.add_argument("--ramp-factor", type=float, default=1.25)
    p.add_argument("--ramp-max", type=int, default=40_000)
    args = p.parse_args()
    if args.warmup is None:
        args.warmup = args.interval + min(args.interval, 1.0) + 1.0 + 2.0
    if args.ramp and not 1.05 <= args.ramp_factor <= 4:
        p.error("--ramp-factor must be within 1.05..4")
    if args.checks < 1 or args.interval <= 0 or not 1 <= args.duration <= 600:
        p.error("need --checks >= 1, --interval > 0 and 1 <= --duration <= 600")
    if shutil.which("sipp") is None:
        print("sipp is not installed: run scripts/install-peers.sh", file=sys.stderr)
        return 2
    configure_logging("json", "warning")
    logging.getLogger("monitord").setLevel(logging.WARNING)
    cpus = sorted(os.sched_getaffinity(0))
    ours = cpus[0]
    theirs = cpus[1] if len(cpus) > 1 else None
    os.sched_setaffinity(0, {ours})
    with tempfile.TemporaryDirectory(prefix="monitord-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        responder = start_sipp_responder(port, theirs, workdir)
        try:
            host = HostSpeed()
            if args.ramp:
                return ramp(args, port, ours, theirs, workdir, host)
            host.read("monitord")
            print(
                f"monitord: {args.checks} sip_options checks every {args.interval:g}s for "
                f"{args.duration:g}s (after {args.warmup:g}s warm-up), daemon on CPU {ours}, "
                f"SIPp responder on CPU {theirs}",
                flush=True,
            )
            r = asyncio.run(run_daemon(args, port, workdir, theirs))
            print_run(args, r)
            target = args.checks / args.interval
            count = int(r["probes"]) or 1000
            print(
                f"reference: SIPp UAC, {count} OPTIONS at {target:.0f}/s on CPU {ours}", flush=True
            )
            host.read("SIPp")
            s = run_sipp_uac(port, target, count, ours, workdir)
            host.read("end")
            print(
                f"  SIPp achieved OPTIONS/s  {s['rate']:10.1f}   (exit {s['exit']:.0f}: 0 = all answered)"
            )
            print(f"  SIPp CPU s per 1,000     {s['cpu_per_1000']:10.4f}")
            print("ratios (monitord / SIPp)")
            print(f"  throughput               {r['rate'] / s['rate']:10.2f}")
            print(f"  CPU per request          {r['cpu_per_1000'] / s['cpu_per_1000']:10.2f}"
                  "   (aim <= 5)")
            print(host.summary())
        finally:
            responder.terminate()
            responder.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
