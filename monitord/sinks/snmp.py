"""SNMP measurements as gauges, and reboot detection across polls.

Probes keep no state between runs, so a reboot (sysUpTime going *down*
between two polls) can only be seen here, per check. A reboot is an event,
not a failure: it is counted in `monitord_snmp_reboots_total`, logged as
`reboot_detected` and handed to `on_reboot` (the daemon's Announcer, which
stores it in the outbox as a `reboot` event for MQTT).

Gauges carry `check` and `device` (host, plus port when not 161) so a
Grafana panel can plot one line per device; disk gauges add `storage`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from monitord.config.load import EffectiveCheck
from monitord.config.snmp import SnmpTarget
from monitord.core.pipeline import ProbeOutcome
from probes.snmp.disk import MEASUREMENT_PREFIX as DISK_PREFIX
from probes.snmp.oids import TIMETICKS_WRAP_SECONDS

log = structlog.get_logger("monitord.snmp")

TICK = 0.01  # TimeTicks resolution: a smaller decrease is rounding, not a reboot


@dataclass(frozen=True, slots=True)
class Reboot:
    check: str
    at: datetime
    previous_uptime: float
    uptime: float


class RebootDetector:
    """Compares successive uptime readings per check.

    A TimeTicks counter wraps after ~497 days; a decrease that lands where
    the wrap would put it (given the wall time between the polls) is a wrap,
    not a reboot. The first reading after a daemon start has nothing to
    compare with and is never a reboot.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, datetime]] = {}

    def observe(self, check: str, uptime: float, at: datetime) -> Reboot | None:
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
        return Reboot(check, at, before, uptime)


def device_of(target: SnmpTarget) -> str:
    return target.host if target.port == 161 else f"{target.host}:{target.port}"


class SnmpSink:
    """Pipeline sink for SNMP checks: exports measured values, detects reboots."""

    def __init__(
        self,
        registry: CollectorRegistry,
        checks: Sequence[EffectiveCheck],
        on_reboot: Callable[[Reboot, str], None] | None = None,
    ) -> None:
        self._on_reboot = on_reboot  # (reboot, device); must not block: it runs on the probe path
        self._devices: dict[str, str] = {}
        for c in checks:
            target = getattr(c.config, "target", None)
            if c.type.startswith("snmp_") and isinstance(target, SnmpTarget):
                self._devices[c.name] = device_of(target)
        self.reboots = RebootDetector()
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

    def outcome(self, o: ProbeOutcome) -> None:
        device = self._devices.get(o.check.name)
        if device is None:
            return
        name = o.check.name
        for key, value in o.result.measurements.items():
            if key == "snmp_uptime_seconds":
                self.uptime.labels(name, device).set(value)
                self._uptime(name, device, value, o.at)
            elif key == "snmp_cpu_load_ratio":
                self.cpu.labels(name, device).set(value)
            elif key == "snmp_load_average":
                self.load.labels(name, device).set(value)
            elif key.startswith(DISK_PREFIX):
                self.disk.labels(name, device, key[len(DISK_PREFIX) :]).set(value)
            elif key == "snmp_value":
                self.value.labels(name, device).set(value)
            elif key == "snmp_rows":
                self.rows.labels(name, device).set(value)

    def _uptime(self, check: str, device: str, uptime: float, at: datetime) -> None:
        reboot = self.reboots.observe(check, uptime, at)
        if reboot is None:
            return
        self.reboot_count.labels(check, device).inc()
        log.warning(
            "reboot_detected",
            check=check,
            device=device,
            at=at.isoformat(),
            previous_uptime_seconds=round(reboot.previous_uptime, 2),
            uptime_seconds=round(reboot.uptime, 2),
        )
        if self._on_reboot is not None:
            self._on_reboot(reboot, device)
