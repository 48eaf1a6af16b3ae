"""End to end: a check 40 ms away with `max_rtt: 25ms` is UP and flagged `slow`.

The delay comes from `DelayRelay` (a userspace stand-in for netem) in front
of SIPp; the real daemon runs as a child process. What a NOC must see: the
check stays UP with no downtime, while metrics, the API and the log say the
latency budget is broken.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.daemon import DaemonProcess
from tests.integration.delayrelay import DelayRelay
from tests.integration.peers import free_port, sipp_options_responder

pytestmark = pytest.mark.integration


def test_delayed_responder_trips_the_budget_without_going_down(tmp_path: Path) -> None:
    sipp_port = free_port()
    sipp = sipp_options_responder(sipp_port, tmp_path / "sipp")
    sipp.start()
    relay = DelayRelay(("127.0.0.1", sipp_port), delay=0.040).start()
    daemon = DaemonProcess(tmp_path, free_port(), {
        "daemon": {"site": "it"},
        "defaults": {"interval": "1s", "timeout": "900ms", "down_after": 2, "alert_after": 1},
        "checks": [
            {"name": "relayed", "type": "sip_options", "max_rtt": "25ms",
             "target": f"sip:127.0.0.1:{relay.port}"},
            {"name": "direct", "type": "sip_options", "max_rtt": "800ms",
             "target": f"sip:127.0.0.1:{sipp_port}"},
        ],
    })
    try:
        daemon.start()

        def slow_seen() -> bool:
            quality = daemon.check("relayed")["quality"]
            return bool(quality and quality["budget_breaches"] >= 3)

        daemon.wait_for("three budget breaches", slow_seen, timeout=20)
        check = daemon.check("relayed")
        assert check["state"] == "up" and check["consecutive_failures"] == 0
        assert check["last_result"]["ok"] is True
        quality = check["quality"]
        assert quality["slow"] is True and quality["breach"] == "slow"
        assert quality["last_rtt_seconds"] >= 0.080 * 0.9  # 40 ms each way
        assert quality["max_rtt_seconds"] == 0.025
        assert daemon.check("direct")["quality"]["slow"] is False
        assert daemon.get("/api/v1/downtimes") == []  # reachability untouched
        metrics = daemon.get("/metrics")
        assert 'monitord_check_slow{check="relayed",site="it"} 1.0' in metrics
        assert 'monitord_check_slow{check="direct",site="it"} 0.0' in metrics
        exceeded = [line for line in metrics.splitlines()
                    if line.startswith('monitord_check_rtt_budget_exceeded_total{check="relayed",site="it"}')]
        assert exceeded and float(exceeded[0].split()[-1]) >= 3
        assert 'monitord_probe_success{check="relayed",site="it",type="sip_options"} 1.0' in metrics
        breaches = [r for r in daemon.log_records() if r.get("event") == "quality_breach"]
        assert len(breaches) == 1, breaches  # logged when the breach starts, not per probe
        assert breaches[0]["check"] == "relayed" and breaches[0]["reason"] == "slow"
        assert breaches[0]["rtt_ms"] > 25
    finally:
        daemon.stop()
        relay.stop()
        sipp.stop()
