"""Typed measurements: the fields sinks read, and the flat export the API shows.

The export keys are an external contract (dashboards, the JSON API, MQTT
consumers), so they are spelled out here in full: a renamed field must not
rename a key by accident.
"""

from __future__ import annotations

import pytest

from probes.base import FailureReason, ProbeResult
from probes.errors import InvalidValue
from probes.measurements import (
    CallMeasured,
    OptionsMeasured,
    RegisterMeasured,
    SipRoute,
    SnmpCpuMeasured,
    SnmpDiskMeasured,
    SnmpOidMeasured,
    SnmpUptimeMeasured,
)


def test_options_export_keeps_the_api_keys_and_leaves_out_what_was_not_measured() -> None:
    plain = OptionsMeasured(status=200, transmissions=1)
    assert dict(plain.exported()) == {"sip_status": 200.0, "sip_transmissions": 1.0}
    routed = OptionsMeasured(
        status=None, transmissions=3, tls_cert_expiry_days=9.5,
        route=SipRoute(dns_targets=2, failover_attempts=1, dns_seconds=0.004, target_index=1,
                       target_port=5061),
    )
    assert dict(routed.exported()) == {
        "sip_transmissions": 3.0, "tls_cert_expiry_days": 9.5, "sip_dns_targets": 2.0,
        "sip_failover_attempts": 1.0, "sip_dns_seconds": 0.004, "sip_target_index": 1.0,
        "sip_target_port": 5061.0,
    }


def test_register_export_adds_its_own_figures_and_a_flag_as_one_or_zero() -> None:
    m = RegisterMeasured(status=200, transmissions=2, auth_rounds=1, register_expires=60,
                         deregistered=False)
    assert dict(m.exported()) == {
        "sip_status": 200.0, "sip_transmissions": 2.0, "sip_auth_rounds": 1.0,
        "sip_register_expires": 60.0, "sip_deregistered": 0.0,
    }
    assert "sip_deregistered" not in RegisterMeasured(transmissions=1).exported()


def test_call_export_names() -> None:
    m = CallMeasured(status=200, post_dial_delay_seconds=0.1, setup_seconds=0.4,
                     auth_setup_seconds=0.2, answer_to_media_seconds=0.05, rtt_seconds=0.002,
                     tx_packets=250, pacing_error_p50_seconds=0.0001,
                     pacing_error_p99_seconds=0.001, rx_packets=249, rx_lost=1,
                     rx_loss_ratio=0.004, rx_jitter_seconds=0.0005, rx_burst_ratio=1.0,
                     tx_loss_ratio=0.0, tx_jitter_seconds=0.0004, mos_rx=4.3, mos_tx=4.4,
                     mos=4.3, r_factor=92.0)
    assert set(m.exported()) == {
        "sip_status", "call_post_dial_delay_seconds", "call_setup_seconds",
        "call_auth_setup_seconds", "call_answer_to_media_seconds", "rtt_seconds",
        "rtp_tx_packets", "rtp_pacing_error_p50_seconds", "rtp_pacing_error_p99_seconds",
        "rtp_rx_packets", "rtp_rx_lost", "rtp_rx_loss_ratio", "rtp_rx_jitter_seconds",
        "rtp_rx_burst_ratio", "rtp_tx_loss_ratio", "rtp_tx_jitter_seconds", "mos_rx", "mos_tx",
        "mos", "r_factor",
    }
    assert dict(CallMeasured(status=486).exported()) == {"sip_status": 486.0}


def test_snmp_export_names() -> None:
    assert dict(SnmpUptimeMeasured(uptime_seconds=12.5).exported()) == {
        "snmp_uptime_seconds": 12.5}
    assert dict(SnmpCpuMeasured(load_ratio=0.475, cpu_count=8).exported()) == {
        "snmp_cpu_load_ratio": 0.475, "snmp_cpu_count": 8.0}
    assert dict(SnmpCpuMeasured(load_average=1.75).exported()) == {"snmp_load_average": 1.75}
    assert dict(SnmpDiskMeasured(used_ratio={"/": 0.4, "/var": 0.5}).exported()) == {
        "snmp_disk_used_ratio:/": 0.4, "snmp_disk_used_ratio:/var": 0.5}
    assert dict(SnmpOidMeasured(value=72).exported()) == {"snmp_value": 72.0}
    assert dict(SnmpOidMeasured(rows=5).exported()) == {"snmp_rows": 5.0}


def test_a_result_exports_its_measured_record() -> None:
    r = ProbeResult.success(0.01, "up", SnmpUptimeMeasured(uptime_seconds=3.0))
    assert r.measurements == {"snmp_uptime_seconds": 3.0}
    assert ProbeResult.failure(FailureReason.TIMEOUT, "no answer").measurements == {}


def test_inconclusive_is_neither_ok_nor_a_failure_with_a_reason() -> None:
    r = ProbeResult.not_judged("our daemon was 2.1 s late")
    assert (r.ok, r.inconclusive, r.reason) == (False, True, None)
    with pytest.raises(InvalidValue):
        ProbeResult(False, reason=FailureReason.TIMEOUT, inconclusive=True)
    with pytest.raises(InvalidValue):
        ProbeResult(True, inconclusive=True)
    with pytest.raises(InvalidValue, match="needs a failure reason"):
        ProbeResult(False)
