"""SNMP probes (server up/reboots, CPU, disk, generic OIDs) on pysnmp 7.

One `SnmpClient` (one SnmpEngine, one UDP socket) is shared by every SNMP
check of a daemon; each check type is its own module behind the probe
interface and only adds protocol measurements.
"""
