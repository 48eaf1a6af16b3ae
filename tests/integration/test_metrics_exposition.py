"""`promtool check metrics` on a whole exposition: SNMP, call, SLA and alert-path series together.

The sibling test in test_daemon_outage.py lints the core families; this one
runs a daemon with every kind of series a production scrape carries: snmpd
checks (uptime, load, disk, reboots), a real call against SIPp's RTP echo
(set-up time, MOS, success ratio), a service under an SLA policy with a
running maintenance window, and Alertmanager and MQTT configured towards
peers that are not there, so the delivery counters and the outbox gauge
move as well.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.daemon import DaemonProcess
from tests.integration.peers import free_port, snmpd_target
from tests.needs import need_program

pytestmark = pytest.mark.integration

FAMILIES = [
    "monitord_snmp_uptime_seconds",
    "monitord_snmp_load_average",
    "monitord_snmp_disk_used_ratio",
    "monitord_snmp_reboots_total",
    "monitord_call_setup_seconds_bucket",
    "monitord_call_mos_bucket",
    "monitord_service_availability_ratio",
    "monitord_service_error_budget_remaining_seconds",
    "monitord_maintenance_active",
    "monitord_service_good_seconds_total",
    "monitord_alert_deliveries_total",
    "monitord_mqtt_publishes_total",
    "monitord_outbox_pending_events",
    "monitord_outbox_pending_limit",
]


def test_full_exposition_passes_promtool(snmp_and_sip: tuple[int, int], tmp_path: Path) -> None:
    promtool = need_program("promtool")
    snmp_port, sip_port = snmp_and_sip
    target = snmpd_target(snmp_port, tmp_path)
    now = datetime.now(UTC)
    cfg = {
        "daemon": {"site": "it"},
        "defaults": {"interval": "1s", "timeout": "800ms"},
        "checks": [
            {"name": "pbx-up", "type": "snmp_up", "target": target},
            {"name": "pbx-load", "type": "snmp_cpu", "source": "ucd_load_average", "max": 1000,
             "target": target},
            {"name": "pbx-disk", "type": "snmp_disk", "max_used": 1.0, "target": target},
            {"name": "echo-call", "type": "sip_call", "target": f"sip:echo@127.0.0.1:{sip_port}",
             "interval": "8s", "timeout": "7s", "duration": "1s", "answer_timeout": "2s",
             "media_timeout": "1s"},
        ],
        "services": [{"name": "pbx", "checks": ["pbx-up", "pbx-disk"], "sla_policy": "monthly"},
                     {"name": "voice", "checks": ["echo-call"]}],
        "sla_policies": [{"name": "monthly", "version": "it-1", "target_percent": 99.9}],
        "maintenance": {"windows": [{
            "name": "patching", "services": ["pbx"], "start": (now - timedelta(minutes=5)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
            "announced_at": (now - timedelta(days=30)).isoformat()}]},
        "alertmanager": {"urls": [f"http://127.0.0.1:{free_port()}"], "retry_initial": "100ms",
                         "retry_max": "200ms"},
        "mqtt": {"port": free_port(), "retry_initial": "100ms", "retry_max": "200ms"},
    }
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(), cfg)
    daemon.start()
    try:
        def present(text: str, family: str) -> bool:
            return f"\n{family}{{" in text or f"\n{family} " in text

        def ready() -> bool:
            text = daemon.get("/metrics")
            call_done = re.search(r"^monitord_call_attempts_total\{check=\"echo-call\",site=\"it\"\} [1-9]", text, re.M)
            return bool(call_done) and all(present(text, f) for f in FAMILIES)

        # every family, each from its own first successful poll (a loaded machine may
        # time out a first disk walk)
        daemon.wait_for("a call measured, the SLA gauges and every family", ready, 40)
        text = daemon.get("/metrics")
        for family in FAMILIES:
            assert f"\n{family}{{" in text or f"\n{family} " in text, family
        assert 'monitord_maintenance_active{service="pbx",site="it"} 1.0' in text
        assert re.search(r'^monitord_outbox_pending_events\{site="it"\} [1-9]', text, re.M), "no broker: rows wait"
        lint = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                              capture_output=True, timeout=30)
        assert lint.returncode == 0 and lint.stdout == b"" and lint.stderr == b"", (
            lint.stdout.decode() + lint.stderr.decode()
        )
    finally:
        daemon.stop()
