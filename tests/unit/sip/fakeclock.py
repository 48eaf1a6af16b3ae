"""Timers on a fake clock: a core's next timer fired the moment it is due."""

from __future__ import annotations

from probes.sip.core import Timed


def fire(core: Timed) -> float:
    """Advance the fake clock to the next timer of `core` and fire it; return that time."""
    when = core.get_timer()
    assert when is not None
    core.handle_timer(when)
    return when
