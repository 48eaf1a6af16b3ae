"""The check state machine: consecutive probe results in, threshold events out.

Rules (sla-rules §1, VIOMS §5.1):
- `alert_after` consecutive failures raise an alert (default 3);
- `down_after` consecutive failures mark the check down and open a downtime
  interval (default 5) that starts at the FIRST failed probe of the streak
  (or at confirmation, as a policy option);
- `recover_after` consecutive successes end it (default 1); the interval ends
  at the FIRST success of that recovering streak;
- a streak that alerted but never reached `down_after` is kept as an episode.

Events are emitted only on threshold crossings, never on raw flips. The
machine is pure: `step()` takes the previous snapshot and one observation and
returns the next snapshot plus events; it has no clock, I/O or hidden state.

The transition table below is the whole machine. Each failure or success is
first classified into a `Signal` by comparing the updated counter to the
thresholds; the table maps (state, signal) to (next state, actions).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckEvent,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    DowntimeStart,
    EpisodeRecorded,
    probed_again,
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    alert_after: int = 3
    down_after: int = 5
    recover_after: int = 1
    downtime_start: DowntimeStart = DowntimeStart.FIRST_FAILURE

    def __post_init__(self) -> None:
        if self.alert_after < 1 or self.down_after < 1 or self.recover_after < 1:
            raise ValueError("alert_after, down_after and recover_after must each be at least 1")
        if self.alert_after > self.down_after:
            raise ValueError(
                f"alert_after ({self.alert_after}) cannot exceed down_after ({self.down_after}):"
                " a check must alert no later than it goes down"
            )


@dataclass(frozen=True, slots=True)
class Observation:
    """One probe outcome as the state machine sees it."""

    at: datetime
    ok: bool
    reason: str | None = None
    detail: str = ""


class Signal(enum.Enum):
    FAIL = "fail"  # a failure below alert_after
    FAIL_ALERT = "fail_alert"  # this failure reaches alert_after (and not down_after)
    FAIL_DOWN = "fail_down"  # this failure reaches down_after
    FAIL_MORE = "fail_more"  # a failure past the threshold already crossed
    OK = "ok"  # a success that does not (yet) complete recovery
    OK_RECOVERED = "ok_recovered"  # this success reaches recover_after


class Action(enum.Enum):
    RAISE = "raise"
    OPEN = "open"
    CLOSE = "close"
    RESOLVE = "resolve"
    EPISODE = "episode"


S, G, A = CheckState, Signal, Action

# (state, signal) -> (next state, actions in order)
TRANSITIONS: dict[tuple[CheckState, Signal], tuple[CheckState, tuple[Action, ...]]] = {
    (S.UP, G.FAIL): (S.FAILING, ()),
    (S.UP, G.FAIL_ALERT): (S.ALERTING, (A.RAISE,)),
    (S.UP, G.FAIL_DOWN): (S.DOWN, (A.RAISE, A.OPEN)),
    (S.UP, G.OK): (S.UP, ()),
    (S.UP, G.OK_RECOVERED): (S.UP, ()),
    (S.FAILING, G.FAIL): (S.FAILING, ()),
    (S.FAILING, G.FAIL_ALERT): (S.ALERTING, (A.RAISE,)),
    (S.FAILING, G.FAIL_DOWN): (S.DOWN, (A.RAISE, A.OPEN)),
    (S.FAILING, G.OK): (S.UP, ()),  # below alert_after: nothing happened
    (S.FAILING, G.OK_RECOVERED): (S.UP, ()),
    (S.ALERTING, G.FAIL_MORE): (S.ALERTING, ()),
    (S.ALERTING, G.FAIL_DOWN): (S.DOWN, (A.OPEN,)),
    (S.ALERTING, G.OK): (S.ALERTING, ()),  # recovering, not yet recover_after
    (S.ALERTING, G.OK_RECOVERED): (S.UP, (A.EPISODE, A.RESOLVE)),
    (S.DOWN, G.FAIL_MORE): (S.DOWN, ()),
    (S.DOWN, G.OK): (S.DOWN, ()),
    (S.DOWN, G.OK_RECOVERED): (S.UP, (A.CLOSE, A.RESOLVE)),
}


class CheckMachine:
    """Pure transition function for one check, parametrised by its thresholds."""

    def __init__(self, name: str, thresholds: Thresholds) -> None:
        self.name = name
        self.thresholds = thresholds

    def classify(self, snap: CheckSnapshot, ok: bool) -> Signal:
        t = self.thresholds
        if ok:
            successes = snap.consecutive_successes + 1
            needed = 1 if snap.state in (CheckState.UP, CheckState.FAILING) else t.recover_after
            return Signal.OK_RECOVERED if successes >= needed else Signal.OK
        failures = snap.consecutive_failures + 1
        if snap.state in (CheckState.ALERTING, CheckState.DOWN):
            if snap.state is CheckState.ALERTING and failures >= t.down_after:
                return Signal.FAIL_DOWN
            return Signal.FAIL_MORE
        if failures >= t.down_after:
            return Signal.FAIL_DOWN
        if failures >= t.alert_after:
            return Signal.FAIL_ALERT
        return Signal.FAIL

    def step(
        self, snap: CheckSnapshot, obs: Observation
    ) -> tuple[CheckSnapshot, tuple[CheckEvent, ...]]:
        if obs.at.tzinfo is None:
            raise ValueError("observation time must be timezone-aware")
        if not obs.ok and obs.reason is None:
            raise ValueError("a failed observation needs a reason")
        if obs.ok and snap.state is CheckState.UP:
            return self.answered(snap, obs.at), ()
        signal = self.classify(snap, obs.ok)
        try:
            next_state, actions = TRANSITIONS[(snap.state, signal)]
        except KeyError:  # pragma: no cover - the table is total for reachable pairs
            raise AssertionError(f"no transition for {snap.state} on {signal}") from None

        nxt = self._count(snap, obs)
        events: list[CheckEvent] = []
        for action in actions:
            nxt, event = self._apply(action, nxt, obs)
            events.append(event)
        if next_state is CheckState.UP:
            nxt = replace(
                nxt,
                consecutive_failures=0,
                streak_start=None,
                streak_reason=None,
                consecutive_successes=0,
                streak_detail="",
                downtime_start=None,
                recovery_start=None,
            )
        if nxt.state is not next_state:  # a check that stays DOWN (or ALERTING) keeps it
            nxt = replace(nxt, state=next_state)
        return nxt, tuple(events)

    @staticmethod
    def answered(snap: CheckSnapshot, at: datetime) -> CheckSnapshot:
        """The hot path: an UP check answered again. Nothing to count and no event: only
        `last_probe` moves (`probed_again`: a third of the constructor's cost)."""
        if snap.state is not CheckState.UP:
            raise ValueError(f"answered() is for an UP check, {snap.check} is {snap.state}")
        if at.tzinfo is None:
            raise ValueError("observation time must be timezone-aware")
        return probed_again(snap, at)

    def _count(self, snap: CheckSnapshot, obs: Observation) -> CheckSnapshot:
        """Update the streak counters and remember the streak's first failure. Every
        probe of a check that is not UP passes here: built directly, as `replace`
        costs 3x as much (fields in CheckSnapshot's order)."""
        if obs.ok:
            return CheckSnapshot(
                snap.check, snap.state, snap.consecutive_failures,
                snap.consecutive_successes + 1, snap.streak_start, snap.streak_reason,
                snap.streak_detail, snap.downtime_start, obs.at,
                # the first success of a recovering streak is where downtime ends
                snap.recovery_start or obs.at,
            )
        first = snap.state is CheckState.UP
        return CheckSnapshot(
            snap.check, snap.state, snap.consecutive_failures + 1, 0,
            obs.at if first else snap.streak_start,
            obs.reason if first else snap.streak_reason,
            obs.detail if first else snap.streak_detail,
            snap.downtime_start, obs.at, None,
        )

    def _apply(
        self, action: Action, snap: CheckSnapshot, obs: Observation
    ) -> tuple[CheckSnapshot, CheckEvent]:
        since = snap.streak_start or obs.at
        reason = snap.streak_reason or "unknown"
        if action is Action.RAISE:
            return snap, AlertRaised(
                self.name, obs.at, since, snap.consecutive_failures, reason, snap.streak_detail
            )
        if action is Action.OPEN:
            start = (
                since if self.thresholds.downtime_start is DowntimeStart.FIRST_FAILURE else obs.at
            )
            return replace(snap, downtime_start=start), DowntimeOpened(
                self.name, start, obs.at, reason, snap.streak_detail
            )
        end = snap.recovery_start or obs.at
        if action is Action.CLOSE:
            start = snap.downtime_start or since
            return snap, DowntimeClosed(self.name, start, end, reason)
        if action is Action.RESOLVE:
            return snap, AlertResolved(self.name, end, since)
        return snap, EpisodeRecorded(
            self.name, since, end, snap.consecutive_failures, reason, snap.streak_detail
        )
