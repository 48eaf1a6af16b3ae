"""The one event stream: what the pipeline hands every sink after each commit.

Why one stream: sinks (metrics, logs, Alertmanager, MQTT, the API's live
view) must all tell the same story, in the same order, from the same source.
The pipeline is that source; a sink only consumes `Committed` values, holds no
store and calls nothing back. Everything here is frozen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.callquality import Priority, QualityChange, WindowFigures
from monitord.core.events import (
    CHECK_EVENTS,
    SERVICE_EVENTS,
    CheckEvent,
    CheckSnapshot,
    MaintenanceEvent,
    RebootDetected,
    ServiceEvent,
)
from probes.base import ProbeResult

__all__ = [
    "Committed",
    "Event",
    "ProbeOutcome",
    "QualityWindow",
    "Reconfigured",
    "RecordHealth",
    "Resumed",
    "Sink",
    "follows_probes",
    "probe_sinks",
    "publish",
    "quiet_commit",
]


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """One probe run as the state machine judged it (not stored as such)."""

    check: EffectiveCheck
    at: datetime
    result: ProbeResult
    duration: float
    before: CheckSnapshot
    after: CheckSnapshot


@dataclass(frozen=True, slots=True)
class QualityWindow:
    """A service's call-quality window after a call (every call, not only on a change)."""

    service: str
    at: datetime
    figures: WindowFigures
    priority: Priority


@dataclass(frozen=True, slots=True)
class Resumed:
    """The state a (re)started pipeline resumes from: sinks seed themselves with it.

    `quality` holds each open call-quality priority as a change from none that
    began when its stored interval did.
    """

    at: datetime
    snapshots: Mapping[str, CheckSnapshot]
    open_services: Mapping[str, datetime]
    quality: tuple[QualityChange, ...]


@dataclass(frozen=True, slots=True)
class RecordHealth:
    """Whether the record keeps up: sent whenever the write backlog changes.

    `waiting` counts entries not yet in the store; `failing_since` is the
    first failed commit of the current trouble; `lost_since`, when set, is
    where the record stopped taking news (the backlog bound was reached): that
    span becomes an unmonitored gap once the store is back.
    """

    at: datetime
    waiting: int
    failing_since: datetime | None
    error: str | None
    lost_since: datetime | None = None

    @property
    def healthy(self) -> bool:
        return self.waiting == 0 and self.failing_since is None and self.lost_since is None


@dataclass(frozen=True, slots=True)
class Reconfigured:
    """A config reload took effect: sinks rebuild what they keep per check and service.

    `removed` checks and services had their open intervals closed as removed
    from monitoring (never as recovered) in the same commit.
    """

    at: datetime
    checks: tuple[EffectiveCheck, ...]
    services: tuple[ServiceConfig, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


Event = (
    CheckEvent
    | ServiceEvent
    | QualityChange
    | QualityWindow
    | RebootDetected
    | MaintenanceEvent
    | Resumed
    | RecordHealth
    | Reconfigured
)


@dataclass(frozen=True, slots=True)
class Committed:
    """One step of the pipeline: the probe that caused it (if any) and its events, in order.

    `recorded` is False while the store is behind: the events are true and in
    the write backlog, which is written in order once the store answers.
    """

    at: datetime
    probe: ProbeOutcome | None
    events: tuple[Event, ...]
    recorded: bool = True

    @property
    def quiet(self) -> bool:
        """No event and no change of a check's state: most commits (an UP check that
        answered again), which only sinks that follow every probe need to see."""
        probe = self.probe
        return not self.events and (probe is None or probe.before.state is probe.after.state)

    @property
    def check_events(self) -> tuple[CheckEvent, ...]:
        return tuple(e for e in self.events if isinstance(e, CHECK_EVENTS))

    @property
    def service_events(self) -> tuple[ServiceEvent, ...]:
        return tuple(e for e in self.events if isinstance(e, SERVICE_EVENTS))


# the slots `quiet_commit` sets directly (see there)
_NEW = object.__new__
_O_CHECK, _O_AT, _O_RESULT, _O_DURATION, _O_BEFORE, _O_AFTER = (
    ProbeOutcome.__dict__[f].__set__
    for f in ("check", "at", "result", "duration", "before", "after"))
_C_AT, _C_PROBE, _C_EVENTS, _C_RECORDED = (
    Committed.__dict__[f].__set__ for f in ("at", "probe", "events", "recorded"))


def quiet_commit(check: EffectiveCheck, at: datetime, result: ProbeResult, duration: float,
                 before: CheckSnapshot, after: CheckSnapshot) -> Committed:
    """`Committed(at, ProbeOutcome(check, at, result, duration, before, after), ())`, built
    for the probe that changed nothing (most of them, thousands a second).

    Why not the constructors: a frozen dataclass sets each field through
    `object.__setattr__`, ~0.9 us for these two; neither validates anything, so
    writing their slots directly makes the same objects (tests/unit/core/
    test_pipeline.py compares them) at under half the cost.
    """
    outcome: ProbeOutcome = _NEW(ProbeOutcome)
    _O_CHECK(outcome, check)
    _O_AT(outcome, at)
    _O_RESULT(outcome, result)
    _O_DURATION(outcome, duration)
    _O_BEFORE(outcome, before)
    _O_AFTER(outcome, after)
    committed: Committed = _NEW(Committed)
    _C_AT(committed, at)
    _C_PROBE(committed, outcome)
    _C_EVENTS(committed, ())
    _C_RECORDED(committed, True)
    return committed


class Sink(Protocol):
    """A consumer of the stream. Synchronous and quick: a sink that does I/O queues
    it for a task of its own (run by the supervisor)."""

    def consume(self, committed: Committed) -> None: ...


def follows_probes(sink: Sink) -> bool:
    """Whether `sink` reads quiet commits (`Committed.quiet`). A sink that acts only on
    events and state changes says so with a class attribute `QUIET = False`, and is
    then not called thousands of times a second for nothing."""
    return bool(getattr(sink, "QUIET", True))


def probe_sinks(sinks: Iterable[Sink], check: EffectiveCheck) -> tuple[Sink, ...]:
    """The sinks that read `check`'s quiet commits: those that follow probes
    (`follows_probes`) and, when a sink says which checks it reads (a method
    `follows(check) -> bool`, e.g. the SNMP sink: only checks with a device), this one.

    Why: a quiet commit holds nothing but its probe, so a sink that ignores the
    check's probes does nothing with it; at thousands of probes a second, not
    calling it saves a call and its checks per sink and probe. The pipeline binds
    the list to the check when the check is registered (start, reload, hand-over),
    when the sinks also learn the check's config."""
    return tuple(s for s in sinks if follows_probes(s) and _follows(s, check))


def _follows(sink: Sink, check: EffectiveCheck) -> bool:
    follows = getattr(sink, "follows", None)
    return follows is None or bool(follows(check))


def publish(sinks: Iterable[Sink], committed: Committed, log: Any) -> None:
    """Hand `committed` to every sink in turn; one that raises is logged on `log` and skipped.

    Why not let it raise: a broken sink (a dashboard, a log line) must not stop the
    writer behind the stream, which is monitoring or judging.
    """
    for sink in sinks:
        try:
            sink.consume(committed)
        except Exception:
            log.exception("sink_failed", sink=type(sink).__name__)
