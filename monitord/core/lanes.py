"""What the pipeline's quiet path needs of each check, bound once per check.

Why: most probes change nothing recorded (an UP check that answered again), and
the pipeline takes thousands of them a second. Per probe it used to look the
check up in several tables (its config, whether the state machine alone judges
it, its machine) and hand the commit to every sink that follows probes, also
those that ignore this check's probes (the SNMP sink for a SIP check). Those
answers change only when the checks do (start, reload, fleet hand-over), so they
are worked out then, into one `Lane` per check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from monitord.config.load import EffectiveCheck
from monitord.core.checkstate import CheckMachine, Observation
from monitord.core.events import CheckSnapshot, CheckState
from monitord.core.stream import Sink, probe_sinks
from probes.base import ProbeResult

__all__ = ["Lane", "bind_lanes", "observation", "persistent", "progress_only"]


def observation(at: datetime, result: ProbeResult) -> Observation:
    """A probe result as the state machine sees it."""
    return Observation(at, result.ok, result.reason and result.reason.value, result.detail)


def persistent(s: CheckSnapshot) -> tuple[object, ...]:
    """The snapshot minus `last_probe`: an unchanged UP check needs no write."""
    return (s.state, s.consecutive_failures, s.consecutive_successes, s.streak_start,
            s.downtime_start, s.recovery_start)


def progress_only(before: CheckSnapshot, after: CheckSnapshot) -> bool:
    """A DOWN check failed once more: only its failure count moved.

    Why it may wait for the next write (`Pipeline`: at most a heartbeat later):
    past the down threshold the count judges nothing. The interval's start and
    the streak's evidence were written when the check went down; what ends the
    interval is a success, which is never progress. A crash before the write
    leaves an older count, never a wrong interval. In a site-wide outage every
    check is here on every probe: one write per probe cost 0.18 ms of CPU, so
    5,400 down checks a second were all one core could record.
    """
    return (before.state is CheckState.DOWN and after.state is CheckState.DOWN
            and after.consecutive_failures != before.consecutive_failures
            and after.consecutive_successes == before.consecutive_successes
            and after.streak_start == before.streak_start
            and after.downtime_start == before.downtime_start
            and after.recovery_start == before.recovery_start)


class Lane:
    """One check as the quiet path sees it (see the module docstring)."""

    __slots__ = ("check", "machine", "plain", "sinks")

    def __init__(self, check: EffectiveCheck, machine: CheckMachine, plain: bool,
                 sinks: tuple[Sink, ...]) -> None:
        self.check = check
        self.machine = machine
        self.plain = plain  # judged by the state machine alone: the quiet path may take it
        self.sinks = sinks  # the sinks that read this check's quiet commits


def bind_lanes(checks: Iterable[EffectiveCheck], machines: dict[str, CheckMachine],
               judged_elsewhere: Callable[[str], bool], sinks: Sequence[Sink]
               ) -> dict[str, Lane]:
    """A lane per check; `judged_elsewhere(name)` is True for a check some other step
    also judges (a device's reboots, a call's quality): those always take the lock."""
    return {c.name: Lane(c, machines[c.name], not judged_elsewhere(c.name),
                         probe_sinks(sinks, c)) for c in checks}
