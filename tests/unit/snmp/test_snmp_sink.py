"""The per-device SNMP gauges, and reboots (detected by the pipeline) counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from monitord.config import effective_checks, parse_config
from monitord.core.events import RebootDetected
from monitord.sinks.snmp import SnmpSink
from probes.base import FailureReason, ProbeResult
from probes.measurements import SnmpDiskMeasured, SnmpUptimeMeasured
from tests.unit.stream import committed

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


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
    sink.consume(committed(up, ProbeResult.success(0.01, "", SnmpUptimeMeasured(uptime_seconds=500.0)), T0))
    later = T0 + timedelta(seconds=5)
    sink.consume(committed(up, ProbeResult.success(0.01, "", SnmpUptimeMeasured(uptime_seconds=2.0)), later,
                           [RebootDetected("pbx-up", "127.0.0.1:1161", later, 500.0, 2.0)]))
    sink.consume(
        committed(
            disk,
            ProbeResult.failure(
                FailureReason.THRESHOLD,
                "full",
                0.01,
                SnmpDiskMeasured(used_ratio={"/": 0.95, "/var": 0.5}),
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
