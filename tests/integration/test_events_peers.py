"""Standalone events and a secured broker, end to end: real snmpd, mosquitto and `monitord run`.

- A restarted snmpd between two polls reaches MQTT as a `reboot` event.
- mosquitto with a password file (mosquitto_passwd) and TLS (a CA and server
  certificate made here with `cryptography`): the daemon publishes with
  `username`/`password_file` and `tls.ca_file`; a maintenance window running
  at start-up arrives as `maintenance_started`.
- A wrong password is a clear, repeated log line and a healthy daemon, never
  a crash, and the password appears nowhere; once the broker accepts it the
  waiting events are delivered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.integration.daemon import DaemonProcess
from tests.integration.mqttsub import Subscriber
from tests.integration.peers import (
    PeerProcess,
    _tcp_ready,
    free_port,
    mosquitto,
    require_binary,
    snmpd_target,
)
from tests.integration.tlspki import ScratchCa

pytestmark = pytest.mark.integration

SITE = "it"
SCHEMA = json.loads(resources.files("monitord.sinks").joinpath("schema/event-v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
MQTT_PASSWORD = "broker-pass-7f3a"  # a test broker's throw-away secret


def secure_mosquitto(port: int, workdir: Path, *, users: dict[str, str],
                     tls: tuple[Path, Path] | None) -> PeerProcess:
    """mosquitto on 127.0.0.1:port requiring a password (and TLS when `tls` = (cert, key))."""
    binary = require_binary("mosquitto")
    passwd_tool = require_binary("mosquitto_passwd")
    workdir.mkdir(parents=True, exist_ok=True)
    passwd = workdir / "passwd"
    write_users(passwd_tool, passwd, users)
    lines = [
        "user root" if os.geteuid() == 0 else "",  # as root it would drop to `mosquitto`
        "per_listener_settings false",
        f"listener {port} 127.0.0.1",
        "allow_anonymous false",
        f"password_file {passwd}",
        "persistence false",
        "log_dest stderr",
        "log_type error", "log_type warning", "log_type notice",
    ]
    if tls is not None:
        cert, key = tls
        lines += [f"cafile {cert.parent / 'ca.pem'}", f"certfile {cert}", f"keyfile {key}",
                  "tls_version tlsv1.2"]
    (workdir / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    return PeerProcess([binary, "-c", str(workdir / "mosquitto.conf")], name=f"mosquitto-{port}",
                       cwd=str(workdir), ready=_tcp_ready(port))


def write_users(tool: str, passwd: Path, users: dict[str, str]) -> None:
    passwd.unlink(missing_ok=True)
    passwd.touch(mode=0o600)
    for user, password in users.items():
        subprocess.run([tool, "-b", str(passwd), user, password], check=True, capture_output=True)


def _mqtt(port: int, **extra: Any) -> dict[str, Any]:
    return {"port": port, "retry_initial": "100ms", "retry_max": "500ms", "publish_timeout": "2s",
            "poll_interval": "1s", **extra}


def _config(tmp_path: Path, snmp_port: int, interval: str, mqtt: dict[str, Any],
            **sections: Any) -> dict[str, Any]:
    target = snmpd_target(snmp_port, tmp_path)
    return {
        "daemon": {"site": SITE},
        "defaults": {"interval": interval, "timeout": "1s"},
        "checks": [{"name": "pbx-up", "type": "snmp_up", "retries": 0, "target": target}],
        "services": [{"name": "pbx", "checks": ["pbx-up"]}],
        "mqtt": mqtt,
        **sections,
    }


def _uptime(daemon: DaemonProcess) -> float:
    last = daemon.check("pbx-up")["last_result"]
    return float(last["measurements"].get("snmp_uptime_seconds", 0.0)) if last else 0.0


def test_a_restarted_agent_is_a_reboot_event_on_mqtt(
    own_snmpd: tuple[PeerProcess, int], tmp_path: Path
) -> None:
    agent_proc, snmp_port = own_snmpd
    broker_port = free_port()
    broker = mosquitto(broker_port, tmp_path / "mqtt")
    broker.start()
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(),
                           _config(tmp_path, snmp_port, "2s", _mqtt(broker_port)))
    try:
        with Subscriber(broker_port, SITE, client_id="it-events") as sub:
            daemon.start()
            daemon.wait_for("an uptime of 4 s", lambda: _uptime(daemon) >= 4.0, 20)
            restarted = datetime.now(UTC)
            agent_proc.stop()
            agent_proc.start()  # between two polls: its sysUpTime starts again near 0
            daemon.wait_for("the reboot on MQTT", lambda: bool(sub.events("reboot")), 15)
            [event] = sub.events("reboot")
            print("reboot event:", event)
            VALIDATOR.validate(event)
            assert event["check"] == "pbx-up" and event["device"] == f"127.0.0.1:{snmp_port}"
            assert event["uptime_seconds"] < event["previous_uptime_seconds"]
            booted = datetime.fromisoformat(event["booted_at"])
            assert restarted - timedelta(seconds=2) <= booted <= datetime.now(UTC)
            assert daemon.get("/api/v1/downtimes?check=pbx-up") == []  # an event, not a failure
    finally:
        daemon.stop()
        broker.stop()


def _window_now() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"windows": [{"name": "sbc-upgrade", "services": ["pbx"], "kind": "regular",
                         "start": (now - timedelta(minutes=1)).isoformat(),
                         "end": (now + timedelta(minutes=30)).isoformat(),
                         "announced_at": (now - timedelta(days=20)).isoformat()}]}


def test_tls_and_password_against_a_secured_broker(
    own_snmpd: tuple[PeerProcess, int], tmp_path: Path
) -> None:
    _, snmp_port = own_snmpd
    pki = tmp_path / "pki"
    pki.mkdir()
    ca = ScratchCa(pki)
    server = ca.issue("broker", ["localhost"])
    broker_port = free_port()
    broker = secure_mosquitto(broker_port, tmp_path / "mqtt", users={"monitord": MQTT_PASSWORD,
                              "reader": "reader-pass"}, tls=server)
    broker.start()
    secret = tmp_path / "mqtt.pass"
    secret.write_text(MQTT_PASSWORD + "\n")
    secret.chmod(0o600)
    mqtt = _mqtt(broker_port, host="127.0.0.1", username="monitord", password_file=str(secret),
                 tls={"ca_file": str(ca.ca_file)})
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(),
                           _config(tmp_path, snmp_port, "1s", mqtt, maintenance=_window_now()))
    try:
        with Subscriber(broker_port, SITE, client_id="it-events", auth=("reader", "reader-pass"), ca=ca.ca_file) as sub:
            daemon.start()
            daemon.wait_for("online over TLS", lambda: sub.has("status", "online"), 15)
            daemon.wait_for("maintenance_started", lambda: bool(sub.events("maintenance_started")), 15)
            [event] = sub.events("maintenance_started")
            VALIDATOR.validate(event)
            assert (event["service"], event["window"]) == ("pbx", "sbc-upgrade")
        assert any(r.get("event") == "mqtt_connected" for r in daemon.log_records())
        assert MQTT_PASSWORD not in daemon.log_path.read_text()
    finally:
        daemon.stop()
        broker.stop()


def test_a_wrong_password_is_logged_and_retried_then_delivered(
    own_snmpd: tuple[PeerProcess, int], tmp_path: Path
) -> None:
    _, snmp_port = own_snmpd
    broker_port = free_port()
    broker_dir = tmp_path / "mqtt"
    broker = secure_mosquitto(broker_port, broker_dir, users={"monitord": "the-right-one",
                              "reader": "reader-pass"}, tls=None)
    broker.start()
    secret = tmp_path / "mqtt.pass"
    secret.write_text(MQTT_PASSWORD)  # not what the broker has
    secret.chmod(0o600)
    mqtt = _mqtt(broker_port, username="monitord", password_file=str(secret))
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(),
                           _config(tmp_path, snmp_port, "1s", mqtt, maintenance=_window_now()))
    try:
        daemon.start()

        def refusals() -> list[dict[str, Any]]:
            return [r for r in daemon.log_records() if r.get("event") == "mqtt_auth_refused"]

        daemon.wait_for("three refused attempts", lambda: len(refusals()) >= 3, 15)
        first = refusals()[0]
        print("refused:", first)
        assert "password" in first["problem"].lower() or "authori" in first["problem"].lower()
        assert "mqtt.username" in first["hint"] and first["retry_in"] > 0
        assert daemon.get("/healthz")["status"] == "ok"  # probing goes on, events wait
        assert daemon.proc is not None and daemon.proc.poll() is None
        # the broker now accepts the daemon's password: the waiting event goes out
        write_users(require_binary("mosquitto_passwd"), broker_dir / "passwd",
                    {"monitord": MQTT_PASSWORD, "reader": "reader-pass"})
        assert broker.pid is not None
        os.kill(broker.pid, signal.SIGHUP)  # mosquitto re-reads its password file
        with Subscriber(broker_port, SITE, client_id="it-events", auth=("reader", "reader-pass")) as sub:
            daemon.wait_for("maintenance_started after the fix",
                            lambda: bool(sub.events("maintenance_started")), 15)
        assert MQTT_PASSWORD not in daemon.log_path.read_text()
    finally:
        daemon.stop()
        broker.stop()


def test_tls_with_an_unknown_ca_is_refused_clearly(tmp_path: Path) -> None:
    """The daemon's CA does not sign the broker: a TLS error in the log, retried, no crash."""
    pki, other = tmp_path / "pki", tmp_path / "other"
    pki.mkdir()
    other.mkdir()
    server = ScratchCa(pki).issue("broker", ["localhost"])
    stranger = ScratchCa(other)
    broker_port = free_port()
    broker = secure_mosquitto(broker_port, tmp_path / "mqtt", users={"monitord": MQTT_PASSWORD},
                              tls=server)
    broker.start()
    secret = tmp_path / "mqtt.pass"
    secret.write_text(MQTT_PASSWORD)
    secret.chmod(0o600)
    mqtt = _mqtt(broker_port, username="monitord", password_file=str(secret),
                 tls={"ca_file": str(stranger.ca_file)})
    (tmp_path / "d").mkdir()
    cfg = _config(tmp_path, free_port(), "1s", mqtt)
    daemon = DaemonProcess(tmp_path / "d", free_port(), cfg)
    try:
        daemon.start()

        def failures() -> list[dict[str, Any]]:
            return [r for r in daemon.log_records() if r.get("event") == "mqtt_unavailable"]

        daemon.wait_for("two TLS failures", lambda: len(failures()) >= 2, 15)
        problem = failures()[0]["problem"]
        print("tls:", problem)
        assert "certificate" in problem.lower() or "ssl" in problem.lower()
        assert daemon.get("/healthz")["status"] == "ok"
        assert MQTT_PASSWORD not in daemon.log_path.read_text()
    finally:
        daemon.stop()
        broker.stop()
