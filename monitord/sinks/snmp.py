"""SNMP measurements as gauges, and the reboots the pipeline detected as a counter.

Reboot detection is a pipeline step (monitord/core/reboots.py): it is recorded
in the event log with the poll. Here each `RebootDetected` only counts in
`monitord_snmp_reboots_total`.

Gauges carry `check` and `device` (host, plus port when not 161) so a
Grafana panel can plot one line per device; disk gauges add `storage`.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitord.config.load import EffectiveCheck
from monitord.core.events import RebootDetected
from monitord.core.reboots import device_of
from monitord.core.stream import Committed, Reconfigured
from probes.measurements import (
    SnmpCpuMeasured,
    SnmpDiskMeasured,
    SnmpOidMeasured,
    SnmpUptimeMeasured,
)


class SnmpSink:
    """Sink for SNMP checks: exports measured values and counts reboots."""

    def __init__(self, registry: CollectorRegistry, checks: Sequence[EffectiveCheck]) -> None:
        self._devices = {c.name: d for c in checks if (d := device_of(c)) is not None}
        labels = ["check", "device"]
        r = registry
        self.uptime = Gauge(
            "monitord_snmp_uptime_seconds",
            "Agent uptime (sysUpTime or hrSystemUptime) at the last poll.",
            labels,
            registry=r,
        )
        self.reboot_count = Counter(
            "monitord_snmp_reboots",
            "Reboots seen as a decrease of the uptime between two polls.",
            labels,
            registry=r,
        )
        self.cpu = Gauge(
            "monitord_snmp_cpu_load_ratio",
            "CPU load 0..1 (hrProcessorLoad averaged over CPUs, or 1 - ssCpuIdle).",
            labels,
            registry=r,
        )
        self.load = Gauge(
            "monitord_snmp_load_average",
            "UCD laLoad load average at the last poll.",
            labels,
            registry=r,
        )
        self.disk = Gauge(
            "monitord_snmp_disk_used_ratio",
            "Used share 0..1 of each selected hrStorage row.",
            [*labels, "storage"],
            registry=r,
        )
        self.value = Gauge(
            "monitord_snmp_oid_value", "Numeric value of an snmp_oid GET.", labels, registry=r
        )
        self.rows = Gauge(
            "monitord_snmp_oid_rows",
            "Rows picked by an snmp_oid walk (after `where`).",
            labels,
            registry=r,
        )
        for c in checks:
            if c.type == "snmp_up" and c.name in self._devices:
                self.reboot_count.labels(c.name, self._devices[c.name])  # a zero, not a gap

    @staticmethod
    def follows(check: EffectiveCheck) -> bool:
        """Only a check with a device has probes to read here (`probe_sinks`)."""
        return device_of(check) is not None

    def consume(self, c: Committed) -> None:
        for ev in c.events:
            if isinstance(ev, RebootDetected):
                self.reboot_count.labels(ev.check, ev.device).inc()
            elif isinstance(ev, Reconfigured):
                self._devices = {ch.name: d for ch in ev.checks if (d := device_of(ch)) is not None}
                for ch in ev.checks:
                    if ch.type == "snmp_up" and ch.name in self._devices:
                        self.reboot_count.labels(ch.name, self._devices[ch.name])
        o = c.probe
        if o is None:
            return
        device = self._devices.get(o.check.name)
        if device is None:
            return
        name, m = o.check.name, o.result.measured
        if isinstance(m, SnmpUptimeMeasured):
            self.uptime.labels(name, device).set(m.uptime_seconds)
        elif isinstance(m, SnmpCpuMeasured):
            if m.load_ratio is not None:
                self.cpu.labels(name, device).set(m.load_ratio)
            if m.load_average is not None:
                self.load.labels(name, device).set(m.load_average)
        elif isinstance(m, SnmpDiskMeasured):
            for storage, ratio in m.used_ratio.items():
                self.disk.labels(name, device, storage).set(ratio)
        elif isinstance(m, SnmpOidMeasured):
            if m.value is not None:
                self.value.labels(name, device).set(m.value)
            if m.rows is not None:
                self.rows.labels(name, device).set(m.rows)

