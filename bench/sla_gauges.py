#!/usr/bin/env python3
"""The daemon's SLA gauges for 1,000 services: refresh time and the probe loop's lateness meanwhile.

Seeds a real SQLite store with the fleet of tests/unit/sla/fleet.py (1,000
services, about 25,000 service downtime intervals over 13 months, every
policy kind, recurring and one-off maintenance), then, while a Scheduler
runs 100 trivial jobs every 100 ms on the same loop and records each job's
lateness (the daemon's `monitord_scheduler_lateness_seconds`), refreshes the
gauges:

  monitord    `SlaMetrics.refresh` (one query per service, all reports in
              one worker thread through one Batch)
  reference   the refresh as it was before issue 18: for every service and
              window, `SlaRuntime.report` (three queries, then the report in
              a worker thread), one after the other

and prints, per phase, the refresh's wall time and the lateness p50, p99 and
max, against a quiet phase with no refresh. Bounded: fixed phases, loopback
nothing, the store in a temporary directory.

    python bench/sla_gauges.py [--services 1000] [--no-reference]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from monitord.cli.sla import read_intervals  # noqa: E402
from monitord.config import parse_config  # noqa: E402
from monitord.core.events import ServiceDowntimeRecorded  # noqa: E402
from monitord.core.scheduler import Scheduler  # noqa: E402
from monitord.sla.gauges import WINDOWS, SlaMetrics, counter_policy, window_policy  # noqa: E402
from monitord.sla.runtime import SlaRuntime  # noqa: E402
from monitord.storage.interface import Batch, ServiceCommit  # noqa: E402
from monitord.storage.sqlite import SqliteStore  # noqa: E402
from tests.unit.sla.fleet import FIRST, NOW, fleet  # noqa: E402

JOBS, EVERY = 100, 0.1


class Lateness:
    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (loop time, lateness)

    def lateness(self, seconds: float) -> None:
        self.samples.append((asyncio.get_running_loop().time(), seconds))

    def skipped(self, key: str, slots: int) -> None: ...

    def job_failed(self, key: str, exc: BaseException) -> None: ...

    def between(self, lo: float, hi: float) -> list[float]:
        return [s for t, s in self.samples if lo <= t <= hi]


async def seed(store: SqliteStore, intervals_path: Path) -> int:
    downs, _ = read_intervals(str(intervals_path))
    await store.start_run(FIRST)
    events = [ServiceDowntimeRecorded(s, d.start, d.end, d.reason or "timeout", "") for s, d in downs]
    for i in range(0, len(events), 1000):
        await store.commit(Batch((ServiceCommit(tuple(events[i : i + 1000])),)))
    return len(events)


async def reference_refresh(runtime: SlaRuntime, now: datetime) -> None:
    """The refresh before issue 18: a report per service and window, one after the other."""
    for name, svc in runtime.services.items():
        if svc.sla_policy is None:
            continue
        policy = runtime.setup.policy(svc.sla_policy)
        for window in WINDOWS:
            wp = window_policy(policy, window)
            if wp is not None:
                await runtime.report(name, wp, runtime.period(wp, None, now), now)
        cp = counter_policy(policy)
        await runtime.report(name, cp, runtime.period(cp, None, now), now)


def line(name: str, wall: float | None, lat: list[float]) -> str:
    ms = sorted(x * 1000 for x in lat) or [0.0]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    took = f"{wall:7.2f} s" if wall is not None else "      - "
    return (f"  {name:<10} refresh {took}   lateness p50 {statistics.median(ms):6.2f} ms"
            f"  p99 {p99:6.2f} ms  max {ms[-1]:7.2f} ms  ({len(ms)} jobs)")


async def main_async(n: int, reference: bool) -> None:
    data = fleet(n)
    now = datetime.fromisoformat(NOW)
    with tempfile.TemporaryDirectory(prefix="sla-gauges-") as tmp:
        ivs = Path(tmp) / "fleet.json"
        import json

        ivs.write_text(json.dumps(data.intervals), encoding="utf-8")
        cfg = parse_config(yaml.safe_dump(data.config), env={})
        async with SqliteStore(Path(tmp) / "m.db") as store:
            t0 = time.perf_counter()
            count = await seed(store, ivs)
            print(f"sla_gauges: {n} services, {count} service intervals seeded in"
                  f" {time.perf_counter() - t0:.1f} s; {JOBS} scheduler jobs every"
                  f" {EVERY * 1000:.0f} ms on the same loop; machine shared")
            runtime = SlaRuntime(cfg, store)
            metrics = SlaMetrics(runtime, CollectorRegistry())
            del data, cfg
            gc.collect()
            gc.freeze()  # as the daemon does once it has started (daemon._settle_heap)
            obs = Lateness()

            async def job(_slot: float) -> None:
                await asyncio.sleep(0)

            sched = Scheduler([(f"j{i}", EVERY, job) for i in range(JOBS)],
                              max_concurrency=JOBS, observer=obs)
            task = asyncio.create_task(sched.run())
            loop = asyncio.get_running_loop()
            await asyncio.sleep(1.0)  # settle
            lo = loop.time()
            await asyncio.sleep(3.0)
            print(line("quiet", None, obs.between(lo, loop.time())))
            phases = [("monitord", metrics.refresh)]
            if reference:
                phases.append(("reference", lambda t: reference_refresh(runtime, t)))
            for name, refresh in phases:
                lo = loop.time()
                t0 = time.perf_counter()
                await refresh(now)
                wall = time.perf_counter() - t0
                print(line(name, wall, obs.between(lo, loop.time())))
                await asyncio.sleep(1.0)
            sched.stop()
            await sched.drain(timeout=2.0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--no-reference", action="store_true")
    args = ap.parse_args()
    asyncio.run(main_async(args.services, not args.no_reference))


if __name__ == "__main__":
    main()
