"""Fleet members as real processes (`monitord run` with `daemon.location`), and what the
fleet tests read back: the judged record, each location's evidence, the probe history.

One agent per process, each in its own working directory (its journal lives
there), all on the session's throwaway PostgreSQL (tests/postgres.py).
Timing is the shortest the daemon allows for a test: probes every second,
heartbeat 1 s (lease 3 s, failover bound 5 s, hand-over bridge 6 s).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from tests.integration.daemon import DaemonProcess
from tests.integration.peers import PeerProcess, free_port, require_binary, udp_answers_options

INTERVAL = 1.0
HEARTBEAT = 1.0
LEASE = 3 * HEARTBEAT
FAILOVER_BOUND = LEASE + 2 * HEARTBEAT  # docs/fleet.md: claimed within this of a death


def check(name: str, target_port: int, at_least: int = 1) -> dict[str, Any]:
    return {"name": name, "type": "sip_options", "target": f"sip:{name}@127.0.0.1:{target_port}",
            "locations": {"at_least": at_least}}


def member(root: Path, pg_url: str, *, location: str, agent: str, checks: list[dict[str, Any]],
           services: Sequence[dict[str, Any]] = (), role: str = "both",
           extra: dict[str, Any] | None = None) -> DaemonProcess:
    workdir = root / agent
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "daemon": {"site": "noc", "location": location, "agent": agent, "role": role,
                   "storage": pg_url, "heartbeat_interval": f"{HEARTBEAT:g}s"},
        "defaults": {"interval": f"{INTERVAL:g}s", "timeout": "0.5s"},
        "checks": checks,
        "services": list(services),
        **(extra or {}),
    }
    return DaemonProcess(workdir, free_port(), config)


def status(proc: DaemonProcess) -> dict[str, Any]:
    body: dict[str, Any] = proc.get("/api/v1/fleet")
    return body


def kill9(proc: DaemonProcess) -> float:
    """kill -9; returns the wall clock of the kill."""
    assert proc.proc is not None
    at = time.time()
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(10)
    return at


def wait(what: str, predicate: Callable[[], bool], timeout: float,
         logs: Sequence[DaemonProcess] = ()) -> float:
    """Poll until true; returns the wall clock when it was first seen true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return time.time()
        except OSError:
            pass  # an agent restarting or just killed
        time.sleep(0.1)
    tails = "\n".join(f"--- {p.workdir.name}\n{p.log_tail(15)}" for p in logs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")


def transitions(proc: DaemonProcess, check_name: str) -> list[tuple[datetime, str, str]]:
    """The agent's own probe history of a check: (probe time, from state, to state)."""
    return [(datetime.fromisoformat(r["at"]), r["from_state"], r["to_state"])
            for r in proc.log_records()
            if r.get("event") == "check_transition" and r.get("check") == check_name]


def query(pg_url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(pg_url)
        try:
            return [tuple(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def us(t: int | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t / 1_000_000, UTC)


def sipp_traced(port: int, workdir: Path) -> PeerProcess:
    """SIPp answering OPTIONS, logging every message it receives (`-trace_msg`): the peer's
    own count of probes per check and per agent."""
    sipp = require_binary("sipp")
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "uas_options.xml"
    scenario.write_bytes((Path(__file__).parent / "peers" / "uas_options.xml").read_bytes())
    argv = [sipp, "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-cp",
            str(free_port()), "-t", "u1", "-nostdin", "-trace_msg"]
    return PeerProcess(argv, name=f"sipp-traced-{port}", cwd=str(workdir),
                       ready=lambda: udp_answers_options(port))


_ENTRY = re.compile(r"^-+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\nUDP message received[^\n]*\n\n"
                    r"OPTIONS sip:([^@]+)@[^\n]*\nVia: SIP/2\.0/UDP 127\.0\.0\.1:(\d+)", re.M)


def sipp_requests(workdir: Path) -> list[tuple[float, str, int]]:
    """(time, check, agent's source port) of every OPTIONS the traced SIPp received."""
    out: list[tuple[float, str, int]] = []
    for log in sorted(workdir.glob("*_messages.log")):
        text = log.read_text(errors="replace")
        for m in _ENTRY.finditer(text):
            at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").astimezone().timestamp()
            out.append((at, m.group(2), int(m.group(3))))
    return sorted(out)
