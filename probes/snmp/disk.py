"""`snmp_disk`: used ratio of hrStorage rows picked by description regex.

hrStorage mixes file systems with RAM and swap ("Physical memory"), so rows
are selected by a regex on hrStorageDescr (e.g. `^/$`, `^/var`). One GETBULK
walk fetches the four columns side by side. Every selected row is measured;
the check fails when any of them is above `max_used`, and when none matches
(a renamed mount is a misconfiguration worth hearing about, not "fine").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from probes.base import FailureReason, ProbeResult
from probes.errors import SnmpError
from probes.measurements import SnmpDiskMeasured
from probes.snmp.client import SnmpClient, SnmpEndpoint, failed, percent
from probes.snmp.oids import HR_STORAGE_DESCR, HR_STORAGE_SIZE, HR_STORAGE_UNITS, HR_STORAGE_USED

COLUMNS = (HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED)


@dataclass(frozen=True, slots=True)
class SnmpDiskProbe:
    endpoint: SnmpEndpoint
    client: SnmpClient
    storage: re.Pattern[str]
    max_used: float
    max_repetitions: int = 25

    async def run(self, deadline: float) -> ProbeResult:
        ep = self.endpoint
        try:
            table, latency = await self.client.walk(
                ep, COLUMNS, deadline, max_repetitions=self.max_repetitions
            )
        except SnmpError as exc:
            return failed(exc)
        descr, size, used = (table[c] for c in (HR_STORAGE_DESCR, HR_STORAGE_SIZE, HR_STORAGE_USED))
        ratios: dict[str, float] = {}
        for index, name in descr.items():
            if not self.storage.search(str(name)):
                continue
            total, taken = size.get(index), used.get(index)
            if not isinstance(total, int) or not isinstance(taken, int) or total <= 0:
                continue  # an empty or unreadable row (e.g. a pseudo file system) has no ratio
            ratios[str(name)] = taken / total
        if not ratios:
            have = ", ".join(sorted(str(v) for v in descr.values())[:8]) or "no rows"
            return ProbeResult.failure(
                FailureReason.NO_SUCH_OBJECT,
                f"no hrStorage row of {ep.device} matches {self.storage.pattern!r} (has: {have})",
                latency,
            )
        measured = SnmpDiskMeasured(used_ratio=MappingProxyType(ratios))
        summary = ", ".join(f"{name} {percent(r)}" for name, r in sorted(ratios.items()))
        over = sorted(name for name, r in ratios.items() if r > self.max_used)
        if over:
            return ProbeResult.failure(
                FailureReason.THRESHOLD,
                f"disk used above max {percent(self.max_used)}: "
                + ", ".join(f"{n} {percent(ratios[n])}" for n in over),
                latency,
                measured,
            )
        return ProbeResult.success(latency, f"disk used {summary}", measured)
