"""`max_rtt` on a sip_call: judged on the media RTT from RTCP, not on set-up time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from monitord.config import effective_checks, parse_config
from monitord.sinks.budgets import QualitySink
from probes.base import ProbeResult
from probes.measurements import CallMeasured
from tests.unit.sinks.test_budgets import outcome


def test_call_budget_uses_rtcp_rtt() -> None:
    cfg = parse_config(
        "checks:\n"
        "  - {name: call, type: sip_call, target: 'sip:echo@127.0.0.1', max_rtt: 25ms}\n"
    )
    check = effective_checks(cfg)[0]
    registry = CollectorRegistry()
    sink = QualitySink(registry, [check])

    def slow() -> float | None:
        return registry.get_sample_value("monitord_check_slow", {"check": "call"})

    # a 2 s set-up time is not a 2 s round trip: 12 ms RTCP RTT is within budget
    sink.consume(outcome(check, ProbeResult.success(2.0, measured=CallMeasured(rtt_seconds=0.012))))
    assert slow() == 0
    sink.consume(outcome(check, ProbeResult.success(0.3, measured=CallMeasured(rtt_seconds=0.040))))
    assert slow() == 1
    quality = sink.quality("call")
    assert quality is not None and quality["last_rtt_seconds"] == 0.040
    # no RTCP RTT (the far end sent no reports): nothing measured, judgement kept
    sink.consume(outcome(check, ProbeResult.success(0.3, measured=CallMeasured())))
    assert slow() == 1
    assert registry.get_sample_value("monitord_check_rtt_budget_exceeded_total",
                                     {"check": "call"}) == 1
