"""Call-quality priorities over a rolling window of calls (XTIUM §1, sla-rules §3).

Why a window and not the last call: XTIUM writes quality incidents as shares
of calls ("MOS below 3.5 in more than 10 % of calls", "calls dropped in more
than 10 % of cases"), so one bad call is a data point, not an incident. Each
service keeps its last `calls` answered calls (default 20) that are younger
than `window` (default 1 h); the share of calls with poor audio and the share
of dropped calls each give a priority, and the worse one is the service's.

The XTIUM wording, applied literally, and the boundaries it leaves open:

- P1: poor audio in **more than 10 %** of calls, or drops in **more than 10 %**.
- P2: poor audio in **less than 10 %**, or drops in **less than 10 %**.
  Exactly 10 % is "more than" neither, so it is P2: the contract would
  otherwise leave a hole, and P2 is the tier whose bound it touches.
- P3: "audio problems in **less than 1 %** of calls". Exactly 1 % is not
  less than 1 %, so it is P2. XTIUM names no P3 for drops: any share of
  dropped calls up to 10 % is P2 as written.
- P4 / none: no call in the window was poor or dropped.

A call counts only if it was answered: successful calls and those that failed
after the answer (`dropped`, `no_media`, `one_way_audio`, `audio_gaps`,
`looped_back_media`, `unexpected_audio`, `dtmf_failed`). Calls that never
connected (busy, no answer, rejected, timeout) are reachability; the check's
state machine turns those into downtime, and counting them here too would
report one problem twice. "Poor audio" is MOS < 3.5 (3.5 itself is not below
it; a call rated without an RTT has only an upper bound, `mos_estimated`, which
counts when it is already below) or audio a caller could not use (`no_media`,
`one_way_audio`, `audio_gaps`, `looped_back_media`, `unexpected_audio`).

Fewer than `min_calls` calls in the window is not a share of calls worth a
priority, so the service keeps the priority it had (after a restart: the one
of the open stored interval) until enough calls are in. Note the window size
bounds the resolution: with 20 calls one bad call is 5 %, so P3 needs a window
of more than 100 calls.

Pure: no I/O, the call's time is passed in. The pipeline runs
`CallQualityJudge` on every `sip_call` result and commits its changes with the
call; `monitord/sinks/callquality.py` turns them into gauges and logs.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from probes.base import FailureReason, ProbeResult
from probes.measurements import CallMeasured

__all__ = [
    "MOS_POOR",
    "CallQualityJudge",
    "CallVerdict",
    "CallWindow",
    "Priority",
    "QualityChange",
    "ServiceCalls",
    "ServiceQuality",
    "WindowFigures",
    "classify",
    "verdict",
]

MOS_POOR = 3.5  # XTIUM: "MOS below 3.5"
_P1_ABOVE = 0.10
_P3_BELOW = 0.01
# Failed, but after the far end answered: these calls had (or should have had) audio.
_ANSWERED_FAILURES = frozenset(
    {FailureReason.DROPPED, FailureReason.NO_MEDIA, FailureReason.ONE_WAY_AUDIO,
     FailureReason.AUDIO_GAPS, FailureReason.LOOPED_BACK, FailureReason.UNEXPECTED_AUDIO,
     FailureReason.DTMF_FAILED}
)
# what a caller hears as bad audio (a failed DTMF round trip is an IVR fault, not audio)
_NO_AUDIO = frozenset({FailureReason.NO_MEDIA, FailureReason.ONE_WAY_AUDIO,
                       FailureReason.AUDIO_GAPS, FailureReason.LOOPED_BACK,
                       FailureReason.UNEXPECTED_AUDIO})


class Priority(enum.IntEnum):
    """The exported value: 0 none, else the XTIUM priority number (1 is the worst)."""

    NONE = 0
    P1 = 1
    P2 = 2
    P3 = 3

    @property
    def label(self) -> str:
        return "none" if self is Priority.NONE else self.name

    def severity(self) -> int:
        """Orders priorities by how bad they are: NONE 0 < P3 1 < P2 2 < P1 3."""
        return 0 if self is Priority.NONE else 4 - int(self)


def _audio_priority(share: float) -> Priority:
    if share > _P1_ABOVE:
        return Priority.P1
    if share >= _P3_BELOW:
        return Priority.P2  # [1 %, 10 %]: see the module docstring for both bounds
    if share > 0:
        return Priority.P3
    return Priority.NONE


def _drop_priority(share: float) -> Priority:
    if share > _P1_ABOVE:
        return Priority.P1
    if share > 0:
        return Priority.P2  # XTIUM has no P3 for drops
    return Priority.NONE


def classify(poor_audio_share: float, dropped_share: float) -> Priority:
    """The worse of the two priorities the shares (0..1) give."""
    for share in (poor_audio_share, dropped_share):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"a share of calls is between 0 and 1, got {share}")
    return max(_audio_priority(poor_audio_share), _drop_priority(dropped_share),
               key=Priority.severity)


@dataclass(frozen=True, slots=True)
class CallVerdict:
    """What one answered call contributes to its services' windows."""

    at: datetime
    poor_audio: bool
    dropped: bool
    mos: float | None = None


def verdict(result: ProbeResult, at: datetime) -> CallVerdict | None:
    """Judge a `sip_call` result; None when the call was never answered (see above)."""
    if not result.ok and result.reason not in _ANSWERED_FAILURES:
        return None
    m = result.measured
    mos = m.mos if isinstance(m, CallMeasured) else None
    # without an RTT only an upper bound exists: below the line it is surely poor
    bound = m.mos_estimated if isinstance(m, CallMeasured) else None
    rating = mos if mos is not None else bound
    poor = result.reason in _NO_AUDIO or (rating is not None and rating < MOS_POOR)
    return CallVerdict(at, poor, result.reason is FailureReason.DROPPED, mos)


@dataclass(frozen=True, slots=True)
class WindowFigures:
    calls: int
    poor_audio: int
    dropped: int

    @property
    def poor_audio_share(self) -> float:
        return self.poor_audio / self.calls if self.calls else 0.0

    @property
    def dropped_share(self) -> float:
        return self.dropped / self.calls if self.calls else 0.0

    def priority(self) -> Priority:
        return classify(self.poor_audio_share, self.dropped_share)

    def describe(self) -> str:
        return (f"{self.poor_audio}/{self.calls} calls with MOS < {MOS_POOR} or no audio,"
                f" {self.dropped}/{self.calls} dropped")


class CallWindow:
    """The last `max_calls` calls no older than `max_age` (bounded by construction)."""

    def __init__(self, max_calls: int, max_age: timedelta) -> None:
        if max_calls < 1:
            raise ValueError("a call window holds at least one call")
        self._calls: deque[CallVerdict] = deque(maxlen=max_calls)
        self._max_age = max_age

    def add(self, call: CallVerdict) -> None:
        self._calls.append(call)

    def figures(self, now: datetime) -> WindowFigures:
        oldest = now - self._max_age
        while self._calls and self._calls[0].at < oldest:
            self._calls.popleft()
        return WindowFigures(
            calls=len(self._calls),
            poor_audio=sum(c.poor_audio for c in self._calls),
            dropped=sum(c.dropped for c in self._calls),
        )


@dataclass(frozen=True, slots=True)
class QualityChange:
    """A service's call-quality priority changed at `at` (the deciding call's time)."""

    service: str
    at: datetime
    before: Priority
    after: Priority
    figures: WindowFigures

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("QualityChange.at must be timezone-aware")
        if self.before is self.after:
            raise ValueError("a quality change changes the priority")


class ServiceQuality:
    """One service's window and current priority; `observe` returns a change or None."""

    def __init__(self, service: str, *, calls: int, window: timedelta, min_calls: int,
                 priority: Priority = Priority.NONE) -> None:
        if not 1 <= min_calls <= calls:
            raise ValueError(f"min_calls must be 1..{calls}, got {min_calls}")
        self.service = service
        self.priority = priority
        self.figures = WindowFigures(0, 0, 0)
        self._window = CallWindow(calls, window)
        self._min_calls = min_calls

    def observe(self, call: CallVerdict) -> QualityChange | None:
        self._window.add(call)
        self.figures = self._window.figures(call.at)
        if self.figures.calls < self._min_calls:
            return None  # too few calls for a share: hold what we had
        after = self.figures.priority()
        if after is self.priority:
            return None
        change = QualityChange(self.service, call.at, self.priority, after, self.figures)
        self.priority = after
        return change


@dataclass(frozen=True, slots=True)
class ServiceCalls:
    """A service's call-quality settings, as the judge needs them."""

    service: str
    checks: tuple[str, ...]  # its sip_call checks
    calls: int
    window: timedelta
    min_calls: int


class CallQualityJudge:
    """Every service's window, fed the answered calls of its `sip_call` checks."""

    def __init__(self, services: Sequence[ServiceCalls]) -> None:
        self.services: dict[str, ServiceQuality] = {}
        self._of_check: dict[str, list[ServiceQuality]] = {}
        for svc in services:
            sq = ServiceQuality(svc.service, calls=svc.calls, window=svc.window,
                                min_calls=svc.min_calls)
            self.services[svc.service] = sq
            for check in svc.checks:
                self._of_check.setdefault(check, []).append(sq)

    def judges(self, check: str) -> bool:
        return check in self._of_check

    def resume(self, service: str, priority: Priority) -> None:
        """The priority of the service's open stored interval, after a restart."""
        sq = self.services.get(service)
        if sq is not None:
            sq.priority = priority

    def observe(self, check: str, result: ProbeResult, at: datetime
                ) -> list[tuple[ServiceQuality, QualityChange | None]]:
        """Each of the check's services after this call; empty if it was never answered."""
        targets = self._of_check.get(check)
        if not targets:
            return []
        call = verdict(result, at)
        if call is None:
            return []
        return [(sq, sq.observe(call)) for sq in targets]
