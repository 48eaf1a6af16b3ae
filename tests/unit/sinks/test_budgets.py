"""Latency budgets: a breach is measured and shown, reachability is untouched."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from monitord.config import effective_checks, parse_config
from monitord.core.events import CheckSnapshot
from monitord.core.stream import Committed
from monitord.sinks.budgets import BudgetState, QualitySink
from probes.base import FailureReason, ProbeResult
from probes.measurements import OptionsMeasured
from tests.unit.stream import committed


def test_budget_state_after_every_step() -> None:
    state = BudgetState(0.025)
    steps = [  # (ok, rtt) -> (breached, changed, slow, breaches)
        ((True, 0.010), (False, False, False, 0)),
        ((True, 0.040), (True, True, True, 1)),
        ((True, 0.041), (True, False, True, 2)),
        ((False, None), (False, False, True, 2)),  # a failure measures nothing
        ((True, 0.025), (False, True, False, 2)),  # at the budget is within it
    ]
    for (ok, rtt), (breached, changed, slow, breaches) in steps:
        assert state.observe(ok, rtt) == (breached, changed)
        assert (state.slow, state.breaches) == (slow, breaches)


def outcome(check, result: ProbeResult) -> Committed:  # type: ignore[no-untyped-def]
    snap = CheckSnapshot.initial(check.name)
    return committed(check, result, datetime.now(UTC), before=snap, after=snap, duration=0.05)


def test_sink_exports_slow_and_counts_breaches() -> None:
    cfg = parse_config(
        "checks:\n"
        "  - {name: fast, type: sip_options, target: 'sip:127.0.0.1', max_rtt: 25ms}\n"
        "  - {name: plain, type: sip_options, target: 'sip:127.0.0.1'}\n"
    )
    checks = effective_checks(cfg)
    assert checks[0].config.max_rtt == 0.025
    registry = CollectorRegistry()
    sink = QualitySink(registry, checks)

    def sample(name: str) -> float | None:
        return registry.get_sample_value(name, {"check": "fast"})

    assert sample("monitord_check_slow") == 0
    assert sample("monitord_check_rtt_budget_exceeded_total") == 0
    assert sample("monitord_check_rtt_budget_seconds") == 0.025
    sink.consume(outcome(checks[0], ProbeResult.success(0.040)))
    sink.consume(outcome(checks[0], ProbeResult.failure(FailureReason.TIMEOUT, "x")))
    assert sample("monitord_check_slow") == 1
    assert sample("monitord_check_rtt_budget_exceeded_total") == 1
    quality = sink.quality("fast")
    assert quality is not None and quality["breach"] == "slow"
    assert quality["last_rtt_seconds"] == 0.040
    sink.consume(outcome(checks[0], ProbeResult.success(0.001)))
    assert sample("monitord_check_slow") == 0
    assert sink.quality("plain") is None
    sink.consume(outcome(checks[1], ProbeResult.success(9.0)))  # no budget: ignored


def test_sink_exports_certificate_expiry_and_warns_once() -> None:
    cfg = parse_config(
        "checks:\n"
        "  - {name: sbc, type: sip_options, target: 'sips:127.0.0.1',"
        " tls: {expiry_warning_days: 30}}\n"
    )
    checks = effective_checks(cfg)
    registry = CollectorRegistry()
    sink = QualitySink(registry, checks)
    assert sink.quality("sbc") is None
    first = outcome(checks[0], ProbeResult.success(0.01, "", OptionsMeasured(tls_cert_expiry_days=45.0)))
    sink.consume(first)
    labels = {"check": "sbc"}
    assert registry.get_sample_value("monitord_tls_certificate_expiry_timestamp_seconds",
                                     labels) == first.at.timestamp() + 45 * 86400
    assert registry.get_sample_value("monitord_tls_certificate_expiring", labels) == 0
    sink.consume(outcome(checks[0], ProbeResult.success(0.01, "", OptionsMeasured(tls_cert_expiry_days=12.5))))
    assert registry.get_sample_value("monitord_tls_certificate_expiring", labels) == 1
    assert sink.quality("sbc") == {"tls_certificate_expiry_days": 12.5,
                                   "tls_certificate_expiring": True}
