"""The one interface every probe implements, and the result it returns.

The runner (not the probe) owns the deadline, the timeout and the common
measurements; a probe only adds protocol-specific measurements. A failed
result always carries a `FailureReason`, because a downtime interval must say
why it started.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from .errors import InvalidValue
from .measurements import Measured
from .reasons import FailureReason

__all__ = ["FailureReason", "Probe", "ProbeResult"]


_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe run observed: a success, a failure with its cause, or nothing
    we can judge.

    `latency` is in seconds (None when nothing answered). `measured` holds the
    protocol figures of the probe's kind (probes/measurements.py); they are
    exported, never interpreted by the state machine.

    `inconclusive` is the third outcome: our own daemon was too late to tell
    (its socket dropped the answer, it sent late, its event loop lagged past
    the deadline), so the result says nothing about the target. It is neither
    ok nor a failure, carries no reason, and must never be counted as a
    failed probe; the detail says what made it so.
    """

    ok: bool
    latency: float | None = None
    reason: FailureReason | None = None
    detail: str = ""
    measured: Measured | None = None
    inconclusive: bool = False

    def __post_init__(self) -> None:
        if self.ok and (self.reason is not None or self.inconclusive):
            raise InvalidValue("a successful probe result carries no failure reason")
        if self.inconclusive and self.reason is not None:
            raise InvalidValue("an inconclusive probe result carries no failure reason")
        if not self.ok and not self.inconclusive and self.reason is None:
            raise InvalidValue("a failed probe result needs a failure reason")
        if self.latency is not None and (not math.isfinite(self.latency) or self.latency < 0):
            raise InvalidValue(f"latency must be a non-negative finite number, got {self.latency!r}")

    @property
    def measurements(self) -> Mapping[str, float]:
        """The flat export form of `measured` (the API's keys); code reads `measured`."""
        return _EMPTY if self.measured is None else self.measured.exported()

    @classmethod
    def success(
        cls, latency: float | None, detail: str = "", measured: Measured | None = None
    ) -> ProbeResult:
        return cls(True, latency, None, detail, measured)

    @classmethod
    def failure(
        cls,
        reason: FailureReason,
        detail: str,
        latency: float | None = None,
        measured: Measured | None = None,
    ) -> ProbeResult:
        return cls(False, latency, reason, detail, measured)

    @classmethod
    def not_judged(
        cls, detail: str, latency: float | None = None, measured: Measured | None = None
    ) -> ProbeResult:
        """An inconclusive result: `detail` says how our own lateness made it so."""
        return cls(False, latency, None, detail, measured, inconclusive=True)


class Probe(Protocol):
    """A configured probe. `deadline` is on the event loop's clock (`loop.time()`).

    Implementations should give up by the deadline themselves, judging by
    when answers arrived on the wire, not by when our loop got round to them;
    the runner also cancels them shortly after the deadline (see
    monitord/core/runner.py).
    """

    async def run(self, deadline: float) -> ProbeResult: ...
