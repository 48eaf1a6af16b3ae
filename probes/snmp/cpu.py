"""`snmp_cpu`: CPU load from HOST-RESOURCES or UCD, failing above `max`.

Sources, because agents differ in what they serve well:
- `hr_processor_load`: hrProcessorLoad averaged over all CPUs, as a ratio.
  net-snmp leaves the table empty for its first ~60 s (a one-minute average).
- `ucd_cpu_idle`: 1 - ssCpuIdle/100, as a ratio.
- `ucd_load_average`: UCD laLoad (1, 5 or 15 minutes), a load average (not a
  ratio), compared with `max` as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from probes.base import FailureReason, ProbeResult
from probes.errors import SnmpError
from probes.measurements import SnmpCpuMeasured
from probes.snmp.client import SnmpClient, SnmpEndpoint, Value, failed, percent
from probes.snmp.oids import HR_PROCESSOR_LOAD, UCD_LA_LOAD, UCD_SS_CPU_IDLE

LOAD_ROWS = {1: 1, 5: 2, 15: 3}  # laLoad row index per averaging period in minutes
CpuSource = Literal["hr_processor_load", "ucd_cpu_idle", "ucd_load_average"]


def _number(value: Value) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class SnmpCpuProbe:
    endpoint: SnmpEndpoint
    client: SnmpClient
    max: float
    source: CpuSource = "hr_processor_load"
    load_minutes: int = 1  # which laLoad row: the 1, 5 or 15 minute average
    max_repetitions: int = 25

    async def run(self, deadline: float) -> ProbeResult:
        try:
            measured = await self._measure(deadline)
        except SnmpError as exc:
            return failed(exc)
        if isinstance(measured, ProbeResult):
            return measured
        value, latency, figures, what = measured
        if value > self.max:
            return ProbeResult.failure(
                FailureReason.THRESHOLD,
                f"{what} is above max {self._fmt(self.max)}",
                latency,
                figures,
            )
        return ProbeResult.success(latency, what, figures)

    def _fmt(self, value: float) -> str:
        return f"{value:.2f}" if self.source == "ucd_load_average" else percent(value)

    async def _measure(
        self, deadline: float
    ) -> tuple[float, float, SnmpCpuMeasured, str] | ProbeResult:
        ep = self.endpoint
        if self.source == "hr_processor_load":
            table, latency = await self.client.walk(
                ep, [HR_PROCESSOR_LOAD], deadline, max_repetitions=self.max_repetitions
            )
            loads = [v for v in table[HR_PROCESSOR_LOAD].values() if isinstance(v, int)]
            if not loads:
                return ProbeResult.failure(
                    FailureReason.NO_SUCH_OBJECT,
                    f"{ep.device} has no hrProcessorLoad rows ({HR_PROCESSOR_LOAD}); net-snmp"
                    " fills them ~60 s after it starts, or use source ucd_cpu_idle",
                    latency,
                )
            ratio = sum(loads) / len(loads) / 100.0
            m = SnmpCpuMeasured(load_ratio=ratio, cpu_count=len(loads))
            return ratio, latency, m, f"CPU load {percent(ratio)} over {len(loads)} CPU(s)"
        if self.source == "ucd_cpu_idle":
            values, latency = await self.client.get(ep, [UCD_SS_CPU_IDLE], deadline)
            idle = _number(values[UCD_SS_CPU_IDLE])
            if idle is None:
                return ProbeResult.failure(
                    FailureReason.MALFORMED, f"ssCpuIdle is not a number: {values!r}", latency
                )
            ratio = max(0.0, min(1.0, 1.0 - idle / 100.0))
            return ratio, latency, SnmpCpuMeasured(load_ratio=ratio), f"CPU load {percent(ratio)}"
        oid = f"{UCD_LA_LOAD}.{LOAD_ROWS[self.load_minutes]}"
        values, latency = await self.client.get(ep, [oid], deadline)
        load = _number(values[oid])
        if load is None:
            return ProbeResult.failure(
                FailureReason.MALFORMED, f"laLoad is not a number: {values[oid]!r}", latency
            )
        what = f"{self.load_minutes}-minute load average {load:.2f}"
        return load, latency, SnmpCpuMeasured(load_average=load), what
