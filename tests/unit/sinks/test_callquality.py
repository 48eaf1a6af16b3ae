"""Call-quality priorities end to end through the pipeline: judged with the call, stored in
the same commit, exported by the sink, logged once, resumed from the store after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from monitord.config import effective_checks, parse_config
from monitord.core.callquality import Priority, QualityChange
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.stream import Committed, Resumed
from monitord.sinks.callquality import CallQualitySink
from monitord.sinks.logs import LogSink
from monitord.storage.sqlite import SqliteStore
from probes.base import FailureReason, ProbeResult
from probes.measurements import CallMeasured

T0 = datetime(2024, 10, 27, 0, 0, tzinfo=UTC)
CONFIG = parse_config(
    "checks:\n"
    "  - {name: echo, type: sip_call, target: 'sip:echo@127.0.0.1'}\n"
    "  - {name: opts, type: sip_options, target: 'sip:127.0.0.1'}\n"
    "services:\n"
    "  - {name: voice, checks: [echo, opts], call_quality: {calls: 4, min_calls: 2}}\n"
    "  - {name: sig, checks: [opts]}\n"
)
CHECKS = effective_checks(CONFIG)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "m.db") as s:
        yield s


class Heard:
    def __init__(self) -> None:
        self.changes: list[QualityChange] = []

    def consume(self, c: Committed) -> None:
        for ev in c.events:
            if isinstance(ev, QualityChange):
                self.changes.append(ev)
            elif isinstance(ev, Resumed):
                self.changes.extend(ev.quality)


async def build(store: SqliteStore, registry: CollectorRegistry, heard: Heard | None = None
                ) -> Pipeline:
    resume = ResumeState(open_quality=await store.quality_intervals(open_only=True))
    sinks = [CallQualitySink(registry, CHECKS, CONFIG.services), LogSink({})]
    p = Pipeline(CHECKS, CONFIG.services, store, resume, [*sinks, *([heard] if heard else [])])
    await p.resume(T0)
    return p


def at(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


def call(mos: float) -> ProbeResult:
    return ProbeResult.success(0.01, measured=CallMeasured(mos=mos))


async def test_transitions_are_exported_logged_and_stored(store: SqliteStore) -> None:
    registry = CollectorRegistry()
    p = await build(store, registry)

    def priority() -> float | None:
        return registry.get_sample_value("monitord_service_call_quality_priority",
                                         {"service": "voice"})

    assert priority() == 0
    assert registry.get_sample_value("monitord_service_call_quality_priority",
                                     {"service": "sig"}) is None  # no calls, no series
    with capture_logs() as logs:
        await p.observe("echo", at(0), call(4.4), 1.0)
        await p.observe("echo", at(1), call(2.9), 1.0)  # 1/2 poor: P1
        assert priority() == 1
        await p.observe("opts", at(2), ProbeResult.failure(FailureReason.TIMEOUT, "x"), 1.0)
        await p.observe("echo", at(3), ProbeResult.failure(FailureReason.BUSY, "486"), 1.0)
        assert priority() == 1  # neither is an answered call
        for i in range(4, 8):
            await p.observe("echo", at(i), call(4.4), 1.0)
        assert priority() == 0  # the poor call left the 4-call window
    changes = [(e["log_level"], e["from_priority"], e["to_priority"]) for e in logs
               if e["event"] == "call_quality_changed"]
    assert changes == [("warning", "none", "P1"), ("info", "P1", "none")]
    assert registry.get_sample_value("monitord_service_call_quality_share",
                                     {"service": "voice", "kind": "poor_audio"}) == 0
    rows = await store.quality_intervals()
    assert [(r.service, r.priority, r.start, r.end) for r in rows] == [
        ("voice", Priority.P1, at(1), at(7))]


async def test_a_restart_resumes_the_open_priority(store: SqliteStore) -> None:
    first = await build(store, CollectorRegistry())
    await first.observe("echo", at(0), ProbeResult.failure(FailureReason.DROPPED, "BYE"), 1.0)
    await first.observe("echo", at(1), call(4.4), 1.0)
    registry = CollectorRegistry()
    heard = Heard()
    second = await build(store, registry, heard)  # the open P1 is announced again, from its start
    assert [(c.service, c.before, c.after, c.at) for c in heard.changes] == [
        ("voice", Priority.NONE, Priority.P1, at(1))]
    assert registry.get_sample_value("monitord_service_call_quality_priority",
                                     {"service": "voice"}) == 1
    await second.observe("echo", at(2), call(4.4), 1.0)  # 1/1 in the new window: too few calls
    assert [(r.priority, r.end) for r in await store.quality_intervals()] == [(Priority.P1, None)]
