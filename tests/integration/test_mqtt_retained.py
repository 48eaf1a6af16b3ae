"""Every check and service has a retained MQTT state after a restart, and after a broker that
forgot everything: real SIPp, mosquitto and the daemon process on loopback.

The case issue 17 found: MQTT enabled on a daemon whose `dead` check was already
DOWN (and whose other checks had been UP all along): no state row was ever
written for them, so a newcomer subscribing to `state/#` saw nothing.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.integration.conftest import RunningPeer
from tests.integration.daemon import DaemonProcess
from tests.integration.mqttsub import Subscriber
from tests.integration.peers import free_port, mosquitto

pytestmark = pytest.mark.integration

SITE = "it"
SCHEMA = json.loads(resources.files("monitord.sinks").joinpath("schema/event-v1.json").read_text())
EXPECTED = {
    f"monitord/{SITE}/state/check/up-a": "up",
    f"monitord/{SITE}/state/check/up-b": "up",
    f"monitord/{SITE}/state/check/dead": "down",
    f"monitord/{SITE}/state/service/voice": "up",
    f"monitord/{SITE}/state/service/gone": "down",
}


def _config(sip_port: int, mqtt_port: int | None) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "daemon": {"site": SITE},
        "defaults": {"interval": "1s", "timeout": "500ms"},
        "checks": [
            {"name": "up-a", "type": "sip_options", "target": f"sip:127.0.0.1:{sip_port}"},
            {"name": "up-b", "type": "sip_options", "target": f"sip:127.0.0.1:{sip_port};transport=udp"},
            {"name": "dead", "type": "sip_options", "target": f"sip:127.0.0.1:{free_port()}"},
        ],
        "services": [{"name": "voice", "checks": ["up-a", "up-b"]},
                     {"name": "gone", "checks": ["dead"]}],
    }
    if mqtt_port is not None:
        cfg["mqtt"] = {"port": mqtt_port, "retry_initial": "100ms", "retry_max": "500ms",
                       "poll_interval": "1s"}
    return cfg


def _retained(port: int, client_id: str, timeout: float = 10.0) -> dict[str, dict[str, Any]]:
    """What a newcomer gets on subscribing to the state topics: the retained messages."""
    sub = Subscriber(port, SITE, client_id=client_id, topics=[f"monitord/{SITE}/state/#"])
    with sub:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with sub._lock:
                got = {t: b for t, b, retained in sub.messages if retained}
            if set(got) >= set(EXPECTED):
                return got
            time.sleep(0.2)
    return got


def test_every_check_and_service_has_a_retained_state_after_a_restart(
    tmp_path: Path, sipp_options: RunningPeer
) -> None:
    workdir = tmp_path / "d"
    workdir.mkdir()
    broker_port = free_port()
    daemon = DaemonProcess(workdir, free_port(), _config(sipp_options.port, None))
    daemon.start()
    try:  # without MQTT: `dead` goes down, the others stay up
        daemon.wait_for("dead down, the others up", lambda: [
            daemon.check(n)["state"] for n in ("dead", "up-a", "up-b")] == ["down", "up", "up"], 15)
    finally:
        daemon.stop()
    broker = mosquitto(broker_port, tmp_path / "mqtt")
    broker.start()
    # the same store and checks, now with MQTT
    cfg = yaml.safe_load(daemon.config_path.read_text())
    cfg["mqtt"] = _config(sipp_options.port, broker_port)["mqtt"]
    daemon.config_path.write_text(yaml.safe_dump(cfg))
    daemon.start()
    validator = jsonschema.Draft202012Validator(SCHEMA)
    try:
        for round_, client in (("after the restart", "newcomer-1"),
                               ("after a broker that lost its retained messages", "newcomer-2")):
            if client == "newcomer-2":
                broker.stop()
                for db in (tmp_path / "mqtt").glob("*.db"):
                    db.unlink()  # a broker without persistence: every retained message gone
                broker.start()
            # a newcomer arrives after the daemon (re)connected: what it gets is what is retained
            connects = 1 if client == "newcomer-1" else 2

            def connected_times(n: int = connects) -> bool:
                return sum(r.get("event") == "mqtt_connected" for r in daemon.log_records()) >= n

            daemon.wait_for("the daemon's MQTT connection", connected_times, 15)
            connected = time.monotonic()
            time.sleep(2.0)
            got = _retained(broker_port, client)
            states = {topic: body["state"] for topic, body in got.items()}
            assert states == EXPECTED, f"{round_}: {states}"
            for body in got.values():
                validator.validate(body)
            down = got[f"monitord/{SITE}/state/check/dead"]
            assert down["reason"] == "refused" and down["consecutive_failures"] >= 5
            print(f"\n[mqtt] {round_}: {len(got)} retained states (every check and service),"
                  f" subscribed {time.monotonic() - connected:.1f}s after the daemon connected")
    finally:
        daemon.stop()
        broker.stop()
