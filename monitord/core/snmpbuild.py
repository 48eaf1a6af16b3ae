"""Turn a validated SNMP check config into its probe (the config -> probes/snmp seam).

Kept out of runner.py so the registry there stays one line per family, and
so probes/ never imports monitord's config models.
"""

from __future__ import annotations

import asyncio

from monitord.config.snmp import SnmpCpuCheck, SnmpDiskCheck, SnmpOidCheck, SnmpUpCheck
from probes.base import Probe
from probes.snmp.client import SnmpClient, SnmpEndpoint
from probes.snmp.cpu import SnmpCpuProbe
from probes.snmp.disk import SnmpDiskProbe
from probes.snmp.oid import Expectation, SnmpOidProbe
from probes.snmp.up import SnmpUpProbe

SnmpCheckConfig = SnmpUpCheck | SnmpCpuCheck | SnmpDiskCheck | SnmpOidCheck


def endpoint(check: SnmpCheckConfig) -> SnmpEndpoint:
    t = check.target
    return SnmpEndpoint(host=t.host, port=t.port, auth=t.auth(), retries=check.retries)


def snmp_probe(check: object, client: SnmpClient) -> Probe:
    """The check's probe. On a running loop the shared client is prepared now, so
    that loading pysnmp's MIB view (about a second) is not charged to a first poll."""
    ep = endpoint(check) if isinstance(check, SnmpCheckConfig) else None
    if ep is not None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no running loop (a config check): prepared on first use
        else:
            client.prepare()
    if isinstance(check, SnmpUpCheck) and ep:
        return SnmpUpProbe(ep, client, check.uptime_source)
    if isinstance(check, SnmpCpuCheck) and ep:
        return SnmpCpuProbe(
            ep, client, check.max, check.source, check.load_minutes, check.max_repetitions
        )
    if isinstance(check, SnmpDiskCheck) and ep:
        return SnmpDiskProbe(ep, client, check.storage, check.max_used, check.max_repetitions)
    if isinstance(check, SnmpOidCheck) and ep:
        expect = Expectation(
            equals=check.equals,
            not_equals=check.not_equals,
            less_than=check.less_than,
            greater_than=check.greater_than,
            matches=check.matches,
            where=check.where,
            min_rows=check.min_rows,
            max_rows=check.max_rows,
        )
        return SnmpOidProbe(ep, client, check.oid, expect, check.walk, check.max_repetitions)
    raise TypeError(f"not an SNMP check: {type(check).__name__}")
