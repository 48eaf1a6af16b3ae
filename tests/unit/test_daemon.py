"""The daemon's supervision, in-process: every background task that dies is a named /healthz
problem (503), counted in monitord_task_restarts_total, restarted, and healthy again.

The SIP target is `monitord responder`'s own core on loopback; Alertmanager and MQTT point at
closed loopback ports (their loops run and retry, which is all this test needs). Each task is
made to raise once by patching one method it calls: the injected fault, not a peer, is what
is under test here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from monitord import daemon as daemon_module
from monitord.config import parse_config
from monitord.core import supervisor
from monitord.core.pipeline import Pipeline
from monitord.core.scheduler import SlotPlan
from monitord.daemon import Daemon
from monitord.sinks.alerts import AlertBook
from monitord.sla.gauges import SlaMetrics
from probes.sip.responder import Responder

TASKS = ("scheduler", "upkeep", "maintenance-clock", "sla-metrics", "alertmanager-0",
         "mqtt-publisher")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, sync: bool = False) -> None:
    """Make `owner.name` raise the first time it is called, then behave."""
    real = getattr(owner, name)
    fired = False

    def check() -> None:
        nonlocal fired
        if not fired:
            fired = True
            raise RuntimeError(f"injected fault in {name}")

    if sync:
        def wrapper(*a: Any, **kw: Any) -> Any:
            check()
            return real(*a, **kw)
    else:
        async def wrapper(*a: Any, **kw: Any) -> Any:  # type: ignore[misc]
            check()
            return await real(*a, **kw)
    monkeypatch.setattr(owner, name, wrapper)


@contextlib.asynccontextmanager
async def running(d: Daemon) -> AsyncIterator[Daemon]:
    """`d` running until the block ends (then stopped, and its run awaited)."""
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    try:
        await asyncio.wait_for(d.wait_ready(), 10)
        yield d
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


def one_check(tmp_path: Path, port: int) -> Daemon:
    """A daemon with one OPTIONS check every second towards `port`."""
    return Daemon(parse_config(
        f"""
daemon: {{site: it, listen: "127.0.0.1:0", storage: "{tmp_path / 'm.db'}"}}
defaults: {{interval: 1s, timeout: 500ms}}
checks: [{{name: sip, type: sip_options, target: "sip:127.0.0.1:{port}"}}]
""",
        env={},
    ))


@pytest.fixture
async def daemon(tmp_path: Path, responder: Responder,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Daemon]:
    monkeypatch.setattr(supervisor, "HEALTHY_AFTER", 1.0)
    cfg = parse_config(
        f"""
daemon: {{site: it, listen: "127.0.0.1:0", storage: "{tmp_path / 'm.db'}", heartbeat_interval: 1s}}
defaults: {{interval: 1s, timeout: 500ms}}
checks: [{{name: sip, type: sip_options, target: "sip:127.0.0.1:{responder.port}"}}]
services: [{{name: voice, checks: [sip], sla_policy: monthly}}]
sla_policies: [{{name: monthly, version: "1", target_percent: 99.9}}]
alertmanager: {{urls: ["http://127.0.0.1:{closed_port()}"], resend_interval: 1s}}
mqtt: {{port: {closed_port()}, retry_initial: 100ms, retry_max: 200ms}}
""",
        env={},
    )
    d = Daemon(cfg)
    once(monkeypatch, SlotPlan, "next_wakeup", sync=True)
    once(monkeypatch, Pipeline, "heartbeat")
    once(monkeypatch, Pipeline, "tick")
    once(monkeypatch, SlaMetrics, "refresh")
    once(monkeypatch, AlertBook, "resend_all", sync=True)
    mqtt = d.sinks.mqtt
    assert mqtt is not None
    real_factory: Callable[..., Any] = mqtt._factory
    broke = False

    def factory(*a: Any) -> Any:
        nonlocal broke
        if not broke:
            broke = True
            raise RuntimeError("injected fault in the MQTT client")
        return real_factory(*a)

    mqtt._factory = factory
    async with running(d):
        yield d


async def test_every_task_that_dies_is_named_counted_restarted_and_healthy_again(
    daemon: Daemon,
) -> None:
    seen: set[str] = set()
    url = f"http://127.0.0.1:{daemon.port}"
    async with aiohttp.ClientSession() as http:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        healthy_after_all = False
        while loop.time() < deadline:
            async with http.get(f"{url}/healthz") as resp:
                body = await resp.json()
            if resp.status == 503:
                seen |= {p.removeprefix("task ") for p in body["problems"] if p.startswith("task ")}
            elif seen >= set(TASKS):
                healthy_after_all = True
                break
            await asyncio.sleep(0.05)
        async with http.get(f"{url}/metrics") as resp:
            metrics = await resp.text()
    assert seen >= set(TASKS), f"not seen failing: {set(TASKS) - seen}"
    assert healthy_after_all, "healthy again once every task runs"
    for name in TASKS:
        assert f'monitord_task_restarts_total{{site="it",task="{name}"}} 1.0' in metrics, name
    assert set(daemon.supervisor.running()) >= set(TASKS)


async def test_the_heap_is_settled_again_once_every_check_has_run(
    tmp_path: Path, responder: Responder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Probes build their request templates on their first run, after the start-up freeze;
    one round later (interval + timeout + 1 s) the daemon freezes the heap again, so full
    collections stop walking them (issue 14: they set the p99 of scheduling lateness)."""
    settles: list[tuple[float, int, bool]] = []
    real = daemon_module._settle_heap

    def settle(*, young_only: bool = False) -> None:
        real(young_only=young_only)
        settles.append((asyncio.get_running_loop().time(), len(gc.get_objects()), young_only))

    monkeypatch.setattr(daemon_module, "_settle_heap", settle)
    async with running(one_check(tmp_path, responder.port)):
        loop = asyncio.get_running_loop()
        ready = loop.time()
        while len(settles) < 2 and loop.time() < ready + 8.0:
            await asyncio.sleep(0.05)
    assert len(settles) == 2, "settled at start, then once more after the first round"
    # 2.5 s after the scheduler was built, which is a little before `ready`
    assert 1.5 <= settles[1][0] - ready <= 5.0, settles[1][0] - ready
    assert settles[1][1] < 1000, "everything alive then is out of the collector's view"
    # a full collection at start (nothing is probing yet), the young ones after the round
    assert [young for _, _, young in settles] == [False, True]
    assert gc.get_threshold() == daemon_module.GC_THRESHOLDS  # rare full collections


@pytest.mark.parametrize(("limit", "warned"), [("", False), (", max_concurrency: 1", True)])
async def test_a_concurrency_limit_below_the_check_count_is_named_at_start(
    tmp_path: Path, responder: Responder, limit: str, warned: bool,
) -> None:
    """Unset, every check may wait out its timeout at once; a limit below the check count
    skips slots exactly when a site is cut off, so the start-up log says so."""
    d = Daemon(parse_config(
        f"""
daemon: {{site: it, listen: "127.0.0.1:0", storage: "{tmp_path / 'm.db'}"{limit}}}
defaults: {{interval: 1s, timeout: 500ms}}
checks:
  - {{name: a, type: sip_options, target: "sip:127.0.0.1:{responder.port}"}}
  - {{name: b, type: sip_options, target: "sip:127.0.0.1:{responder.port}"}}
""",
        env={},
    ))
    with capture_logs() as logs:
        async with running(d):
            pass
    found = [e for e in logs if e["event"] == "max_concurrency_below_checks"]
    assert bool(found) is warned
    if warned:
        assert "daemon.max_concurrency 1 is below the 2 checks" in found[0]["problem"]


async def test_worker_threads_give_the_gil_back_to_the_loop_within_half_a_millisecond(
    tmp_path: Path,
) -> None:
    """Renders and SLA refreshes run in worker threads; at Python's default 5 ms switch
    interval each of the loop's system calls could cost it 5 ms while one ran (issue 14)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        async with running(one_check(tmp_path, closed_port())):
            assert sys.getswitchinterval() == pytest.approx(daemon_module.LOOP_SWITCH_INTERVAL)
            assert daemon_module.LOOP_SWITCH_INTERVAL <= 0.0005
    finally:
        sys.setswitchinterval(before)
