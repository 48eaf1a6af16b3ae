"""Quality budgets: "up, but over the 25 ms budget" kept apart from "down".

VIOMS and Xelion write phone-to-phone latency under 25 ms into their network
requirements (sla-rules §2); a platform answering in 40 ms is reachable, so it
must not open a downtime interval, yet a NOC must see the breach. This sink
therefore only reads probe results after the state machine has judged them:
a successful probe whose round trip exceeds the check's `max_rtt` is a
quality breach with reason `slow`, exported as metrics, shown in the API and
logged when it starts and ends. Reachability (states, intervals, SLA figures)
never changes because of it.

`BudgetState` is the judgement without I/O; `QualitySink` is the adapter to
prometheus_client and structlog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from monitord.config.load import EffectiveCheck
from monitord.core.stream import Committed, ProbeOutcome, Reconfigured
from probes.measurements import CallMeasured, SipExchange

__all__ = ["SLOW", "BudgetState", "QualitySink", "measured_rtt"]

log = structlog.get_logger("monitord.sinks.budgets")

SLOW = "slow"  # the breach reason, as logged and shown in the API


@dataclass(slots=True)
class BudgetState:
    """One check's latency budget and where it stands.

    A failed probe measured nothing, so it leaves the judgement as it was:
    whether the target answers is the state machine's question, not ours.
    """

    max_rtt: float
    slow: bool = False
    breaches: int = 0
    last_rtt: float | None = None

    def observe(self, ok: bool, rtt: float | None) -> tuple[bool, bool]:
        """Feed one probe result; return (breached now, slow changed)."""
        if not ok or rtt is None:
            return False, False
        self.last_rtt = rtt
        breached = rtt > self.max_rtt
        if breached:
            self.breaches += 1
        changed = breached != self.slow
        self.slow = breached
        return breached, changed

    def as_json(self) -> dict[str, Any]:
        return {
            "max_rtt_seconds": self.max_rtt,
            "slow": self.slow,
            "breach": SLOW if self.slow else None,
            "last_rtt_seconds": self.last_rtt,
            "budget_breaches": self.breaches,
        }


def measured_rtt(o: ProbeOutcome) -> float | None:
    """The round trip `max_rtt` is about. For OPTIONS and REGISTER it is the
    transaction's (the result's latency); a call's latency is its set-up time,
    so for `sip_call` it is the media path's RTT from RTCP (LSR/DLSR), the
    phone-to-phone figure the 25 ms requirements are written for. A call
    without an RTCP RTT measured nothing and leaves the judgement as it was."""
    m = o.result.measured
    if isinstance(m, CallMeasured):
        return m.rtt_seconds
    return o.result.latency


class QualitySink:
    """Pipeline sink for per-check quality budgets (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry, checks: Sequence[EffectiveCheck]) -> None:
        self._budgets: dict[str, BudgetState] = {}
        self._slow = Gauge(
            "monitord_check_slow",
            "1 while the check's last successful probe exceeded its max_rtt budget.",
            ["check"], registry=registry,
        )
        self._exceeded = Counter(
            "monitord_check_rtt_budget_exceeded",
            "Successful probes whose round trip exceeded the check's max_rtt budget.",
            ["check"], registry=registry,
        )
        self._budget = Gauge(
            "monitord_check_rtt_budget_seconds", "The check's configured max_rtt.", ["check"],
            registry=registry,
        )
        self._declare(checks)

        self._expiry = Gauge(
            "monitord_tls_certificate_expiry_timestamp_seconds",
            "When the TLS server certificate seen by the check's last probe expires (Unix time;"
            " from the probe's days left, to about a minute).",
            ["check"], registry=registry,
        )
        self._expiring = Gauge(
            "monitord_tls_certificate_expiring",
            "1 while that certificate expires within the check's tls.expiry_warning_days.",
            ["check"], registry=registry,
        )
        self._warn_days = {
            c.name: float(getattr(getattr(c.config, "tls", None), "expiry_warning_days", 14))
            for c in checks
        }
        self._tls: dict[str, tuple[float, bool]] = {}  # check -> (days left, expiring)

    def quality(self, check: str) -> dict[str, Any] | None:
        """The API's view of a check's budgets (None when it has none)."""
        state = self._budgets.get(check)
        out = state.as_json() if state is not None else {}
        if check in self._tls:
            days, expiring = self._tls[check]
            out["tls_certificate_expiry_days"] = days
            out["tls_certificate_expiring"] = expiring
        return out or None

    def _declare(self, checks: Sequence[EffectiveCheck]) -> None:
        budgets: dict[str, BudgetState] = {}
        for check in checks:
            max_rtt = getattr(check.config, "max_rtt", None)
            if max_rtt is None:
                continue
            kept = self._budgets.get(check.name)
            budgets[check.name] = (kept if kept is not None and kept.max_rtt == float(max_rtt)
                                   else BudgetState(float(max_rtt)))
            self._budget.labels(check.name).set(float(max_rtt))
            if kept is None:
                self._slow.labels(check.name).set(0)
                self._exceeded.labels(check.name)  # exported as 0 before the first breach
        for gone in set(self._budgets) - set(budgets):
            for gauge in (self._budget, self._slow):
                gauge.remove(gone)
        self._budgets = budgets

    def consume(self, c: Committed) -> None:
        for ev in c.events:
            if isinstance(ev, Reconfigured):
                self._declare(ev.checks)
        o = c.probe
        if o is None:
            return
        name = o.check.name
        m = o.result.measured
        days = m.tls_cert_expiry_days if isinstance(m, SipExchange) else None
        if days is not None:
            self._certificate(o, days)
        state = self._budgets.get(name)
        if state is None:
            return
        breached, changed = state.observe(o.result.ok, measured_rtt(o))
        if breached:
            self._exceeded.labels(name).inc()
        if not changed:
            return
        self._slow.labels(name).set(1 if state.slow else 0)
        rtt_ms = round((state.last_rtt or 0.0) * 1000, 3)
        if state.slow:
            log.warning("quality_breach", check=name, reason=SLOW, at=o.at.isoformat(),
                        rtt_ms=rtt_ms, max_rtt_ms=round(state.max_rtt * 1000, 3),
                        detail=o.result.detail)
        else:
            log.info("quality_restored", check=name, at=o.at.isoformat(), rtt_ms=rtt_ms,
                     max_rtt_ms=round(state.max_rtt * 1000, 3))

    def _certificate(self, o: ProbeOutcome, days: float) -> None:
        """An expiring SBC certificate is an outage waiting: warn once when it
        enters the warning window, and keep the gauge current on every probe."""
        name = o.check.name
        warn = self._warn_days.get(name, 14.0)
        expiring = days <= warn
        was = self._tls.get(name, (0.0, False))[1]
        self._tls[name] = (days, expiring)
        self._expiry.labels(name).set(o.at.timestamp() + days * 86400.0)
        self._expiring.labels(name).set(1 if expiring else 0)
        if expiring and not was:
            log.warning("tls_certificate_expiring", check=name, days_left=days,
                        warning_days=warn, at=o.at.isoformat())
