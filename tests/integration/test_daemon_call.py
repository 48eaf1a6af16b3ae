"""The real daemon placing `sip_call` checks against SIPp's RTP echo.

Why end to end: the call probe, its KPIs on /metrics, the check's last result
in the API and the call-quality priority all meet only in the running daemon.
A far end that disappears must take the call check down exactly like any
other check: one downtime interval, from the first failed call to the first
answered one; never answered calls are reachability, so the quality priority
stays where it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.daemon import DaemonProcess
from tests.integration.peers import PeerProcess, free_port, media_port_block, sipp_uas

pytestmark = pytest.mark.integration

CHECK = "echo-call"


def _config(target: str) -> dict[str, Any]:
    return {
        "daemon": {"site": "it"},
        "checks": [{
            "name": CHECK, "type": "sip_call", "target": target, "interval": "6s",
            "duration": "1s", "answer_timeout": "2s", "media_timeout": "1s",
            "alert_after": 1, "down_after": 2,
        }],
        "services": [{"name": "voice", "checks": [CHECK],
                      "call_quality": {"calls": 5, "min_calls": 1}}],
    }


def metric(text: str, name: str, labels: str) -> float | None:
    """The sample of `name` with exactly `labels` plus the daemon's constant `site`."""
    for match in re.finditer(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", text, re.M):
        found = ",".join(sorted(p for p in match[1].split(",") if not p.startswith("site=")))
        if found == ",".join(sorted(labels.split(","))) and 'site="it"' in match[1]:
            return float(match[2])
    return None


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[tuple[PeerProcess, int]]:
    port = free_port()
    proc = sipp_uas(port, tmp_path / "sipp", media_port_block())
    proc.start()
    try:
        yield proc, port
    finally:
        proc.stop()


def test_daemon_calls_exports_kpis_and_a_dead_far_end_is_one_downtime(
    sipp: tuple[PeerProcess, int], tmp_path: Path
) -> None:
    peer, port = sipp
    workdir = tmp_path / "daemon"
    workdir.mkdir()
    daemon = DaemonProcess(workdir, free_port(), _config(f"sip:echo@127.0.0.1:{port}"))
    daemon.start()
    try:
        def answered() -> bool:
            last = daemon.check(CHECK)["last_result"]
            return last is not None and last["ok"]

        daemon.wait_for("an answered call", answered, 15)
        last = daemon.check(CHECK)["last_result"]
        m = last["measurements"]
        assert 0 < m["call_setup_seconds"] < 1.5 and last["latency_seconds"] == m[
            "call_setup_seconds"]
        assert m["rtp_rx_loss_ratio"] == 0 and m["rtp_rx_packets"] >= 30
        assert m["mos"] == pytest.approx(4.4, abs=0.05)

        text = daemon.get("/metrics")
        label = f'check="{CHECK}"'
        assert (metric(text, "monitord_call_setup_seconds_count", label) or 0) >= 1
        assert (metric(text, "monitord_call_successes_total", label) or 0) >= 1
        mos_sum, mos_count = (metric(text, f"monitord_call_mos_{part}", label) or 0
                              for part in ("sum", "count"))
        assert mos_count >= 1 and mos_sum / mos_count == pytest.approx(4.4, abs=0.05)
        lossless = metric(text, "monitord_call_loss_ratio_bucket", f'{label},direction="rx",le="0.0"')
        assert lossless == metric(text, "monitord_call_loss_ratio_count", f'{label},direction="rx"')
        assert metric(text, "monitord_service_call_quality_priority", 'service="voice"') == 0
        assert (metric(text, "monitord_service_call_quality_window_calls",
                       'service="voice"') or 0) >= 1

        peer.stop()
        daemon.wait_for("the call check to go down",
                        lambda: daemon.check(CHECK)["state"] == "down", 40)
        peer.start()
        daemon.wait_for("the call check to recover",
                        lambda: daemon.check(CHECK)["state"] == "up", 30)
        downtimes = daemon.get(f"/api/v1/downtimes?check={CHECK}")
        assert len(downtimes) == 1, downtimes
        assert downtimes[0]["open"] is False and downtimes[0]["reason"]
        steps = [r for r in daemon.log_records() if r.get("event") == "check_transition"]
        first_failure = next(s for s in steps if s["from_state"] == "up")
        assert downtimes[0]["start"].replace("Z", "+00:00") == first_failure["at"].replace(
            "Z", "+00:00")
        text = daemon.get("/metrics")
        assert metric(text, "monitord_service_call_quality_priority", 'service="voice"') == 0
        failures = re.findall(rf"^monitord_call_failures_total\{{{label},reason=\"(\w+)\",site=\"it\"\}} [1-9]",
                              text, re.M)
        print(f"\nfailure reasons while SIPp was stopped: {failures}; downtime {downtimes[0]}")
        assert failures
    finally:
        daemon.stop()
