"""The call-quality sink: gauge and log per transition, intervals written in the
background, the priority resumed from the store after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from monitord.config import effective_checks, parse_config
from monitord.config.load import EffectiveCheck
from monitord.core.callquality import Priority, QualityChange
from monitord.core.events import CheckSnapshot
from monitord.core.pipeline import ProbeOutcome
from monitord.sinks.callquality import CallQualitySink
from monitord.storage.sqlite import SqliteStore
from probes.base import FailureReason, ProbeResult

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
    s = SqliteStore(tmp_path / "m.db")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def outcome(check: EffectiveCheck, i: int, result: ProbeResult) -> ProbeOutcome:
    snap = CheckSnapshot.initial(check.name)
    return ProbeOutcome(check, T0 + timedelta(minutes=i), result, 1.0, snap, snap, (), ())


def call(mos: float) -> ProbeResult:
    return ProbeResult(ok=True, latency=0.01, measurements={"mos": mos})


async def test_transitions_are_exported_logged_and_stored(store: SqliteStore) -> None:
    registry = CollectorRegistry()
    sink = CallQualitySink(registry, CHECKS, CONFIG.services, store)
    await sink.start()

    def priority() -> float | None:
        return registry.get_sample_value("monitord_service_call_quality_priority",
                                         {"service": "voice"})

    assert priority() == 0
    assert registry.get_sample_value("monitord_service_call_quality_priority",
                                     {"service": "sig"}) is None  # no calls, no series
    echo, opts = CHECKS
    with capture_logs() as logs:
        sink.outcome(outcome(echo, 0, call(4.4)))
        sink.outcome(outcome(echo, 1, call(2.9)))  # 1/2 poor: P1
        assert priority() == 1
        sink.outcome(outcome(opts, 2, ProbeResult.failure(FailureReason.TIMEOUT, "x")))
        sink.outcome(outcome(echo, 3, ProbeResult.failure(FailureReason.BUSY, "486")))
        assert priority() == 1  # neither is an answered call
        for i in range(4, 8):
            sink.outcome(outcome(echo, i, call(4.4)))
        assert priority() == 0  # the poor call left the 4-call window
    changes = [(e["log_level"], e["from_priority"], e["to_priority"]) for e in logs
               if e["event"] == "call_quality_changed"]
    assert changes == [("warning", "none", "P1"), ("info", "P1", "none")]
    assert registry.get_sample_value("monitord_service_call_quality_share",
                                     {"service": "voice", "kind": "poor_audio"}) == 0
    await sink.stop()
    rows = await store.quality_intervals()
    assert [(r.service, r.priority, r.start, r.end) for r in rows] == [
        ("voice", Priority.P1, T0 + timedelta(minutes=1), T0 + timedelta(minutes=7))]


async def test_a_restart_resumes_the_open_priority(store: SqliteStore) -> None:
    first = CallQualitySink(CollectorRegistry(), CHECKS, CONFIG.services, store)
    await first.start()
    first.outcome(outcome(CHECKS[0], 0, ProbeResult.failure(FailureReason.DROPPED, "BYE")))
    first.outcome(outcome(CHECKS[0], 1, call(4.4)))
    await first.stop()
    registry = CollectorRegistry()
    second = CallQualitySink(registry, CHECKS, CONFIG.services, store)
    await second.start()
    assert second.current("voice") is Priority.P1
    assert registry.get_sample_value("monitord_service_call_quality_priority",
                                     {"service": "voice"}) == 1
    second.outcome(outcome(CHECKS[0], 2, call(4.4)))  # 1/3 dropped: still P1, no new row
    await second.stop()
    assert [(r.priority, r.end) for r in await store.quality_intervals()] == [(Priority.P1, None)]


async def test_listeners_hear_changes_and_resumed_priorities(store: SqliteStore) -> None:
    heard: list[QualityChange] = []
    first = CallQualitySink(CollectorRegistry(), CHECKS, CONFIG.services, store, [heard.append])
    await first.start()
    first.outcome(outcome(CHECKS[0], 0, call(2.0)))
    first.outcome(outcome(CHECKS[0], 1, call(4.4)))  # 1/2 poor: P1
    await first.stop()
    assert [(c.before, c.after) for c in heard] == [(Priority.NONE, Priority.P1)]
    heard.clear()
    second = CallQualitySink(CollectorRegistry(), CHECKS, CONFIG.services, store, [heard.append])
    await second.start()  # the open P1 is announced again, from when it began
    await second.stop()
    assert [(c.service, c.before, c.after, c.at) for c in heard] == [
        ("voice", Priority.NONE, Priority.P1, T0 + timedelta(minutes=1))]
