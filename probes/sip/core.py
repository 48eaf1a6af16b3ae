"""The surface every sans-IO SIP core shows its asyncio layer, written once.

The transactions (`transaction`, `invite`) and the call cores (`dialog`,
`uas_dialog`) are driven alike: the caller drains `data_to_send()`, reads
`next_event()` until None, asks `get_timer()` when to call
`handle_timer(now)` next. The queues behind the first two, and the rule for
the earliest of several timers, are the same in all of them.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, Protocol, TypeVar

__all__ = ["Core", "Timed", "earliest", "fire_if_due"]

Out = TypeVar("Out")
Event = TypeVar("Event")


class Core(Generic[Out, Event]):
    """What a core has queued for its caller: data to send, events to read, oldest first."""

    __slots__ = ("_events", "_outbox")  # subclasses without slots of their own get a dict

    def __init__(self) -> None:
        self._outbox: list[Out] = []
        self._events: deque[Event] = deque()

    def data_to_send(self) -> list[Out]:
        """What was queued since the last call (requests, retransmissions, responses)."""
        out, self._outbox = self._outbox, []
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None


class Timed(Protocol):
    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


def earliest(*times: float | None) -> float | None:
    """The earliest of the timers that are set, or None when none is."""
    pending = [t for t in times if t is not None]
    return min(pending) if pending else None


def fire_if_due(core: Timed, now: float) -> None:
    """Let `core` handle its timer when it is due (a core that drives another core's timer)."""
    when = core.get_timer()
    if when is not None and now >= when:
        core.handle_timer(now)
