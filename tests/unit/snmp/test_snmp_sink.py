"""Reboot detection and the per-device SNMP gauges, fed outcomes by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from monitord.config import effective_checks, parse_config
from monitord.core.events import CheckSnapshot
from monitord.core.pipeline import ProbeOutcome
from monitord.sinks.snmp import RebootDetector, SnmpSink
from probes.base import FailureReason, ProbeResult
from probes.snmp.oids import TIMETICKS_WRAP_SECONDS

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_a_decrease_is_a_reboot_and_a_steady_rise_is_not() -> None:
    d = RebootDetector()
    assert d.observe("pbx", 100.0, T0) is None  # nothing to compare with yet
    assert d.observe("pbx", 110.0, T0 + timedelta(seconds=10)) is None
    assert d.observe("pbx", 110.0, T0 + timedelta(seconds=10)) is None  # same reading twice
    reboot = d.observe("pbx", 3.0, T0 + timedelta(seconds=20))
    assert reboot is not None and (reboot.previous_uptime, reboot.uptime) == (110.0, 3.0)
    assert d.observe("pbx", 13.0, T0 + timedelta(seconds=30)) is None
    assert d.observe("other", 1.0, T0) is None  # per check


def test_a_timeticks_wrap_is_not_a_reboot() -> None:
    d = RebootDetector()
    before = TIMETICKS_WRAP_SECONDS - 5.0
    d.observe("pbx", before, T0)
    assert d.observe("pbx", 5.0, T0 + timedelta(seconds=10)) is None
    d2 = RebootDetector()
    d2.observe("pbx", before, T0)
    assert d2.observe("pbx", 5000.0, T0 + timedelta(seconds=10)) is not None


def _outcome(check: object, result: ProbeResult, at: datetime) -> ProbeOutcome:
    snap = CheckSnapshot.initial("x")
    return ProbeOutcome(check, at, result, 0.01, snap, snap, (), ())  # type: ignore[arg-type]


def test_gauges_are_labelled_per_device_and_reboots_counted(tmp_path: Path) -> None:
    secret = tmp_path / "community"
    secret.write_text("very-secret-community")
    secret.chmod(0o600)
    cfg = parse_config(
        f"""\
checks:
  - {{name: pbx-up, type: snmp_up, target: {{host: 127.0.0.1, port: 1161, community_file: {secret}}}}}
  - {{name: pbx-disk, type: snmp_disk, max_used: 0.9, target: {{host: 127.0.0.5, community_file: {secret}}}}}
""",
        env={},
    )
    up, disk = effective_checks(cfg)
    registry = CollectorRegistry()
    sink = SnmpSink(registry, [up, disk])
    sink.outcome(_outcome(up, ProbeResult.success(0.01, "", {"snmp_uptime_seconds": 500.0}), T0))
    sink.outcome(
        _outcome(up, ProbeResult.success(0.01, "", {"snmp_uptime_seconds": 2.0}), T0 + timedelta(seconds=5))
    )
    sink.outcome(
        _outcome(
            disk,
            ProbeResult.failure(
                FailureReason.THRESHOLD,
                "full",
                0.01,
                {"snmp_disk_used_ratio:/": 0.95, "snmp_disk_used_ratio:/var": 0.5},
            ),
            T0,
        )
    )
    text = generate_latest(registry).decode()
    assert 'monitord_snmp_uptime_seconds{check="pbx-up",device="127.0.0.1:1161"} 2.0' in text
    assert 'monitord_snmp_reboots_total{check="pbx-up",device="127.0.0.1:1161"} 1.0' in text
    assert 'monitord_snmp_disk_used_ratio{check="pbx-disk",device="127.0.0.5",storage="/"} 0.95' in text
    assert 'monitord_snmp_disk_used_ratio{check="pbx-disk",device="127.0.0.5",storage="/var"} 0.5' in text
    assert "very-secret-community" not in text
