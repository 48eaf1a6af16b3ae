"""Maintenance pages no one: real SIPp, monitord, Prometheus (deploy's rules), Alertmanager and a
webhook receiver on loopback.

A window is announced through the API, then the service goes down inside it:
- monitord creates one Alertmanager silence (site, service) as the window starts;
- an alert sent straight to Alertmanager with those labels is suppressed by it;
- restarting monitord, then Alertmanager, mid-window leaves exactly one silence;
- nothing reaches the receiver while the window runs: not monitord's own alerts
  (held back) nor Prometheus' MonitordServiceUnavailable (`unless ... maintenance`);
- when the window ends the silence is expired, and the outage (still going)
  pages at once: the quiet was the window's doing, not a broken path;
- a window withdrawn through the API has its silence expired at once.
Timings are printed (run with -s).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import RunningPeer
from tests.integration.daemon import DaemonProcess
from tests.integration.peers import alertmanager, free_port, prometheus
from tests.integration.webhook import Webhook

pytestmark = pytest.mark.integration

CHECK, SERVICE, SITE, TOKEN = "pbx-options", "pbx", "it", "integration-token-0123456789"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
WINDOW = 40.0  # seconds: long enough for both restarts below


def _http(method: str, url: str, body: Any = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=5) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def _ours(am_port: int) -> list[dict[str, Any]]:
    """monitord's silences in Alertmanager that are active (or about to be)."""
    silences = _http("GET", f"http://127.0.0.1:{am_port}/api/v2/silences")
    return [s for s in silences if s["createdBy"] == "monitord"
            and s["status"]["state"] in ("active", "pending")]


async def _wait(what: str, predicate: Any, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await asyncio.to_thread(predicate):
            return time.monotonic() - start
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _rules(tmp_path: Path) -> Path:
    """deploy's rules, MonitordServiceUnavailable's `for` cut to 3s so it would fire in the test."""
    rules = yaml.safe_load((DEPLOY / "prometheus/rules/monitord.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "MonitordServiceUnavailable":
                rule["for"] = "3s"
    path = tmp_path / "prom-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


def _prom_alerts(port: int) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = _http("GET", f"http://127.0.0.1:{port}/api/v1/alerts")["data"]["alerts"]
    return alerts


async def test_a_service_down_inside_a_window_pages_no_one(
    tmp_path: Path, webhook: Webhook, sipp_options: RunningPeer
) -> None:
    am_port, prom_port = free_port(), free_port()
    am = alertmanager(am_port, tmp_path / "am", webhook.url)
    await asyncio.to_thread(am.start)
    workdir = tmp_path / "d"
    workdir.mkdir()
    token = workdir / "api.token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    daemon = DaemonProcess(workdir, free_port(), {
        "daemon": {"site": SITE, "api_token_file": str(token)},
        "defaults": {"interval": "1s", "timeout": "500ms"},
        "checks": [{"name": CHECK, "type": "sip_options",
                    "target": f"sip:127.0.0.1:{sipp_options.port}"}],
        "services": [{"name": SERVICE, "checks": [CHECK]}],
        "alertmanager": {"urls": [f"http://127.0.0.1:{am_port}"], "resend_interval": "2s",
                         "retry_initial": "200ms", "retry_max": "1s"},
    })
    await asyncio.to_thread(daemon.start)
    prom = prometheus(prom_port, tmp_path / "prom", daemon.port, _rules(tmp_path), am_port)
    await asyncio.to_thread(prom.start)
    api = f"http://127.0.0.1:{daemon.port}"
    try:
        await _wait("a successful probe", lambda: daemon.check(CHECK)["state"] == "up", 10)
        now = datetime.now(UTC)
        window = await asyncio.to_thread(
            _http, "POST", f"{api}/api/v1/maintenance",
            {"service": SERVICE, "start": now.isoformat(),
             "end": (now + timedelta(seconds=WINDOW)).isoformat()}, TOKEN)
        ends = datetime.fromisoformat(window["end"])
        took = await _wait("monitord's silence", lambda: len(_ours(am_port)) == 1, 10)
        (silence,) = await asyncio.to_thread(_ours, am_port)
        assert {(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]} == {
            ("site", SITE, False), ("service", SERVICE, False)}
        assert f"[monitord-maintenance {SITE}/{SERVICE}/" in silence["comment"]
        silence_ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
        assert ends <= silence_ends < ends + timedelta(milliseconds=1)  # AM keeps milliseconds
        print(f"\n[silence] created {took:.2f}s after the window was added: {silence['id']}")

        # the outage, inside the window
        await asyncio.to_thread(sipp_options.process.stop)
        await _wait("the service to go down",
                    lambda: daemon.get("/api/v1/services")[0]["state"] == "down", 15)
        # anything Alertmanager gets about this site and service is silenced
        probe = {"labels": {"alertname": "MaintenanceProbe", "site": SITE, "service": SERVICE,
                            "severity": "critical"},
                 "startsAt": datetime.now(UTC).isoformat()}
        await asyncio.to_thread(_http, "POST", f"http://127.0.0.1:{am_port}/api/v2/alerts", [probe])

        def probe_state() -> dict[str, Any]:
            alerts = _http("GET", f"http://127.0.0.1:{am_port}/api/v2/alerts")
            (found,) = [a for a in alerts if a["labels"]["alertname"] == "MaintenanceProbe"]
            return dict(found["status"])

        await _wait("the probe alert to be processed", lambda: probe_state()["state"] != "unprocessed", 5)
        assert probe_state() == {"state": "suppressed", "silencedBy": [silence["id"]],
                                 "inhibitedBy": []}

        # restarts on either side: still exactly one silence
        await asyncio.to_thread(daemon.stop)
        await asyncio.to_thread(daemon.start)
        await _wait("the restarted daemon's probes",
                    lambda: daemon.get("/api/v1/services")[0]["state"] == "down", 15)
        await asyncio.sleep(2.5)  # at least one reconcile round (resend_interval 2s)
        after_daemon = await asyncio.to_thread(_ours, am_port)
        await asyncio.to_thread(am.stop)
        await asyncio.to_thread(am.start)
        await asyncio.sleep(3.0)
        after_am = await asyncio.to_thread(_ours, am_port)
        assert [s["id"] for s in after_daemon] == [silence["id"]], after_daemon
        assert len(after_am) == 1, after_am
        print(f"[silence] after a daemon restart: {[s['id'] for s in after_daemon]};"
              f" after an Alertmanager restart: {[s['id'] for s in after_am]}")

        # the rest of the window: Prometheus sees the service down, nothing fires
        while datetime.now(UTC) < ends - timedelta(seconds=1):
            firing = [a for a in await asyncio.to_thread(_prom_alerts, prom_port)
                      if a["labels"].get("service") == SERVICE]
            assert firing == [], firing
            await asyncio.sleep(0.5)
        assert webhook.alerts == [], f"paged during maintenance: {webhook.alerts}"
        in_window = (datetime.now(UTC) - now).total_seconds()

        # the window ends: the silence goes, and the outage (still on) pages
        await _wait("the silence to be expired", lambda: _ours(am_port) == [], 10)
        gone = (datetime.now(UTC) - ends).total_seconds()
        expired = [s for s in _http("GET", f"http://127.0.0.1:{am_port}/api/v2/silences")
                   if s["createdBy"] == "monitord"]
        assert expired and all(s["status"]["state"] == "expired" for s in expired)
        await _wait("MonitordServiceDown after the window",
                    lambda: webhook.find("MonitordServiceDown", "firing") is not None, 15)
        await _wait("MonitordServiceUnavailable after the window",
                    lambda: webhook.find("MonitordServiceUnavailable", "firing") is not None, 20)
        first = min(at for at, _ in webhook.alerts)
        assert first >= ends.timestamp(), "a notification came before the window ended"
        print(f"[maintenance] {in_window:.1f}s in the window with the service down: 0 notifications;"
              f" silence seen expired {gone:.2f}s after the window's end, MonitordServiceDown"
              f" paged {first - ends.timestamp():.2f}s after it")

        # a window withdrawn through the API: its silence is expired at once, not at its end
        now = datetime.now(UTC)
        second = await asyncio.to_thread(
            _http, "POST", f"{api}/api/v1/maintenance",
            {"service": SERVICE, "start": now.isoformat(),
             "end": (now + timedelta(hours=1)).isoformat()}, TOKEN)
        await _wait("the second window's silence", lambda: len(_ours(am_port)) == 1, 10)
        await asyncio.to_thread(_http, "DELETE", f"{api}/api/v1/maintenance/{second['id']}",
                                None, TOKEN)
        withdrawn = await _wait("the withdrawn window's silence to go", lambda: _ours(am_port) == [], 10)
        print(f"[maintenance] a withdrawn window's silence expired {withdrawn:.2f}s after the DELETE")
    finally:
        await asyncio.to_thread(prom.stop)
        await asyncio.to_thread(daemon.stop)
        await asyncio.to_thread(am.stop)
