"""The SLA record survives bad luck: a full disk during an outage, a second instance.

Real daemon processes, real SIPp, a real mosquitto, and a real 2 MiB tmpfs
(mounted by the test, so it needs root: the missing-peer policy applies).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RunningPeer
from tests.integration.daemon import DaemonProcess
from tests.integration.mqttsub import Subscriber
from tests.integration.peers import free_port, mosquitto
from tests.needs import missing

pytestmark = pytest.mark.integration

SITE = "it"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of our own, unmounted after the test."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        missing("mounting a tmpfs (the test must run as root)", "sudo -E ./scripts/test.sh")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        missing(f"mounting a tmpfs ({proc.stderr.strip()})", "run the tests as root on Linux")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(directory: Path) -> Path:
    """Write zeros until the file system is full; return the filler (delete it to free)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                continue
    finally:
        os.close(fd)
    return filler


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def config(target: str, **daemon: Any) -> dict[str, Any]:
    return {
        "daemon": {"site": SITE, **daemon},
        "defaults": {"interval": "1s", "timeout": "500ms"},
        "checks": [{"name": "sbc", "type": "sip_options", "target": target}],
        "services": [{"name": "voice", "checks": ["sbc"]}],
    }


def test_disk_full_during_an_outage_keeps_its_true_start_and_end(
    tmp_path: Path, tmpfs: Path, sipp_options: RunningPeer
) -> None:
    d = DaemonProcess(tmp_path, free_port(), config(sipp_options.uri,
                                                    storage=str(tmpfs / "monitord.db")))
    d.start()
    try:
        d.wait_for("sbc up", lambda: d.check("sbc")["last_probe"] is not None, 10)
        assert d.proc is not None
        rss_before = rss_kib(d.proc.pid)
        filler = fill(tmpfs)
        sipp_options.process.stop()
        stopped = time.time()
        d.wait_for("sbc down in memory", lambda: d.check("sbc")["state"] == "down", 15)
        d.wait_for("the record failing", lambda: d.healthz()["problems"].get("record"), 15)
        time.sleep(max(0.0, stopped + 12 - time.time()))  # a 12-probe outage
        sipp_options.process.start()
        restarted = time.time()
        d.wait_for("sbc up again in memory", lambda: d.check("sbc")["state"] == "up", 10)
        time.sleep(3)  # the store still full after the recovery
        assert d.healthz()["status"] == "unhealthy"
        rss_after = rss_kib(d.proc.pid)
        filler.unlink()
        d.wait_for("the backlog written", lambda: d.healthz()["status"] == "ok", 15)
        checks = d.get("/api/v1/downtimes?check=sbc")
        services = d.get("/api/v1/downtimes?service=voice")
    finally:
        d.stop()
    assert len(checks) == 1, checks
    (interval,) = checks
    start, end = ts(interval["start"]), ts(interval["end"])
    print(f"\nstopped {stopped:.3f} restarted {restarted:.3f}; interval {start} .. {end};"
          f" RSS {rss_before} -> {rss_after} KiB")
    assert stopped <= start.timestamp() <= stopped + 1.5, "starts at the first failed probe"
    assert restarted <= end.timestamp() <= restarted + 1.5, (
        "ends at the first success after the peer came back, not when space returned")
    assert [(s["start"], s["end"]) for s in services] == [(interval["start"], interval["end"])]
    assert rss_after - rss_before < 20_000, "the backlog is bounded, not the probe history"


def test_a_second_instance_exits_naming_the_first_and_changes_nothing(
    tmp_path: Path, sipp_options: RunningPeer
) -> None:
    broker_port = free_port()
    broker = mosquitto(broker_port, tmp_path / "mqtt")
    broker.start()
    cfg = {**config(sipp_options.uri), "mqtt": {"port": broker_port, "retry_initial": "100ms",
                                                 "retry_max": "500ms", "poll_interval": "1s"}}
    live = DaemonProcess(tmp_path, free_port(), cfg)
    live.start()
    try:
        with Subscriber(broker_port, SITE, client_id="it-watcher") as sub:
            live.wait_for("online", lambda: sub.last("status") == "online", 10)
            gaps, runs = live.get("/api/v1/gaps"), live.log_records()
            second = subprocess.run(
                [sys.executable, "-m", "monitord", "run", "--config", str(live.config_path)],
                capture_output=True, text=True, timeout=30, cwd=tmp_path,
            )
            assert second.returncode != 0
            assert live.proc is not None
            assert f"pid {live.proc.pid}" in second.stderr, second.stderr
            assert "Traceback" not in second.stderr
            assert live.get("/api/v1/gaps") == gaps, "no gap written into the live store"
            assert live.healthz()["status"] == "ok"
            # the live daemon keeps its MQTT session: news still flows, still online
            sipp_options.process.stop()
            live.wait_for("alert over MQTT", lambda: bool(sub.events("alert_raised")), 15)
            sipp_options.process.start()
            assert sub.last("status") == "online"
            assert not any(r.get("event") == "mqtt_auth_refused" for r in live.log_records())
            assert len(live.log_records()) >= len(runs)
    finally:
        live.stop()
        broker.stop()
