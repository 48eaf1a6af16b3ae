"""Numeric OIDs we poll, named after their MIB objects.

No MIB files are installed on the machines we run on (the net-snmp MIB
downloader is non-free), so everything is numeric; the comment beside each
constant is the MIB object it stands for.
"""

from __future__ import annotations

from ..errors import InvalidValue

# SNMPv2-MIB::sysUpTime.0 — centiseconds since the *agent* (re)started.
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
# SNMPv2-MIB::sysDescr.0
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
# HOST-RESOURCES-MIB::hrSystemUptime.0 — centiseconds since the *host* booted.
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"

# HOST-RESOURCES-MIB::hrProcessorLoad — one row per CPU, percent, 1-minute average.
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"

# HOST-RESOURCES-MIB::hrStorageTable columns (row index = hrStorageIndex).
HR_STORAGE_DESCR = "1.3.6.1.2.1.25.2.3.1.3"  # hrStorageDescr: mount point or "Physical memory"
HR_STORAGE_UNITS = "1.3.6.1.2.1.25.2.3.1.4"  # hrStorageAllocationUnits: bytes per unit
HR_STORAGE_SIZE = "1.3.6.1.2.1.25.2.3.1.5"  # hrStorageSize: units
HR_STORAGE_USED = "1.3.6.1.2.1.25.2.3.1.6"  # hrStorageUsed: units

# HOST-RESOURCES-MIB::hrSWRunName — process names (for "process running" checks).
HR_SW_RUN_NAME = "1.3.6.1.2.1.25.4.2.1.2"

# UCD-SNMP-MIB::laLoad — load average strings; .1 = 1 min, .2 = 5 min, .3 = 15 min.
UCD_LA_LOAD = "1.3.6.1.4.1.2021.10.1.3"
# UCD-SNMP-MIB::ssCpuIdle.0 — percent idle (deprecated by the agent, still widely served).
UCD_SS_CPU_IDLE = "1.3.6.1.4.1.2021.11.11.0"
# UCD-SNMP-MIB::prTable prCount / prErrorFlag (processes named with `proc` in snmpd.conf).
UCD_PR_NAMES = "1.3.6.1.4.1.2021.2.1.2"
UCD_PR_COUNT = "1.3.6.1.4.1.2021.2.1.5"
UCD_PR_ERROR_FLAG = "1.3.6.1.4.1.2021.2.1.100"

# TimeTicks are a 32-bit count of centiseconds: they wrap after ~497 days.
TIMETICKS_WRAP_SECONDS = 2**32 / 100.0


def normalize_oid(text: str) -> str:
    """'.1.3.6.1' or '1.3.6.1' -> '1.3.6.1'; raise ValueError on anything non-numeric."""
    value = text.strip().lstrip(".")
    parts = value.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise InvalidValue(
            f"invalid OID {text!r}: use a numeric OID like 1.3.6.1.2.1.1.3.0"
            " (no MIB files are loaded, so names are not resolved)"
        )
    if int(parts[0]) > 2:
        raise InvalidValue(f"invalid OID {text!r}: the first arc must be 0, 1 or 2")
    return value


def under(oid: str, prefix: str) -> bool:
    """True if `oid` is inside the subtree `prefix` (not merely sharing digits)."""
    return oid.startswith(prefix + ".")
