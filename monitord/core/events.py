"""Domain types that flow one way: pipeline steps -> one commit -> events -> sinks.

Events are frozen and validated on construction; the pipeline
(monitord/core/pipeline.py) is their only source. All timestamps are
timezone-aware UTC datetimes taken from the wall clock at probe start; the
scheduler itself runs on the monotonic clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


def _require_aware(**stamps: datetime | None) -> None:
    for name, value in stamps.items():
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


class CheckState(enum.StrEnum):
    UP = "up"
    FAILING = "failing"
    ALERTING = "alerting"
    DOWN = "down"


class DowntimeStart(enum.StrEnum):
    """Where a downtime interval starts (sla-rules §1)."""

    FIRST_FAILURE = "first_failure"
    CONFIRMATION = "confirmation"


@dataclass(frozen=True, slots=True)
class CheckSnapshot:
    """Everything needed to resume a check's state machine after a restart."""

    check: str
    state: CheckState
    consecutive_failures: int
    consecutive_successes: int
    streak_start: datetime | None  # first failed probe of the current streak
    streak_reason: str | None  # failure reason of that first failed probe
    streak_detail: str  # its detail: the evidence a downtime interval keeps
    downtime_start: datetime | None  # start of the open downtime interval, if DOWN
    last_probe: datetime | None
    recovery_start: datetime | None = None  # first success of a recovering streak

    def __post_init__(self) -> None:
        # built for every probe: the named check only when a stamp is naive
        for stamp in (self.streak_start, self.downtime_start, self.last_probe,
                      self.recovery_start):
            if stamp is not None and (stamp.tzinfo is None or stamp.utcoffset() is None):
                _require_aware(
                    streak_start=self.streak_start,
                    downtime_start=self.downtime_start,
                    last_probe=self.last_probe,
                    recovery_start=self.recovery_start,
                )
        if self.consecutive_failures < 0 or self.consecutive_successes < 0:
            raise ValueError("streak counters cannot be negative")

    @classmethod
    def initial(cls, check: str) -> CheckSnapshot:
        return cls(check, CheckState.UP, 0, 0, None, None, "", None, None)


# the slots of CheckSnapshot, set directly by `probed_again` (see there)
_NEW = object.__new__
(_CHECK, _STATE, _FAILURES, _SUCCESSES, _STREAK_START, _STREAK_REASON, _STREAK_DETAIL,
 _DOWNTIME_START, _LAST_PROBE, _RECOVERY_START) = (
    CheckSnapshot.__dict__[f].__set__ for f in (
        "check", "state", "consecutive_failures", "consecutive_successes", "streak_start",
        "streak_reason", "streak_detail", "downtime_start", "last_probe", "recovery_start"))


def probed_again(snap: CheckSnapshot, at: datetime) -> CheckSnapshot:
    """`snap` with only `last_probe` moved to `at`: what most probes (an UP check answering
    again) make, thousands a second.

    Why not the constructor: a frozen dataclass sets each field through
    `object.__setattr__` and then validates all of them, ~1.3 us for a copy in which
    only one stamp is new. Here the slots are written directly and only `at` is
    checked, exactly as `__post_init__` would (the rest was checked when `snap` was
    built); tests/unit/core/test_checkstate.py holds it equal to the constructor.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        _require_aware(last_probe=at)
    new: CheckSnapshot = _NEW(CheckSnapshot)
    _CHECK(new, snap.check)
    _STATE(new, snap.state)
    _FAILURES(new, snap.consecutive_failures)
    _SUCCESSES(new, snap.consecutive_successes)
    _STREAK_START(new, snap.streak_start)
    _STREAK_REASON(new, snap.streak_reason)
    _STREAK_DETAIL(new, snap.streak_detail)
    _DOWNTIME_START(new, snap.downtime_start)
    _LAST_PROBE(new, at)
    _RECOVERY_START(new, snap.recovery_start)
    return new


@dataclass(frozen=True, slots=True)
class AlertRaised:
    check: str
    at: datetime  # the probe that crossed alert_after
    since: datetime  # first failed probe of the streak
    failures: int
    reason: str
    detail: str

    def __post_init__(self) -> None:
        _require_aware(at=self.at, since=self.since)


@dataclass(frozen=True, slots=True)
class AlertResolved:
    check: str
    at: datetime  # first success of the recovering streak
    since: datetime

    def __post_init__(self) -> None:
        _require_aware(at=self.at, since=self.since)


@dataclass(frozen=True, slots=True)
class DowntimeOpened:
    check: str
    start: datetime
    confirmed_at: datetime  # the probe that crossed down_after
    reason: str
    detail: str

    def __post_init__(self) -> None:
        _require_aware(start=self.start, confirmed_at=self.confirmed_at)


@dataclass(frozen=True, slots=True)
class DowntimeClosed:
    check: str
    start: datetime
    end: datetime  # first success of the recovering streak, unless `cause` says otherwise
    reason: str
    cause: str = "recovered"  # or "removed" (left the config), "unmonitored" (record resync)

    def __post_init__(self) -> None:
        _require_aware(start=self.start, end=self.end)
        if self.end < self.start:
            raise ValueError(f"downtime of {self.check} ends ({self.end}) before it starts")


@dataclass(frozen=True, slots=True)
class EpisodeRecorded:
    """A streak that alerted but never reached down_after: a near-miss."""

    check: str
    start: datetime
    end: datetime
    failures: int
    reason: str
    detail: str

    def __post_init__(self) -> None:
        _require_aware(start=self.start, end=self.end)


CheckEvent = AlertRaised | AlertResolved | DowntimeOpened | DowntimeClosed | EpisodeRecorded
CHECK_EVENTS = (AlertRaised, AlertResolved, DowntimeOpened, DowntimeClosed, EpisodeRecorded)


@dataclass(frozen=True, slots=True)
class ServiceDowntimeOpened:
    service: str
    start: datetime
    reason: str
    detail: str

    def __post_init__(self) -> None:
        _require_aware(start=self.start)


@dataclass(frozen=True, slots=True)
class ServiceDowntimeClosed:
    service: str
    start: datetime
    end: datetime
    cause: str = "recovered"  # or "removed", "unmonitored": see DowntimeClosed

    def __post_init__(self) -> None:
        _require_aware(start=self.start, end=self.end)


@dataclass(frozen=True, slots=True)
class ServiceDowntimeRecorded:
    """A past stretch of service downtime, revealed after it ended.

    Check intervals start at their first failed probe but are confirmed
    `down_after` probes later, so a late confirmation can show that a service
    (k of n checks) was down during a span already over. It is recorded as it
    was and never touches the service's ongoing interval.
    """

    service: str
    start: datetime
    end: datetime
    reason: str
    detail: str

    def __post_init__(self) -> None:
        _require_aware(start=self.start, end=self.end)
        if self.end < self.start:
            raise ValueError(f"downtime of {self.service} ends ({self.end}) before it starts")


ServiceEvent = ServiceDowntimeOpened | ServiceDowntimeClosed | ServiceDowntimeRecorded
SERVICE_EVENTS = (ServiceDowntimeOpened, ServiceDowntimeClosed, ServiceDowntimeRecorded)


@dataclass(frozen=True, slots=True)
class RebootDetected:
    """An SNMP agent's uptime went down between two polls: news, not a failure."""

    check: str
    device: str
    at: datetime  # the poll that saw it
    previous_uptime: float  # seconds
    uptime: float

    def __post_init__(self) -> None:
        _require_aware(at=self.at)

    @property
    def booted_at(self) -> datetime:
        return self.at - timedelta(seconds=self.uptime)


@dataclass(frozen=True, slots=True)
class MaintenanceStarted:
    """A maintenance window began to count (the later of its start and its announcement)."""

    service: str
    window: str
    kind: str
    start: datetime  # the occurrence's own start
    effective: datetime  # when suppression began
    end: datetime | None  # planned end; None when too far out to say
    key: str  # names the occurrence in the world: <site>/<service>/<window>/<start>

    def __post_init__(self) -> None:
        _require_aware(start=self.start, effective=self.effective, end=self.end)


@dataclass(frozen=True, slots=True)
class MaintenanceEnded:
    service: str
    window: str
    kind: str
    start: datetime
    end: datetime  # when it ended: its planned end, or the moment it was withdrawn
    cause: str  # "elapsed" or "withdrawn"
    key: str

    def __post_init__(self) -> None:
        _require_aware(start=self.start, end=self.end)


MaintenanceEvent = MaintenanceStarted | MaintenanceEnded
