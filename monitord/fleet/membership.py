"""Who is alive at a location, from heartbeat rows: a sans-IO failure detector.

Each agent keeps a row per (location, agent) and bumps its `beat` counter
every heartbeat; a clean stop marks the row `left`. Every agent (and the
judge) reads the rows each heartbeat and feeds them here with its own
monotonic clock:

- a peer is live while its beat moves; once it has stood still for `lease`
  seconds *of our own watching* the peer is dead and its units may be
  claimed. A `left` row is gone at once: a clean stop hands over at once.
- We count a peer's silence only while we can read the table. After we were
  cut off (the database was down, or our link to it), every peer gets a
  fresh lease from the moment we see the rows again: peers were probably cut
  off too and are replaying their journals, and claiming their checks now
  would throw that evidence away. Nobody's clock is compared with anyone
  else's, so clock skew between hosts cannot kill a member.

Failover bound (docs/fleet.md): an observer reading every heartbeat sees a
member's last beat at most one heartbeat after it was written and declares
the member dead `lease` later, at its next read: within lease + two
heartbeats of the death. The dead member's units are claimed in that round.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MemberRow", "Membership"]


@dataclass(frozen=True, slots=True)
class MemberRow:
    agent: str
    beat: int
    left: bool = False


@dataclass(slots=True)
class _Seen:
    beat: int
    since: float  # when we first saw this beat (our monotonic clock)


class Membership:
    """One observer's view of one location's members (clock passed in, no I/O)."""

    def __init__(self, me: str | None, lease: float) -> None:
        """`me`: this agent's name (always live to itself), or None for the judge."""
        if not (math.isfinite(lease) and lease > 0):
            raise ValueError(f"lease must be a positive number of seconds, got {lease!r}")
        self.me = me
        self.lease = lease
        self._peers: dict[str, _Seen] = {}
        self._blind_since: float | None = None  # when we last failed to read the rows
        self._renewed: float | None = None  # our own last successful heartbeat

    def observed(self, now: float, rows: Iterable[MemberRow]) -> None:
        """The rows as read at `now`; a row missing from them is a member gone for good."""
        regained = self._blind_since is not None
        self._blind_since = None
        current: dict[str, _Seen] = {}
        for row in rows:
            if row.left or row.agent == self.me:
                continue
            was = self._peers.get(row.agent)
            if was is None or was.beat != row.beat or regained:
                current[row.agent] = _Seen(row.beat, now)
            else:
                current[row.agent] = was
        self._peers = current

    def unreachable(self, now: float) -> None:
        """Reading the rows failed: stop counting anyone's silence until we see them again."""
        if self._blind_since is None:
            self._blind_since = now

    def renewed(self, now: float) -> None:
        """Our own heartbeat row was written."""
        self._renewed = now

    def live(self, now: float) -> frozenset[str]:
        """Members whose beat moved within the lease (and ourselves)."""
        out = {a for a, s in self._peers.items() if self._blind_since is not None
               or now - s.since < self.lease}
        if self.me is not None:
            out.add(self.me)
        return frozenset(out)

    def dead(self, now: float) -> frozenset[str]:
        """Members we watched stand still for a whole lease (not departed ones: they are gone)."""
        return frozenset(self._peers) - self.live(now)

    def holds_lease(self, now: float) -> bool:
        """Whether our own last heartbeat is younger than the lease (others still see us live)."""
        return self._renewed is not None and now - self._renewed < self.lease

    @property
    def blind(self) -> bool:
        return self._blind_since is not None
