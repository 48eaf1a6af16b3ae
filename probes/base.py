"""The one interface every probe implements, and the result it returns.

The runner (not the probe) owns the deadline, the timeout and the common
measurements; a probe only adds protocol-specific measurements. A failed
result always carries a `FailureReason`, because a downtime interval must say
why it started.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from .errors import InvalidValue
from .reasons import FailureReason

__all__ = ["FailureReason", "Probe", "ProbeResult"]


_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe run observed.

    `latency` is in seconds (None when nothing answered). `measurements` are
    protocol figures in base units (e.g. ``sip_status``); they are exported,
    never interpreted by the state machine.
    """

    ok: bool
    latency: float | None = None
    reason: FailureReason | None = None
    detail: str = ""
    # default_factory: Python 3.11 dataclasses reject an unhashable (mappingproxy) default.
    measurements: Mapping[str, float] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        if self.ok and self.reason is not None:
            raise InvalidValue("a successful probe result cannot carry a failure reason")
        if not self.ok and self.reason is None:
            raise InvalidValue("a failed probe result needs a failure reason")
        if self.latency is not None and (not math.isfinite(self.latency) or self.latency < 0):
            raise InvalidValue(f"latency must be a non-negative finite number, got {self.latency!r}")

    @classmethod
    def success(
        cls,
        latency: float | None,
        detail: str = "",
        measurements: Mapping[str, float] | None = None,
    ) -> ProbeResult:
        return cls(True, latency, None, detail, MappingProxyType(dict(measurements or {})))

    @classmethod
    def failure(
        cls,
        reason: FailureReason,
        detail: str,
        latency: float | None = None,
        measurements: Mapping[str, float] | None = None,
    ) -> ProbeResult:
        return cls(False, latency, reason, detail, MappingProxyType(dict(measurements or {})))


class Probe(Protocol):
    """A configured probe. `deadline` is on the event loop's clock (`loop.time()`).

    Implementations should give up by the deadline themselves; the runner
    also cancels them at the deadline and reports a timeout.
    """

    async def run(self, deadline: float) -> ProbeResult: ...
