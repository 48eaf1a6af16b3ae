"""`snmp_up`: the agent answers sysUpTime (or hrSystemUptime).

The uptime goes out as a measurement; a *decrease* between two polls is a
reboot, which a probe cannot see (it keeps no state between runs, by
design). monitord's SNMP sink compares successive measurements per check and
records the reboot; it is not a failure by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from probes.base import FailureReason, ProbeResult
from probes.errors import SnmpError
from probes.measurements import SnmpUptimeMeasured
from probes.snmp.client import SnmpClient, SnmpEndpoint, failed
from probes.snmp.oids import HR_SYSTEM_UPTIME, SYS_UPTIME

UptimeSource = Literal["sys_uptime", "hr_system_uptime"]
UPTIME_OIDS: dict[str, str] = {"sys_uptime": SYS_UPTIME, "hr_system_uptime": HR_SYSTEM_UPTIME}


def format_uptime(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True, slots=True)
class SnmpUpProbe:
    endpoint: SnmpEndpoint
    client: SnmpClient
    source: UptimeSource = "sys_uptime"

    async def run(self, deadline: float) -> ProbeResult:
        oid = UPTIME_OIDS[self.source]
        try:
            values, latency = await self.client.get(self.endpoint, [oid], deadline)
        except SnmpError as exc:
            return failed(exc)
        ticks = values[oid]
        if not isinstance(ticks, int):
            return ProbeResult.failure(
                FailureReason.MALFORMED, f"{oid} is not TimeTicks: {ticks!r}", latency
            )
        seconds = ticks / 100.0
        return ProbeResult.success(
            latency, f"up {format_uptime(seconds)}", SnmpUptimeMeasured(uptime_seconds=seconds)
        )
