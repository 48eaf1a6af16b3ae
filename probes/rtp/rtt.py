"""NTP timestamps and round-trip time from RTCP reports (RFC 3550 §4, §6.4.1).

The peer echoes the middle 32 bits of our last SR's NTP timestamp (LSR) and
how long it held it (DLSR, 1/65536 s); at the report's arrival A,
``RTT = A - LSR - DLSR`` modulo 2**32. Only our own clock appears in that
difference, so the NTP timestamps we send may come from any clock (the probe
uses the event loop's, with ``unix=False``) as long as A comes from it too.
"""

from __future__ import annotations

import math

from ..errors import InvalidValue

__all__ = [
    "NTP_UNIX_OFFSET",
    "dlsr_from_seconds",
    "ntp_from_seconds",
    "ntp_middle32",
    "report_timing",
    "rtt_seconds",
]

NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
_U32 = 0xFFFFFFFF


def _u(name: str, value: int, bits: int) -> None:
    if not 0 <= value < 1 << bits:
        raise InvalidValue(f"{name} must fit {bits} unsigned bits, got {value}")


def ntp_from_seconds(seconds: float, *, unix: bool = True) -> int:
    """A time in seconds as a 64-bit NTP timestamp (§4: 32.32 fixed point).

    With `unix` the value is Unix time and is moved to the 1900 epoch; a
    monotonic clock can be passed with ``unix=False`` since only differences
    of our own timestamps enter the RTT. Wraps modulo 2**64 (NTP eras).
    """
    if not math.isfinite(seconds):
        raise InvalidValue(f"time must be finite, got {seconds!r}")
    if unix:
        seconds += NTP_UNIX_OFFSET
    return round(seconds * (1 << 32)) % (1 << 64)


def ntp_middle32(ntp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp: the LSR/DLSR format (§6.4.1)."""
    _u("NTP timestamp", ntp, 64)
    return (ntp >> 16) & _U32


def dlsr_from_seconds(delay: float) -> int:
    """Delay since the last SR as DLSR, "in units of 1/65536 seconds" (§6.4.1)."""
    if not 0 <= delay < float(1 << 16):
        raise InvalidValue(f"DLSR delay must be 0..65536 s, got {delay!r}")
    return min(round(delay * 65536), _U32)


# How far below zero A - LSR - DLSR may fall and still be a (sub-resolution)
# round trip: 2 ms in 1/65536 s units, twice the coarsest DLSR rounding seen.
DLSR_RESOLUTION_SLACK = 131

def rtt_seconds(arrival_middle32: int, lsr: int, dlsr: int) -> float | None:
    """RTT = A - LSR - DLSR in 1/65536 s, modulo 2**32 (§6.4.1).

    None when the peer has not yet seen an SR from us (LSR = 0: "If no SR has
    been received yet, the field is set to zero") or when the difference is
    clearly negative, which only a bogus report produces. A difference just
    below zero is a real round trip shorter than the peer's DLSR resolution
    (baresip rounds DLSR to whole milliseconds; on loopback the true RTT is
    well under one): it reads as 0, not as no measurement.
    """
    for name, value in (("arrival", arrival_middle32), ("LSR", lsr), ("DLSR", dlsr)):
        _u(name, value, 32)
    if lsr == 0:
        return None
    rtt = (arrival_middle32 - lsr - dlsr) & _U32
    if rtt >= 1 << 31:
        below = (1 << 32) - rtt
        return 0.0 if below <= DLSR_RESOLUTION_SLACK else None
    return rtt / 65536


def report_timing(last_sr_ntp: int | None, last_sr_arrival: float | None, now: float) -> tuple[int, int]:
    """(LSR, DLSR) for a report block we send about a peer (§6.4.1).

    `last_sr_ntp` is the NTP timestamp of the peer's last SR, `last_sr_arrival`
    and `now` are our clock in seconds. (0, 0) until an SR has arrived.
    """
    if last_sr_ntp is None or last_sr_arrival is None:
        return 0, 0
    return ntp_middle32(last_sr_ntp), dlsr_from_seconds(max(0.0, now - last_sr_arrival))
