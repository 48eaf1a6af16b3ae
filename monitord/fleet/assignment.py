"""Which agent of a location runs which checks: rendezvous hashing over live members.

- A *unit* is what one pipeline must judge whole: the checks of a service (its
  k-of-n coverage and call-quality window are judged per location by one
  pipeline), joined transitively through services that share checks. A check
  in no service is a unit of its own. A unit is named by its smallest check
  name, so reordering the config moves nothing.
- Each unit goes to the live agent with the highest rendezvous weight
  hash(unit, agent) (Thaler & Ravishankar's highest-random-weight): every
  agent computes the same answer from the same membership, and when an agent
  joins or leaves only the units it wins or held move.
- Fencing: each (location, unit) has a token that only grows. Claiming a unit
  is a compare-and-set on the token the claimant saw, which it then raises;
  every write of evidence names the token and is refused when it is no longer
  the current one. So two agents never record one check at one location for
  the same instant, whatever their clocks or connections did.

`plan` is pure: membership and the stored holdings in, what to keep, claim,
release or wait for out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Claim", "Holding", "Plan", "owner", "plan", "spread", "units"]


def units(checks: Sequence[str], groups: Iterable[Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Unit name -> its checks (config order), given the checks and each service's members."""
    parent = {c: c for c in checks}

    def root(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for members in groups:
        known = [m for m in members if m in parent]
        for other in known[1:]:
            a, b = root(known[0]), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    out: dict[str, list[str]] = {}
    for c in checks:
        out.setdefault(root(c), []).append(c)
    return {name: tuple(members) for name, members in out.items()}


def _weight(unit: str, agent: str) -> int:
    digest = hashlib.sha256(f"{unit}\x00{agent}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def owner(unit: str, agents: Iterable[str]) -> str | None:
    """The agent that should run `unit`; None when there is nobody."""
    best: tuple[int, str] | None = None
    for agent in agents:
        key = (_weight(unit, agent), agent)
        if best is None or key > best:
            best = key
    return best[1] if best is not None else None


def spread(unit_names: Iterable[str], agents: Iterable[str]) -> dict[str, list[str]]:
    """Agent -> the units it should run (every agent listed, even with none)."""
    pool = sorted(set(agents))
    out: dict[str, list[str]] = {a: [] for a in pool}
    for unit in unit_names:
        who = owner(unit, pool)
        if who is not None:
            out[who].append(unit)
    return out


@dataclass(frozen=True, slots=True)
class Holding:
    """A stored assignment: who holds a unit at this location (None: released), and its token."""

    unit: str
    agent: str | None
    token: int

    def __post_init__(self) -> None:
        if self.token < 0:
            raise ValueError(f"token of {self.unit!r} cannot be negative")


@dataclass(frozen=True, slots=True)
class Claim:
    """Take `unit` if its token is still `seen` (then it becomes seen + 1)."""

    unit: str
    seen: int
    previous: str | None  # the agent it is taken from (dead or gone), None if it was free

    @property
    def token(self) -> int:
        return self.seen + 1


@dataclass(frozen=True, slots=True)
class Plan:
    keep: tuple[str, ...] = ()
    claim: tuple[Claim, ...] = ()
    release: tuple[str, ...] = ()  # ours, but another live agent wins it now: hand it over
    waiting: tuple[str, ...] = ()  # ours to take once its live holder lets go

    @property
    def quiet(self) -> bool:
        return not (self.claim or self.release)


def plan(me: str, unit_names: Iterable[str], live: Iterable[str],
         holdings: Mapping[str, Holding]) -> Plan:
    """What `me` does now, given who is live (me included) and what the store says.

    A unit held by a live agent is never taken from it: the holder hands it
    over itself (flushing its state first), so the taker resumes from the
    holder's last word. Only a dead or departed holder's unit is claimed.
    """
    pool = set(live) | {me}
    keep: list[str] = []
    claim: list[Claim] = []
    release: list[str] = []
    waiting: list[str] = []
    for unit in unit_names:
        held = holdings.get(unit)
        holder = held.agent if held is not None else None
        if owner(unit, pool) == me:
            if holder == me:
                keep.append(unit)
            elif holder is None or holder not in pool:
                claim.append(Claim(unit, held.token if held is not None else 0, holder))
            else:
                waiting.append(unit)
        elif holder == me:
            release.append(unit)
    return Plan(tuple(keep), tuple(claim), tuple(release), tuple(waiting))
