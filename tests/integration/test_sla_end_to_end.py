"""End to end: a real SIPp outage seen by the daemon, then by `monitord report` and the SLA API.

What an SLA manager checks: the report counts exactly the seconds the
downtime API shows (same store, same engine), and a maintenance window
announced through the API (refused without the token, accepted with it)
turns an outage inside it into maintenance in the next report, while the
probes kept running and the failure stayed on the record. And time nobody
watched is never up (issue 12 item 4): on a fresh store the time before the
daemon's first start is unmonitored in the report, the API and the SLO
counters, and a month before it has no availability at all.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import RunningPeer
from tests.integration.daemon import DaemonProcess
from tests.integration.peers import PeerProcess, free_port

pytestmark = pytest.mark.integration

CHECK, SERVICE, TOKEN = "pbx-options", "pbx", "integration-token-0123456789"
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def daemon(tmp_path: Path, sipp_options: RunningPeer) -> Iterator[DaemonProcess]:
    workdir = tmp_path / "daemon"
    workdir.mkdir()
    token = workdir / "api.token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    config = {
        "daemon": {"site": "it", "api_token_file": str(token)},
        "defaults": {"interval": "1s", "timeout": "500ms"},
        "checks": [{"name": CHECK, "type": "sip_options", "target": f"sip:127.0.0.1:{sipp_options.port}"}],
        "services": [{"name": SERVICE, "checks": [CHECK], "sla_policy": "monthly"}],
        "sla_policies": [{"name": "monthly", "version": "it-1", "target_percent": 99.9}],
    }
    proc = DaemonProcess(workdir, free_port(), config)
    proc.start()
    try:
        proc.wait_for("first successful probe", lambda: proc.check(CHECK)["state"] == "up", 10)
        yield proc
    finally:
        proc.stop()


def outage(daemon: DaemonProcess, peer: PeerProcess, seconds: float = 7.0) -> dict[str, Any]:
    """Stop the SIP peer until the check is DOWN and a while longer; return the service interval."""
    stopped = time.monotonic()
    peer.stop()
    daemon.wait_for("the check to go down", lambda: daemon.check(CHECK)["state"] == "down", 15)
    time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))
    peer.start()
    daemon.wait_for("the check to recover", lambda: daemon.check(CHECK)["state"] == "up", 15)
    (interval,) = daemon.get(f"/api/v1/downtimes?service={SERVICE}")
    assert interval["end"] is not None
    return dict(interval)


def report(daemon: DaemonProcess, start: str, fmt: str = "json", period: str | None = None) -> Any:
    if period is None:
        period = datetime.fromisoformat(start).astimezone(AMS).strftime("%Y-%m")
    out = subprocess.run(
        [sys.executable, "-m", "monitord", "report", "--config", str(daemon.config_path),
         "--service", SERVICE, "--period", period, "--format", fmt],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    if fmt != "json":
        return out.stdout
    (one,) = json.loads(out.stdout)  # one shape: a list, here of one report
    return one


def test_report_counts_the_seconds_the_downtime_api_shows(
    daemon: DaemonProcess, sipp_options: RunningPeer
) -> None:
    interval = outage(daemon, sipp_options.process)
    rep = report(daemon, interval["start"])
    print(
        f"\nservice interval {interval['start']} .. {interval['end']} = {interval['duration_seconds']} s;"
        f" report downtime {rep['downtime_seconds']} s, availability {rep['availability_percent']} %"
    )
    assert interval["duration_seconds"] > 3
    assert rep["downtime_seconds"] == interval["duration_seconds"]
    (down,) = [i for i in rep["intervals"] if i["kind"] == "downtime"]
    assert (down["start"], down["end"]) == (interval["start"], interval["end"])
    assert down["counted_seconds"] == interval["duration_seconds"] and down["reason"]
    assert rep["policy_version"] == "it-1" and rep["interruptions"] == 1
    api = daemon.get(f"/api/v1/availability?service={SERVICE}&period={rep['period']}")
    assert api["downtime_seconds"] == rep["downtime_seconds"]
    # The month is still running, so the API (asked a moment later) measures a
    # little more time: each availability must follow from its own figures.
    for figures in (rep, api):
        measured, down_s = figures["measured_seconds"], figures["downtime_seconds"]
        expected = 100 * (measured - down_s) / measured
        assert figures["availability_percent"] == pytest.approx(expected, abs=1e-9)
    assert api["measured_seconds"] >= rep["measured_seconds"]
    assert "<svg" in report(daemon, interval["start"], "html")


def test_maintenance_window_from_the_api_is_honoured_by_the_next_report(
    daemon: DaemonProcess, sipp_options: RunningPeer
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "service": SERVICE,
        "start": (now - timedelta(seconds=30)).isoformat(),
        "end": (now + timedelta(minutes=10)).isoformat(),
        "kind": "urgent",
        "reason": "SBC swap",
    }
    status, err = daemon.post("/api/v1/maintenance", body)
    assert status == 401, err
    status, err = daemon.post("/api/v1/maintenance", body, "wrong-token")
    assert status == 401, err
    status, made = daemon.post("/api/v1/maintenance", body, TOKEN)
    assert status == 201, made
    assert daemon.get("/api/v1/maintenance")[0]["id"] == made["id"]
    metrics = daemon.get("/metrics")
    assert f'monitord_maintenance_active{{service="{SERVICE}",site="it"}} 1.0' in metrics

    interval = outage(daemon, sipp_options.process)  # inside the window: probes ran, the failure is recorded
    rep = report(daemon, interval["start"])
    print(
        f"\nwindow {body['start']} .. {body['end']}; outage {interval['start']} .. {interval['end']}"
        f" ({interval['duration_seconds']} s); report downtime {rep['downtime_seconds']} s,"
        f" maintenance {rep['maintenance_seconds']} s"
    )
    assert rep["downtime_seconds"] == 0
    # the window opened before the daemon's first start: every watched second was
    # maintenance, the rest of the month nobody watched, so there is no figure at all
    assert rep["availability_percent"] is None and rep["coverage_percent"] == 0
    assert rep["maintenance_seconds"] > interval["duration_seconds"]
    (down,) = [i for i in rep["intervals"] if i["kind"] == "downtime"]
    assert down["seconds"] == interval["duration_seconds"] and down["counted_seconds"] == 0
    (maint,) = [i for i in rep["intervals"] if i["kind"] == "maintenance"]
    assert maint["reason"] == f"api-{made['id']} (urgent)"


def _first_start(daemon: DaemonProcess) -> datetime:
    """The first run's start, as the store recorded it (read-only, next to the live daemon)."""
    db = daemon.workdir / "monitord.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (start_us,) = conn.execute("SELECT min(start_us) FROM runs").fetchone()
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=start_us)


def test_time_before_the_first_start_is_unmonitored_everywhere(daemon: DaemonProcess) -> None:
    time.sleep(2.0)  # a few probes on the record
    now = datetime.now(UTC)
    first = _first_start(daemon)
    assert now - timedelta(seconds=60) < first < now
    local = now.astimezone(AMS)
    month_start = datetime(local.year, local.month, 1, tzinfo=AMS).astimezone(UTC)
    before = (first - month_start).total_seconds()

    rep = report(daemon, now.isoformat())
    print(
        f"\nfresh store, first start {first.isoformat()}: report {rep['period']} unmonitored"
        f" {rep['unmonitored_seconds']} s (before the first start {before} s), measured"
        f" {rep['measured_seconds']} s, coverage {rep['coverage_percent']} %,"
        f" availability {rep['availability_percent']}, verdict {rep['verdict']}"
    )
    assert rep["unmonitored_seconds"] == round(before, 6)
    (gap,) = [i for i in rep["intervals"] if i["kind"] == "unmonitored"]
    assert (gap["start"], gap["end"], gap["reason"]) == (
        month_start.isoformat(), first.isoformat(), "before_first_start"
    )
    assert 0 < rep["measured_seconds"] < 120 and rep["coverage_percent"] < 100
    assert rep["verdict"] == "undetermined" and rep["met"] is None

    old = report(daemon, now.isoformat(), period="2025-01")
    assert old["complete"] is True and old["coverage_percent"] == 0
    assert old["availability_percent"] is None and old["verdict"] == "undetermined"
    assert old["unmonitored_seconds"] == old["period_seconds"]

    api = daemon.get(f"/api/v1/availability?service={SERVICE}")
    assert api["unmonitored_seconds"] == rep["unmonitored_seconds"]
    assert api["measured_seconds"] >= rep["measured_seconds"] and api["verdict"] == "undetermined"

    counters = {
        line.split("{")[0]: float(line.rsplit(" ", 1)[1])
        for line in daemon.get("/metrics").splitlines()
        if line.startswith(("monitord_service_good_seconds_total{", "monitord_service_measured_seconds_total{"))
        and f'service="{SERVICE}"' in line
    }
    print(f"SLO counters on a fresh store: {counters}")
    uptime = (datetime.now(UTC) - first).total_seconds()
    assert 0 <= counters["monitord_service_measured_seconds_total"] <= uptime
    assert counters["monitord_service_good_seconds_total"] <= uptime
