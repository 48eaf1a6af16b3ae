"""End to end: the real daemon against real SIP peers that we stop and restart.

What an SLA manager would check: one outage gives exactly one downtime
interval, starting at the first failed probe and ending at the first success;
one alert raised and resolved; a daemon restart mid-outage neither loses nor
duplicates the interval, and its own absence is recorded as an unmonitored gap.
The probe times we compare against come from the daemon's transition log and
from the test's own clock around the moments it stopped and started the peer.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.daemon import DaemonProcess
from tests.integration.peers import (
    PeerProcess,
    free_port,
    kamailio,
    sipp_options_responder,
    sipp_uas,
)
from tests.needs import need_program

pytestmark = pytest.mark.integration

INTERVAL = 1.0
TIMEOUT = 0.5
CHECK = "pbx-options"


def _config(target: str) -> dict[str, Any]:
    return {
        "daemon": {"site": "it"},
        "defaults": {"interval": f"{INTERVAL}s", "timeout": f"{TIMEOUT}s"},
        "checks": [{"name": CHECK, "type": "sip_options", "target": target}],
        "services": [{"name": "pbx", "checks": [CHECK]}],
    }


PEERS: dict[str, Callable[[int, Path], PeerProcess]] = {
    "sipp-options-responder": sipp_options_responder,
    "sipp-uas-aa": lambda port, wd: sipp_uas(port, wd),
    "kamailio": lambda port, wd: kamailio(port, wd),
}


@pytest.fixture(params=sorted(PEERS))
def peer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[PeerProcess, str]]:
    port = free_port()
    workdir = tmp_path / "peer"
    workdir.mkdir()
    proc = PEERS[request.param](port, workdir)
    proc.start()
    try:
        yield proc, f"sip:127.0.0.1:{port}"
    finally:
        proc.stop()


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def transitions(daemon: DaemonProcess) -> list[dict[str, Any]]:
    return [
        r for r in daemon.log_records() if r.get("event") == "check_transition" and r["check"] == CHECK
    ]


def _state(daemon: DaemonProcess) -> str:
    return str(daemon.check(CHECK)["state"])


def _healthy_and_probed(daemon: DaemonProcess) -> bool:
    c = daemon.check(CHECK)
    return c["state"] == "up" and c["last_result"] is not None and c["last_result"]["ok"]


def test_outage_gives_one_interval_from_first_failure_to_first_success(
    peer: tuple[PeerProcess, str], daemon_dir: Path
) -> None:
    sip_peer, target = peer
    daemon = DaemonProcess(daemon_dir, free_port(), _config(target))
    daemon.start()
    try:
        daemon.wait_for("first successful probe", lambda: _healthy_and_probed(daemon), 10)
        stopped_at = datetime.now(UTC)
        sip_peer.stop()
        daemon.wait_for("the check to go down", lambda: _state(daemon) == "down", 15)
        time.sleep(max(0.0, 8 * INTERVAL - (datetime.now(UTC) - stopped_at).total_seconds()))
        restarted_at = datetime.now(UTC)
        sip_peer.start()
        daemon.wait_for("the check to recover", lambda: _state(daemon) == "up", 15)

        downtimes = daemon.get(f"/api/v1/downtimes?check={CHECK}")
        assert len(downtimes) == 1, downtimes
        d = downtimes[0]
        steps = transitions(daemon)
        assert [(s["from_state"], s["to_state"]) for s in steps] == [
            ("up", "failing"),
            ("failing", "alerting"),
            ("alerting", "down"),
            ("down", "up"),
        ]
        first_failure, first_success = ts(steps[0]["at"]), ts(steps[-1]["at"])
        assert ts(d["start"]) == first_failure
        assert ts(d["end"]) == first_success
        assert d["check"] == CHECK and d["open"] is False and d["reason"]
        assert stopped_at <= first_failure <= stopped_at + timedelta(seconds=INTERVAL + TIMEOUT + 0.5)
        assert restarted_at <= first_success <= restarted_at + timedelta(seconds=INTERVAL * 4)
        assert d["duration_seconds"] == pytest.approx((first_success - first_failure).total_seconds())

        print(
            f"\n[{target}] peer stopped {stopped_at.isoformat()}, restarted {restarted_at.isoformat()};"
            f" first failed probe {first_failure.isoformat()}, first success {first_success.isoformat()};"
            f" API interval {d['start']} .. {d['end']} ({d['duration_seconds']:.3f} s), reason {d['reason']}"
        )
        events = [e for s in steps for e in s["events"]]
        assert events.count("AlertRaised") == 1 and events.count("AlertResolved") == 1
        assert events.count("DowntimeOpened") == 1 and events.count("DowntimeClosed") == 1

        service = daemon.get("/api/v1/downtimes?service=pbx")
        assert [(s["start"], s["end"]) for s in service] == [(d["start"], d["end"])]
        assert daemon.get("/api/v1/gaps") == []
    finally:
        daemon.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_restart_mid_outage_keeps_one_interval_and_records_the_gap(
    sig: signal.Signals, tmp_path: Path, daemon_dir: Path
) -> None:
    port = free_port()
    (tmp_path / "peer").mkdir()
    sip_peer = sipp_options_responder(port, tmp_path / "peer")
    sip_peer.start()
    daemon = DaemonProcess(daemon_dir, free_port(), _config(f"sip:127.0.0.1:{port}"))
    daemon.start()
    try:
        daemon.wait_for("first successful probe", lambda: _healthy_and_probed(daemon), 10)
        sip_peer.stop()
        daemon.wait_for("the check to go down", lambda: _state(daemon) == "down", 15)
        before = daemon.get(f"/api/v1/downtimes?check={CHECK}")
        assert len(before) == 1 and before[0]["open"]

        killed_at = datetime.now(UTC)
        daemon.stop(sig)
        time.sleep(3)
        restarted_at = datetime.now(UTC)
        daemon.start()
        resumed = daemon.check(CHECK)
        assert resumed["state"] == "down", "the open interval and state survive the restart"
        assert resumed["down_since"] == before[0]["start"]

        sip_peer.start()
        daemon.wait_for("the check to recover", lambda: _state(daemon) == "up", 15)
        after = daemon.get(f"/api/v1/downtimes?check={CHECK}")
        assert len(after) == 1, f"nothing duplicated: {after}"
        assert after[0]["id"] == before[0]["id"] and after[0]["start"] == before[0]["start"]
        assert after[0]["end"] is not None and ts(after[0]["end"]) >= restarted_at
        service = daemon.get("/api/v1/downtimes?service=pbx")
        assert len(service) == 1 and service[0]["start"] == before[0]["start"]

        gaps = daemon.get("/api/v1/gaps")
        assert len(gaps) == 1, gaps
        gap = gaps[0]
        print(
            f"\n[{sig.name}] interval {after[0]['start']} .. {after[0]['end']} kept id {after[0]['id']};"
            f" gap {gap['start']} .. {gap['end']} ({gap['duration_seconds']:.3f} s, {gap['cause']})"
        )
        assert gap["cause"] == ("clean_shutdown" if sig == signal.SIGTERM else "unclean_shutdown")
        # the gap runs from the last sign of life before the stop to the restart
        assert killed_at - timedelta(seconds=INTERVAL + 1.5) <= ts(gap["start"]) <= killed_at + timedelta(seconds=1)
        assert restarted_at <= ts(gap["end"]) <= restarted_at + timedelta(seconds=10)
        assert gap["duration_seconds"] >= 2.5
    finally:
        daemon.stop()
        sip_peer.stop()


def test_metrics_pass_promtool(tmp_path: Path, daemon_dir: Path) -> None:
    promtool = need_program("promtool")
    port = free_port()
    (tmp_path / "peer").mkdir()
    sip_peer = sipp_options_responder(port, tmp_path / "peer")
    sip_peer.start()
    cfg = _config(f"sip:127.0.0.1:{port}")
    cfg["checks"].append({"name": "dead", "type": "sip_options", "target": f"sip:127.0.0.1:{free_port()}"})
    cfg["services"].append({"name": "dead-svc", "checks": ["dead"]})
    daemon = DaemonProcess(daemon_dir, free_port(), cfg)
    daemon.start()
    try:
        daemon.wait_for("dead check down", lambda: daemon.check("dead")["state"] == "down", 15)
        text = daemon.get("/metrics")
        for family in [
            "monitord_probe_success",
            "monitord_probe_duration_seconds_bucket",
            "monitord_check_consecutive_failures",
            "monitord_check_state",
            "monitord_service_up",
            "monitord_check_downtime_seconds_total",
            "monitord_service_downtime_seconds_total",
            "monitord_scheduler_lateness_seconds_bucket",
            "monitord_sip_responses_total",
        ]:
            assert f"\n{family}{{" in text or f"\n{family} " in text, family
        assert 'monitord_service_up{service="dead-svc",site="it"} 0.0' in text
        assert 'monitord_check_state{check="dead",site="it",state="down"} 1.0' in text
        lint = subprocess.run(
            [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
        )
        assert lint.returncode == 0 and lint.stdout == b"" and lint.stderr == b"", (
            lint.stdout.decode() + lint.stderr.decode()
        )
    finally:
        daemon.stop()
        sip_peer.stop()
