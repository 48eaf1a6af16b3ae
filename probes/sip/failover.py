"""One probe run's route to its target: RFC 3263 resolution, then failover.

RFC 3263 §4.3: when a transaction to one resolved address fails with a
timeout or a transport error, a client tries the next address. Phones do, so
a monitor must too: "the preferred SBC is dead but the backup answers" is up
for every phone, and the evidence (which address answered, which failed and
why) goes into the probe result so the NOC sees the lost redundancy.

Time budget: a check has one deadline, so each attempt gets an equal share of
what is left, `remaining / untried` (untried capped at `MAX_ATTEMPTS`). The
preferred address gets at least 1/n of the check's timeout, and time a fast
failure leaves (an ICMP "refused" comes back in a millisecond) goes to the
next addresses. With one address it gets the whole deadline, exactly as
without DNS. With the default 3 s timeout and two SRV targets each gets 1.5 s:
two UDP transmissions (T1 = 0.5 s) before moving on.

Once an address answered (any final response), the run stays there: the
challenged retry of a REGISTER and its de-registration must reach the
registrar that issued the nonce.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from ..base import FailureReason
from ..errors import DnsQueryError
from ..measurements import SipRoute
from ..timing import tolerance
from .dns import Locator, Resolution, ResolvedTarget, literal_resolution
from .tls import TlsSettings
from .transport import Outcome, RequestBuilder, SipTransports
from .uri import SipUri

__all__ = ["FAILOVER_REASONS", "MAX_ATTEMPTS", "Route", "attempt_deadline"]

# Transport-level failures (§4.3 "timeout or transport error"); a response, even
# an error, comes from a live server and ends the run. TLS counts: a phone whose
# handshake fails with one SBC moves on to the next as well.
FAILOVER_REASONS = frozenset({FailureReason.TIMEOUT, FailureReason.REFUSED,
                              FailureReason.NETWORK, FailureReason.TLS})
MAX_ATTEMPTS = 3  # addresses tried per run, whatever DNS returned


def attempt_deadline(now: float, deadline: float, untried: int) -> float:
    """When the next attempt gives up: an equal share of the time left (see module doc)."""
    share = max(1, untried)
    return deadline if share == 1 else now + (deadline - now) / share


class Route:
    """Resolves once per run, tries addresses in order, remembers which answered.

    Without a resolver the transport resolves the URI itself (getaddrinfo):
    what the CLI and tests did before RFC 3263, kept for IP-literal targets.
    """

    def __init__(
        self, target: SipUri, transports: SipTransports, resolver: Locator | None, *,
        t1: float = 0.5, t2: float = 4.0, tls: TlsSettings | None = None,
        literal: Resolution | None = None,
    ) -> None:
        """`literal`: the target's `literal_resolution`, if the caller keeps it (it never
        changes for an IP-literal target)."""
        self.target = target
        self._transports = transports
        self._resolver = resolver
        self._t1, self._t2, self._tls = t1, t2, tls
        self.resolution: Resolution | None = literal
        self.used: ResolvedTarget | None = None
        self.failed: list[tuple[ResolvedTarget, Outcome]] = []
        self.dns_seconds: float | None = None

    async def request(self, build: RequestBuilder, deadline: float,
                      due: float | None = None) -> Outcome:
        """One transaction: to the address that answered before, else the next ones in
        turn. `due`: when the request should leave (see SipTransports.request)."""
        if self.used is not None or self._resolver is None:
            return await self._send(build, deadline, self.used, due)
        loop = asyncio.get_running_loop()
        if self.resolution is None:
            self.resolution = literal_resolution(self.target)  # no DNS, nothing to wait for
        if self.resolution is None:
            started = loop.time()
            try:
                async with asyncio.timeout_at(deadline):
                    self.resolution = await self._resolver.resolve(self.target)
            except DnsQueryError as exc:
                return self._dns_failed(FailureReason.DNS, exc.detail, started, deadline,
                                        exc.timed_out)
            except TimeoutError:
                return self._dns_failed(FailureReason.TIMEOUT, f"DNS resolution of"
                                        f" {self.target.host} did not finish by the deadline",
                                        started, deadline, True)
            finally:
                self.dns_seconds = loop.time() - started
        targets = self.resolution.targets[:MAX_ATTEMPTS]
        if not targets:
            return Outcome(None, FailureReason.DNS, self.resolution.describe_empty(self.target.host))
        outcome: Outcome | None = None
        for i, hop in enumerate(targets[len(self.failed):], start=len(self.failed)):
            now = loop.time()
            if now >= deadline and outcome is not None:
                break
            outcome = await self._send(build, attempt_deadline(now, deadline, len(targets) - i),
                                       hop, due if outcome is None else None)
            if outcome.response is not None:
                self.used = hop
                return outcome
            self.failed.append((hop, outcome))
            if outcome.failure not in FAILOVER_REASONS:
                break
        assert outcome is not None  # targets is not empty
        return self._all_failed(outcome)

    def _dns_failed(self, reason: FailureReason, detail: str, started: float, deadline: float,
                    timed_out: bool) -> Outcome:
        """A resolver that timed out while our own loop lagged may have answered in time."""
        late = self._transports.watch.lateness_since(started) if timed_out else 0.0
        if late > tolerance(deadline - started):
            return Outcome(None, FailureReason.DNS, f"not judged: {detail}, but our daemon lagged"
                           f" {late:.2f} s meanwhile (overloaded)", inconclusive=True)
        return Outcome(None, reason, detail)

    def _send(self, build: RequestBuilder, deadline: float, hop: ResolvedTarget | None,
              due: float | None = None) -> Coroutine[Any, Any, Outcome]:
        """The transaction's coroutine, awaited by the caller (no frame of its own)."""
        return self._transports.request(build, self.target, deadline, t1=self._t1,
                                        t2=self._t2, tls=self._tls, via=hop, due=due)

    def _all_failed(self, last: Outcome) -> Outcome:
        """The preferred address's reason; the detail names every address tried. If our
        own lateness left any address unjudged, so is the whole run."""
        if not self._resolved_by_dns and len(self.failed) == 1:
            return last  # an IP literal: the transport's detail already names it
        first = self.failed[0][1]
        detail = "; ".join(f"{hop}: {o.detail}" for hop, o in self.failed)
        return Outcome(None, first.failure, detail, sum(o.transmissions for _, o in self.failed),
                       inconclusive=any(o.inconclusive for _, o in self.failed))

    @property
    def _resolved_by_dns(self) -> bool:
        return self.resolution is not None and self.resolution.queried != ()

    def evidence(self) -> str:
        """' via ADDR (how); failed: ADDR reason' for a result detail; '' for an IP literal."""
        if not self._resolved_by_dns and not self.failed:
            return ""
        parts = []
        if self.used is not None:
            parts.append(f"via {self.used} ({self.used.how})")
        if self.failed and self.used is not None:
            parts.append("failed over from " + ", ".join(
                f"{hop} ({o.failure})" for hop, o in self.failed))
        return (" [" + "; ".join(parts) + "]") if parts else ""

    def measured(self) -> SipRoute | None:
        """The route's figures for the API and metrics (the addresses are in the detail)."""
        if not self._resolved_by_dns:
            return None
        assert self.resolution is not None
        index = None if self.used is None else self.resolution.targets.index(self.used)
        return SipRoute(
            dns_targets=len(self.resolution.targets), failover_attempts=len(self.failed),
            dns_seconds=self.dns_seconds, target_index=index,
            target_port=None if self.used is None else self.used.port,
        )
