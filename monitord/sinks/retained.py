"""The retained `state/check/*` and `state/service/*` of EVERY check and service, restated.

Why: the outbox announces a state only when it changes, so after a restart
(or with a broker that lost its retained messages) a check that has been UP
all along, or one already DOWN when MQTT was enabled, had no retained state
at all. The publisher therefore restates the current state of every check
and service on each (re)connect, after the outbox is drained, so the
restatement is the newest word and any later change follows it.

A restatement is not news: it carries `restated: true`, an `id` derived
from what it states (the same state restated twice has the same id, so a
de-duplicating consumer keeps one), and the `seq` of the last outbox message
published before it (0 if none yet in this run), which is not a new position
in the sequence: count gaps over the messages without `restated`.

`StateBook` is sans-IO: it follows the stream and renders the messages.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitord.core.events import (
    CheckSnapshot,
    CheckState,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
)
from monitord.core.stream import Committed, Reconfigured, Resumed
from monitord.storage.outbox import iso

__all__ = ["RESTATED_NAMESPACE", "Restatement", "StateBook"]

SCHEMA_VERSION = 1
# Namespace of restatement ids (uuid5 of site/level/name/state/since): fixed forever.
RESTATED_NAMESPACE = uuid.UUID("0c0e7f5e-2d8f-4f55-93c9-6c1d1f0a7b42")


@dataclass(frozen=True, slots=True)
class Restatement:
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Service:
    down: bool
    since: datetime | None  # None: unchanged since before this run began watching


class StateBook:
    """Where every check and service stands, as the stream tells it."""

    def __init__(self, site: str, checks: Sequence[str], services: Sequence[str]) -> None:
        self._site = site
        self.checks: dict[str, CheckSnapshot] = {c: CheckSnapshot.initial(c) for c in checks}
        self.services: dict[str, _Service] = {s: _Service(False, None) for s in services}
        self.watching_since: datetime | None = None
        self.cleared: list[tuple[str, str]] = []  # (level, name) whose retained state to clear

    def consume(self, c: Committed) -> None:
        """Follow the stream (probe results, service intervals, restarts and reloads)."""
        if c.probe is not None and c.probe.check.name in self.checks:
            self.checks[c.probe.check.name] = c.probe.after
        for ev in c.events:
            if isinstance(ev, Resumed):
                self.watching_since = ev.at
                for name, snap in ev.snapshots.items():
                    if name in self.checks:
                        self.checks[name] = snap
                for name, start in ev.open_services.items():
                    if name in self.services:
                        self.services[name] = _Service(True, start)
            elif isinstance(ev, Reconfigured):
                self._reconfigure(ev)
            elif isinstance(ev, ServiceDowntimeOpened) and ev.service in self.services:
                self.services[ev.service] = _Service(True, ev.start)
            elif isinstance(ev, ServiceDowntimeClosed) and ev.service in self.services:
                self.services[ev.service] = _Service(False, ev.end)

    def _reconfigure(self, ev: Reconfigured) -> None:
        """A reload: removed checks and services lose their retained state, added ones get one
        (a re-targeted check starts again, like its state machine)."""
        checks = [c.name for c in ev.checks]
        services = [s.name for s in ev.services]
        self.cleared += [("check", n) for n in self.checks if n not in checks]
        self.cleared += [("service", n) for n in self.services if n not in services]
        self.checks = {n: (None if n in ev.removed else self.checks.get(n))
                       or CheckSnapshot.initial(n) for n in checks}
        self.services = {n: self.services.get(n) or _Service(False, ev.at) for n in services}

    def clearing(self, prefix: str) -> list[str]:
        """Topics whose retained message must go (an empty retained payload), taken once."""
        out = [f"{prefix}/{self._site}/state/{level}/{name}" for level, name in self.cleared]
        self.cleared = []
        return out

    def restatements(self, prefix: str, last_seq: int) -> Iterator[Restatement]:
        """One retained message per check and service, as of the last published `seq`."""
        for name, snap in self.checks.items():
            yield self._render(prefix, "check", name, "check_state", _check_body(snap),
                               snap.last_probe or self.watching_since, last_seq)
        for name, svc in self.services.items():
            since = svc.since or self.watching_since
            body = {"service": name, "state": "down" if svc.down else "up",
                    "since": iso(since) if since is not None else None}
            yield self._render(prefix, "service", name, "service_state", body, since, last_seq)

    def _render(self, prefix: str, level: str, name: str, kind: str, body: dict[str, Any],
                at: datetime | None, last_seq: int) -> Restatement:
        if body.get("since") is None:  # never probed and not yet resumed: nothing to say yet
            body = {**body, "since": iso(at) if at is not None else None}
        ident = uuid.uuid5(RESTATED_NAMESPACE,
                           f"{self._site}/{level}/{name}/{body['state']}/{body['since']}")
        envelope: dict[str, Any] = {
            "version": SCHEMA_VERSION, "id": str(ident), "seq": last_seq, "site": self._site,
            "kind": kind, "at": iso(at) if at is not None else body["since"], **body,
            "restated": True,
        }
        return Restatement(f"{prefix}/{self._site}/state/{level}/{name}",
                           json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode())

    def ready(self) -> bool:
        """Restate only once the stream said where we resume from (the `Resumed` event)."""
        return self.watching_since is not None


def _check_body(snap: CheckSnapshot) -> dict[str, Any]:
    """The fields of a `check_state` row (monitord/storage/outbox.py), from a snapshot."""
    up = snap.state is CheckState.UP
    at = snap.last_probe or snap.streak_start
    since = at if up else (snap.downtime_start or snap.streak_start or at)
    return {"check": snap.check, "state": snap.state.value,
            "since": iso(since) if since is not None else None,
            "consecutive_failures": snap.consecutive_failures,
            "reason": None if up else snap.streak_reason}
