"""Reboot detection across SNMP polls: uptime in, `RebootDetected` out.

Probes keep no state between runs, so a reboot (sysUpTime going *down*
between two polls) can only be seen across results of one check. It is news,
not a failure: the pipeline records it in the event log (and the outbox) in
the same transaction as the poll's other effects.

Pure: the poll's time is passed in.
"""

from __future__ import annotations

from datetime import datetime

from monitord.config.load import EffectiveCheck
from monitord.config.snmp import SnmpTarget
from monitord.core.events import RebootDetected
from probes.base import ProbeResult
from probes.measurements import SnmpUptimeMeasured
from probes.snmp.oids import TIMETICKS_WRAP_SECONDS

__all__ = ["TICK", "RebootDetector", "device_of", "uptime_of"]

TICK = 0.01  # TimeTicks resolution: a smaller decrease is rounding, not a reboot


def device_of(check: EffectiveCheck) -> str | None:
    """How SNMP series and reboot events name the agent: host, plus port when not 161."""
    target = getattr(check.config, "target", None)
    if not (check.type.startswith("snmp_") and isinstance(target, SnmpTarget)):
        return None
    return target.host if target.port == 161 else f"{target.host}:{target.port}"


def uptime_of(result: ProbeResult) -> float | None:
    """The agent's uptime an SNMP poll measured, if it measured one."""
    m = result.measured
    return m.uptime_seconds if isinstance(m, SnmpUptimeMeasured) else None


class RebootDetector:
    """Compares successive uptime readings per check.

    A TimeTicks counter wraps after ~497 days; a decrease that lands where
    the wrap would put it (given the wall time between the polls) is a wrap,
    not a reboot. The first reading after a daemon start has nothing to
    compare with and is never a reboot.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, datetime]] = {}

    def observe(self, check: str, device: str, uptime: float, at: datetime) -> RebootDetected | None:
        previous = self._last.get(check)
        self._last[check] = (uptime, at)
        if previous is None:
            return None
        before, then = previous
        if uptime + TICK >= before:
            return None
        elapsed = max(0.0, (at - then).total_seconds())
        expected = before + elapsed
        if expected >= TIMETICKS_WRAP_SECONDS:
            slack = max(60.0, elapsed * 0.1)
            if abs(uptime - (expected - TIMETICKS_WRAP_SECONDS)) <= slack:
                return None
        return RebootDetected(check, device, at, before, uptime)
