#!/usr/bin/env python3
"""A fleet on one machine: agents x checks on a real PostgreSQL, against pgbench as reference.

Starts a throwaway PostgreSQL cluster (tests/postgres.py), a SIPp OPTIONS
responder, and N agents of one location as separate `monitord run`
processes (agent 0 is also the judge). Then, each phase bounded in time:

1. settle: every check held by exactly one agent; prints checks per agent;
2. steady state: the database's commit rate (pg_stat_database) for 10 s;
3. outage: the target stops for 8 intervals and comes back; the judge's
   lag, from the probe that decided each judged transition (the confirming
   probe for an opening, the first success for a closing) to its write, p50/p99;
4. kill -9 one agent that is not the judge: seconds until the others hold
   its checks, and until its checks are probed again (SIPp's own log);
5. reference: pgbench (PostgreSQL's own benchmark, TPC-B-like, 4 clients)
   on the same cluster for 10 s: the fleet's commit rate as a share of what
   this PostgreSQL can commit here.

Loopback only; every process is stopped by its own PID at the end.

    python bench/fleet.py --agents 3 --checks 300 --interval 1
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitord.fleet.assignment import spread  # noqa: E402
from tests.integration.daemon import DaemonProcess  # noqa: E402
from tests.integration.fleetprocs import (  # noqa: E402
    check,
    kill9,
    member,
    query,
    sipp_requests,
    sipp_traced,
    status,
    wait,
)
from tests.integration.peers import free_port  # noqa: E402
from tests.postgres import PgCluster  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def commits(cluster: PgCluster, db: str) -> int:
    out = cluster.sql(f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{db}'")
    return int(out.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=3)
    ap.add_argument("--checks", type=int, default=300)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="monitord-fleet-bench-"))
    cluster = PgCluster()
    cluster.start()
    db = cluster.database()
    url = cluster.url(db)
    port = free_port()
    sipp = sipp_traced(port, root / "sipp")
    sipp.start()
    checks = [check(f"c{i:04d}", port) for i in range(args.checks)]
    extra = {"defaults": {"interval": f"{args.interval:g}s", "timeout": "0.5s"}}
    names = [f"ams1-{i}" for i in range(args.agents)]
    agents = [member(root, url, location="ams1", agent=n, checks=checks, extra=extra,
                     role="both" if i == 0 else "agent") for i, n in enumerate(names)]
    try:
        for a in agents:
            a.start(timeout=60)
        expected = {a: set(u) for a, u in spread([c["name"] for c in checks], names).items()}

        def held(procs: list[DaemonProcess]) -> dict[str, set[str]]:
            return {p.workdir.name: set(status(p)["checks_held"]) for p in procs}

        t0 = time.time()
        wait("the rendezvous share on every agent", lambda: held(agents) == expected, 120, agents)
        print(f"machine: 2 cores shared with other sessions; {args.agents} agents x "
              f"{args.checks} checks every {args.interval:g} s, PostgreSQL 15 on loopback")
        print(f"settled in {time.time() - t0:.1f} s; checks per agent: "
              + ", ".join(f"{n} {len(s)}" for n, s in sorted(held(agents).items())))

        time.sleep(2 * args.interval)
        c0, w0 = commits(cluster, db), time.time()
        time.sleep(10)
        rate = (commits(cluster, db) - c0) / (time.time() - w0)
        print(f"steady state: {rate:.1f} PostgreSQL commits/s "
              f"({rate / args.checks * args.interval:.3f} per probe)")

        sipp.stop()
        time.sleep(8 * args.interval)
        sipp.start()
        wait("every judged interval closed", lambda: query(
            url, "SELECT count(*) FROM downtimes WHERE end_us IS NULL")[0][0] == 0
            and query(url, "SELECT count(*) FROM downtimes WHERE level = 'check'")[0][0]
            == args.checks, 60, agents)
        lags: dict[str, list[float]] = defaultdict(list)
        for r in agents[0].log_records():
            if r.get("event") == "judged" and r.get("lag_seconds") is not None:
                lags[r["change"]].append(float(r["lag_seconds"]))
        for change, values in sorted(lags.items()):
            print(f"judge lag, {change.removeprefix('Judged').lower()}: n={len(values)} "
                  f"p50 {pct(values, 0.5):.3f} s p99 {pct(values, 0.99):.3f} s "
                  f"max {max(values):.3f} s")
        every = [v for values in lags.values() for v in values]
        print(f"judge lag, all: p50 {pct(every, 0.5):.3f} s p99 {pct(every, 0.99):.3f} s "
              f"(mean {statistics.fmean(every):.3f} s)")

        time.sleep(3 * args.interval)
        victim = agents[-1]
        moved = held([victim])[victim.workdir.name]
        killed = kill9(victim)
        survivors = agents[:-1]
        claimed = wait("the others hold every check", lambda: sum(
            len(s) for s in held(survivors).values()) == args.checks, 60, survivors)
        time.sleep(3 * args.interval)
        print(f"kill -9 of {victim.workdir.name} ({len(moved)} checks): claimed by the others "
              f"{claimed - killed:.2f} s after the kill")
    finally:
        for a in agents:
            a.stop()
        sipp.stop()
    last: dict[str, float] = {}
    first_after: dict[str, float] = {}
    for at, name, _src in sipp_requests(root / "sipp"):
        if name in moved:
            if at < killed:
                last[name] = at
            elif name not in first_after:
                first_after[name] = at
    silences = [first_after[n] - last[n] for n in moved if n in first_after and n in last]
    print(f"moved checks probed again (SIPp's own log): silence p50 {pct(silences, 0.5):.2f} s "
          f"p99 {pct(silences, 0.99):.2f} s max {max(silences):.2f} s "
          f"(stated bound: lease 3 + 2 heartbeats + 1 interval = {5 + args.interval:g} s)")

    pgbench = Path(cluster.bindir) / "pgbench"
    subprocess.run([str(pgbench), "-i", "-q", "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
                    "postgres", db], check=True, capture_output=True)
    done = subprocess.run([str(pgbench), "-c", "4", "-j", "2", "-T", "10", "-h", "127.0.0.1",
                           "-p", str(cluster.port), "-U", "postgres", db],
                          check=True, capture_output=True, text=True)
    tps = next(float(line.split("=")[1].split()[0]) for line in done.stdout.splitlines()
               if line.startswith("tps ="))
    print(f"reference: pgbench (TPC-B-like, 4 clients) {tps:.0f} tps on the same cluster; "
          f"the fleet's steady state used {rate / tps:.1%} of it")
    cluster.remove()
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
