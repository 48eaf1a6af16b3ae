"""DTMF as RFC 4733 telephone-events: what we send at given offsets, what we receive.

Why: IVR paths (press 1 for support) are where hosted-VoIP calls go wrong
and nobody notices; a test call that sends digits, and a far end (the answer
point) that reports them and sends them back, proves the digits cross the
platform.

Sending (`DtmfPlan`): each digit replaces the audio of the packets it spans
in the same stream (same SSRC, one sequence space, RFC 4733 §2.5.1), lasting
`EVENT_PACKETS` packets (100 ms at 20 ms): every packet carries the event
timestamp (the first packet's), the marker bit on the first (§2.5.1.3), the
duration so far; the end (E bit) is sent three times (§2.5.1.4: "the final
packet ... SHOULD be retransmitted"), each repeat in its own packet slot.

Receiving (`DtmfReceiver`): an event is identified by its RTP timestamp
(§2.5.1.2: all packets of an event carry the event's start timestamp), so
retransmitted ends and a lost first packet neither duplicate nor lose it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import InvalidValue, MediaParseError

__all__ = [
    "DIGITS",
    "EVENT_PACKETS",
    "DtmfEvent",
    "DtmfPlan",
    "DtmfReceiver",
    "event_payload",
    "parse_event",
]

DIGITS = "0123456789*#ABCD"  # §3.2 Table 7: events 0-15
EVENT_PACKETS = 5  # packet times an event lasts (100 ms at 20 ms)
END_REPEATS = 3
VOLUME = 10  # -10 dBm0 (§2.3.4: "power level ... expressed in dBm0 after dropping the sign")
MAX_EVENTS = 64
SPAN = EVENT_PACKETS + END_REPEATS - 1  # packet slots one event occupies


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    event: int
    end: bool
    volume: int
    duration: int  # timestamp units

    @property
    def digit(self) -> str | None:
        return DIGITS[self.event] if self.event < len(DIGITS) else None


def event_payload(event: int, end: bool, duration: int, volume: int = VOLUME) -> bytes:
    """The 4-octet payload (§2.3): event, E|R|volume, duration."""
    if not (0 <= event <= 255 and 0 <= volume <= 63 and 0 <= duration <= 0xFFFF):
        raise InvalidValue("event 0..255, volume 0..63, duration 0..65535")
    return struct.pack("!BBH", event, (0x80 if end else 0) | volume, duration)


def parse_event(payload: bytes) -> DtmfEvent:
    """Parse a telephone-event payload, or raise `MediaParseError`."""
    if len(payload) < 4:
        raise MediaParseError(f"telephone-event payload of {len(payload)} octets, need 4")
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return DtmfEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


@dataclass(frozen=True, slots=True)
class _Slot:
    start: int  # packet index the event begins at
    event: int


class DtmfPlan:
    """Which packet indices carry which event: digits at offsets (seconds into the stream).

    `add(digit, index)` schedules one more digit at the first free packet index
    from `index` on (the answer point sends back what it received).
    """

    __slots__ = ("_by_index", "_ptime", "digits")

    def __init__(self, digits: str = "", offsets: tuple[float, ...] = (),
                 ptime: float = 0.020) -> None:
        if len(digits) != len(offsets):
            raise InvalidValue("one offset per DTMF digit")
        if len(digits) > MAX_EVENTS:
            raise InvalidValue(f"at most {MAX_EVENTS} DTMF digits per call")
        self._by_index: dict[int, tuple[_Slot, int]] = {}
        self._ptime = ptime
        self.digits = ""
        for digit, offset in zip(digits, offsets, strict=True):
            if offset < 0:
                raise InvalidValue(f"a DTMF offset cannot be negative: {offset}")
            start = round(offset / ptime)
            if not self._free(start):
                raise InvalidValue(f"DTMF digits at {offset:g} s overlap the one before;"
                                   f" leave at least {SPAN * ptime:g} s between digits")
            self._put(start, digit)

    def __bool__(self) -> bool:
        return bool(self._by_index)

    def _free(self, start: int) -> bool:
        return all(start + k not in self._by_index for k in range(SPAN))

    def _put(self, start: int, digit: str) -> None:
        digit = digit.upper()
        if len(digit) != 1 or digit not in DIGITS:
            raise InvalidValue(f"not a DTMF digit: {digit!r} (use 0-9, *, #, A-D)")
        slot = _Slot(start, DIGITS.index(digit))
        for k in range(SPAN):
            self._by_index[start + k] = (slot, k)
        self.digits += digit

    def add(self, digit: str, index: int) -> int:
        """Schedule `digit` at the first packet index >= `index` it fits; returns it."""
        if len(self.digits) >= MAX_EVENTS:
            raise InvalidValue(f"at most {MAX_EVENTS} DTMF digits per call")
        start = max(0, index)
        for _ in range(MAX_EVENTS * SPAN + 1):  # bounded: each busy slot is SPAN long
            if self._free(start):
                break
            start += 1
        self._put(start, digit)
        return start

    def packet(self, n: int) -> tuple[int, bool, bytes] | None:
        """(packets from the event's start back to n, marker, payload) if packet n is an event."""
        hit = self._by_index.get(n)
        if hit is None:
            return None
        slot, k = hit
        sent = min(k + 1, EVENT_PACKETS)
        end = k + 1 >= EVENT_PACKETS
        return n - slot.start, k == 0, event_payload(slot.event, end, sent * 160)


class DtmfReceiver:
    """Digits received, in event-timestamp order; one per event, however many packets."""

    __slots__ = ("_events", "malformed")

    def __init__(self) -> None:
        self._events: dict[int, DtmfEvent] = {}
        self.malformed = 0

    def receive(self, timestamp: int, payload: bytes) -> str | None:
        """Account for one event packet; returns the digit when the event is new."""
        try:
            event = parse_event(payload)
        except MediaParseError:
            self.malformed += 1
            return None
        known = self._events.get(timestamp)
        if known is None and len(self._events) < MAX_EVENTS:
            self._events[timestamp] = event
            return event.digit
        if known is not None and event.end and not known.end:
            self._events[timestamp] = event
        return None

    @property
    def digits(self) -> str:
        return "".join(e.digit or "?" for e in self._events.values())
