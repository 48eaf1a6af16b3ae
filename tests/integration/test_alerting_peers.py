"""Alerts and events reach real Alertmanager, mosquitto and Prometheus on loopback.

What on-call and the event consumers would check: a SIPp outage pages with
the right labels and a startsAt at the first failed probe, also when
Alertmanager was down meanwhile; every MQTT event arrives in order with no gap
in `seq`, across a broker restart and a daemon SIGKILL; Prometheus' rules on
our metrics go pending then firing. The delay from the 3rd failed probe to
the webhook is printed (run with -s to see it).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.integration.conftest import RunningPeer
from tests.integration.daemon import DaemonProcess
from tests.integration.mqttsub import Subscriber
from tests.integration.peers import (
    PeerProcess,
    alertmanager,
    free_port,
    mosquitto,
    prometheus,
)
from tests.integration.webhook import Webhook

pytestmark = pytest.mark.integration

CHECK, SERVICE, SITE = "pbx-options", "pbx", "it"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCHEMA = json.loads(resources.files("monitord.sinks").joinpath("schema/event-v1.json").read_text())


def _config(sip_port: int, **sections: Any) -> dict[str, Any]:
    return {
        "daemon": {"site": SITE},
        "defaults": {"interval": "1s", "timeout": "500ms"},
        "checks": [{"name": CHECK, "type": "sip_options", "target": f"sip:127.0.0.1:{sip_port}"}],
        "services": [{"name": SERVICE, "checks": [CHECK]}],
        **sections,
    }


def _ts(value: str) -> datetime:
    # Go prints up to 9 fractional digits; Python keeps 6
    head, _, frac = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")


def _transitions(daemon: DaemonProcess) -> list[dict[str, Any]]:
    return [r for r in daemon.log_records() if r.get("event") == "check_transition"]


def _state(daemon: DaemonProcess) -> str:
    return str(daemon.check(CHECK)["state"])


def _probed_up(daemon: DaemonProcess) -> bool:
    c = daemon.check(CHECK)
    return c["state"] == "up" and c["last_result"] is not None and c["last_result"]["ok"]


async def _wait(what: str, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _am_section(url: str) -> dict[str, Any]:
    return {"alertmanager": {"urls": [url], "resend_interval": "2s", "retry_initial": "200ms",
                             "retry_max": "1s"}}


async def _alertmanager_outage(tmp_path: Path, webhook: Webhook, sipp_options: RunningPeer,
                               am_down_during_outage: bool) -> None:
    sip_port, sip_peer = sipp_options.port, sipp_options.process
    am_port = free_port()
    am = alertmanager(am_port, tmp_path / "am", webhook.url)
    if not am_down_during_outage:
        await asyncio.to_thread(am.start)
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(),
                           _config(sip_port, **_am_section(f"http://127.0.0.1:{am_port}")))
    await asyncio.to_thread(daemon.start)
    try:
        await _wait("a successful probe", lambda: _probed_up(daemon), 10)
        await asyncio.to_thread(sip_peer.stop)
        if am_down_during_outage:
            await _wait("the check to go down", lambda: _state(daemon) == "down", 15)
            await asyncio.sleep(1.5)  # a few failed POSTs and backoffs
            await asyncio.to_thread(am.start)
        await _wait("firing check alert", lambda: webhook.find("MonitordCheckAlerting", "firing") is not None, 20)
        await _wait("firing service alert", lambda: webhook.find("MonitordServiceDown", "firing") is not None, 20)
        await asyncio.to_thread(sip_peer.start)
        await _wait("resolved check alert", lambda: webhook.find("MonitordCheckAlerting", "resolved") is not None, 20)
        await _wait("resolved service alert", lambda: webhook.find("MonitordServiceDown", "resolved") is not None, 20)

        steps = await asyncio.to_thread(_transitions, daemon)
        assert [(s["from_state"], s["to_state"]) for s in steps][:2] == [("up", "failing"), ("failing", "alerting")]
        first_failure = datetime.fromisoformat(steps[0]["at"])
        third_failure = datetime.fromisoformat(steps[1]["at"])
        recovered = datetime.fromisoformat(steps[-1]["at"])
        got_at, fired = webhook.find("MonitordCheckAlerting", "firing")  # type: ignore[misc]
        assert fired["labels"] == {"alertname": "MonitordCheckAlerting", "check": CHECK,
                                   "service": SERVICE, "site": SITE, "severity": "warning",
                                   "priority": "P2"}
        assert _ts(fired["startsAt"]) == first_failure
        assert fired["annotations"]["reason"] == "refused" and fired["annotations"]["since"]
        _, svc = webhook.find("MonitordServiceDown", "firing")  # type: ignore[misc]
        assert svc["labels"] == {"alertname": "MonitordServiceDown", "service": SERVICE,
                                 "site": SITE, "severity": "critical", "priority": "P1"}
        assert _ts(svc["startsAt"]) == first_failure
        _, resolved = webhook.find("MonitordCheckAlerting", "resolved")  # type: ignore[misc]
        assert _ts(resolved["endsAt"]) == recovered
        delay = got_at - third_failure.timestamp()
        label = "AM restarted" if am_down_during_outage else "AM up"
        print(f"\n[{label}] 3rd failed probe {third_failure.isoformat()} -> webhook "
              f"{datetime.fromtimestamp(got_at, UTC).isoformat()}: {delay * 1000:.0f} ms")
        if not am_down_during_outage:
            assert delay < 3.0, f"alert took {delay:.2f}s to reach the webhook"
    finally:
        await asyncio.to_thread(daemon.stop)
        await asyncio.to_thread(am.stop)


async def test_sipp_outage_fires_then_resolves_through_alertmanager(
    tmp_path: Path, webhook: Webhook, sipp_options: RunningPeer
) -> None:
    await _alertmanager_outage(tmp_path, webhook, sipp_options, am_down_during_outage=False)


async def test_alertmanager_down_during_the_outage_still_gets_the_alert(
    tmp_path: Path, webhook: Webhook, sipp_options: RunningPeer
) -> None:
    await _alertmanager_outage(tmp_path, webhook, sipp_options, am_down_during_outage=True)


# --- MQTT -----------------------------------------------------------------------------


def _assert_complete_and_ordered(sub: Subscriber) -> list[dict[str, Any]]:
    """The outbox's messages: complete and in order (restated states repeat, they are not news)."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for body in sub.unique():
        validator.validate(body)
    bodies = [b for b in sub.unique() if not b.get("restated")]
    seqs = [b["seq"] for b in bodies]
    assert seqs == sorted(seqs), f"out of order: {seqs}"
    assert seqs == list(range(1, len(seqs) + 1)), f"gap in seq: {seqs}"
    return bodies


def _mqtt_section(port: int) -> dict[str, Any]:
    return {"mqtt": {"port": port, "retry_initial": "100ms", "retry_max": "500ms",
                     "publish_timeout": "2s", "poll_interval": "1s"}}


OUTAGE_EVENTS = ["alert_raised", "downtime_opened", "service_downtime_opened",
                 "downtime_closed", "alert_resolved", "service_downtime_closed"]


async def test_mqtt_every_event_in_order_across_a_broker_restart(tmp_path: Path, sipp_options: RunningPeer) -> None:
    sip_port, sip_peer = sipp_options.port, sipp_options.process
    broker_port = free_port()
    broker = mosquitto(broker_port, tmp_path / "mqtt")
    await asyncio.to_thread(broker.start)
    sub = Subscriber(broker_port, SITE, persistent=True)
    sub.start()
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(), _config(sip_port, **_mqtt_section(broker_port)))
    await asyncio.to_thread(daemon.start)
    try:
        await _wait("a successful probe", lambda: _probed_up(daemon), 10)
        await asyncio.to_thread(sip_peer.stop)
        await _wait("alert_raised on MQTT", lambda: "alert_raised" in sub.kinds(), 15)
        await asyncio.to_thread(broker.stop)  # mid-outage: downtime opens while it is away
        await _wait("the check to go down", lambda: _state(daemon) == "down", 15)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(broker.start)
        await asyncio.to_thread(sip_peer.start)
        await _wait("recovery on MQTT", lambda: "service_downtime_closed" in sub.kinds(), 20)
        bodies = _assert_complete_and_ordered(sub)
        assert sub.kinds() == OUTAGE_EVENTS
        states = [(b["check"], b["state"]) for b in bodies if b["kind"] == "check_state"]
        assert states == [(CHECK, s) for s in ("failing", "alerting", "down", "up")]
        retained = {t for t, _, r in sub.messages if r}
        assert retained <= {f"monitord/{SITE}/state/check/{CHECK}",
                            f"monitord/{SITE}/state/service/{SERVICE}", f"monitord/{SITE}/status"}
        print(f"\n[mqtt] {len(bodies)} unique messages, {len(sub.messages)} received (duplicates are allowed)")
    finally:
        await asyncio.to_thread(daemon.stop)
        sub.stop()
        await asyncio.to_thread(broker.stop)


async def test_mqtt_events_of_a_sigkilled_daemon_are_sent_after_restart(tmp_path: Path, sipp_options: RunningPeer) -> None:
    sip_port, sip_peer = sipp_options.port, sipp_options.process
    broker_port = free_port()
    broker = mosquitto(broker_port, tmp_path / "mqtt")  # not running: nothing can drain
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(), _config(sip_port, **_mqtt_section(broker_port)))
    await asyncio.to_thread(daemon.start)
    sub: Subscriber | None = None
    try:
        await _wait("a successful probe", lambda: _probed_up(daemon), 10)
        await asyncio.to_thread(sip_peer.stop)
        await _wait("the check to go down", lambda: _state(daemon) == "down", 15)
        await asyncio.to_thread(daemon.stop, signal.SIGKILL)
        await asyncio.to_thread(broker.start)
        sub = Subscriber(broker_port, SITE, persistent=True)
        sub.start()
        await asyncio.to_thread(daemon.start)
        await _wait("the outbox of the killed run", lambda: "service_downtime_opened" in sub.kinds(), 15)
        await asyncio.to_thread(sip_peer.start)
        await _wait("recovery on MQTT", lambda: "service_downtime_closed" in sub.kinds(), 20)
        _assert_complete_and_ordered(sub)
        assert sub.kinds() == OUTAGE_EVENTS
    finally:
        await asyncio.to_thread(daemon.stop)
        if sub is not None:
            sub.stop()
        await asyncio.to_thread(broker.stop)


# --- Prometheus -------------------------------------------------------------------------


def _alert_states(port: int, name: str) -> set[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=2) as resp:
        alerts = json.loads(resp.read())["data"]["alerts"]
    return {a["state"] for a in alerts if a["labels"]["alertname"] == name}


async def test_prometheus_rules_go_pending_then_firing(tmp_path: Path) -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus/rules/monitord.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "3s"  # the deployed rules, with a test-sized `for`
    (tmp_path / "prom").mkdir()
    rules_path = tmp_path / "prom" / "rules.yml"
    rules_path.write_text(yaml.safe_dump(rules))
    dead = free_port()  # nothing listens: refused at once
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(), _config(dead))
    await asyncio.to_thread(daemon.start)
    prom_port = free_port()
    prom: PeerProcess = prometheus(prom_port, tmp_path / "prom", daemon.port, rules_path)
    await asyncio.to_thread(prom.start)
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and "firing" not in seen:
            for state in await asyncio.to_thread(_alert_states, prom_port, "MonitordServiceUnavailable"):
                if not seen or seen[-1] != state:
                    seen.append(state)
            await asyncio.sleep(0.25)
        assert seen == ["pending", "firing"], f"{seen}\n{prom.log_tail()}"
    finally:
        await asyncio.to_thread(prom.stop)
        await asyncio.to_thread(daemon.stop)
