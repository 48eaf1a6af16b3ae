"""Config reload on a running daemon under load, against real SIPp: SIGHUP and the API.

Nothing lost or invented: a removed check's open interval ends at the reload
with cause `removed`; a changed check keeps its state; the 200 checks that
stay record no failure across the reload; a bad file keeps the old config.
"""

from __future__ import annotations

import re
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import RunningPeer
from tests.integration.daemon import DaemonProcess
from tests.integration.peers import free_port

pytestmark = pytest.mark.integration

TOKEN = "reload-test-token"
LOAD = 200


def config(target: str, dead: str, token: Path, *, version: int) -> dict[str, Any]:
    checks: list[dict[str, Any]] = [
        {"name": f"load-{i:03d}", "type": "sip_options", "target": target} for i in range(LOAD)
    ]
    if version == 1:
        checks += [{"name": "keep", "type": "sip_options", "target": target},
                   {"name": "gone", "type": "sip_options", "target": dead}]
        services = [{"name": "edge", "checks": ["gone", "keep"]}]
    else:
        checks += [{"name": "keep", "type": "sip_options", "target": target, "interval": "2s",
                    "timeout": "1s"},
                   {"name": "new", "type": "sip_options", "target": target}]
        services = [{"name": "edge", "checks": ["keep", "new"]}]
    return {
        "daemon": {"site": "it", "api_token_file": str(token)},
        "defaults": {"interval": "1s", "timeout": "800ms"},
        "checks": checks,
        "services": services,
    }


def failures_of_load(metrics: str) -> float:
    pattern = re.compile(r'^monitord_probes_total\{check="load-\d+",.*result="failure".*\} (\S+)$',
                         re.M)
    return sum(float(v) for v in pattern.findall(metrics))


def test_reload_under_load_loses_and_invents_nothing(
    tmp_path: Path, sipp_options: RunningPeer
) -> None:
    token = tmp_path / "api.token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    dead = f"sip:127.0.0.1:{free_port()}"  # nothing listens: ICMP port unreachable
    d = DaemonProcess(tmp_path, free_port(),
                      config(sipp_options.uri, dead, token, version=1))
    d.start()
    try:
        d.wait_for("gone down", lambda: d.check("gone")["state"] == "down", 20)
        time.sleep(2)
        good_v1 = d.config_path.read_text()

        d.config_path.write_text("checks: [{name: x, type: sip_options}\n")  # broken YAML
        assert d.proc is not None
        d.proc.send_signal(signal.SIGHUP)
        d.wait_for("the rejected reload", lambda: 'monitord_config_last_reload_successful{site="it"} 0.0'
                   in d.get("/metrics"), 10)
        assert d.proc.poll() is None, "SIGHUP never kills the daemon"
        assert d.check("gone")["state"] == "down", "the old config keeps running"
        assert any(r.get("event") == "config_reload_failed" for r in d.log_records())

        v2 = config(sipp_options.uri, dead, token, version=2)
        v2["daemon"] = yaml.safe_load(good_v1)["daemon"]  # listen, storage... as running
        d.config_path.write_text(yaml.safe_dump(v2))
        before = failures_of_load(d.get("/metrics"))
        reloaded_at = time.time()
        d.proc.send_signal(signal.SIGHUP)
        names = lambda: {c["name"] for c in d.get("/api/v1/checks")}  # noqa: E731
        d.wait_for("the new config", lambda: "new" in names() and "gone" not in names(), 15)
        assert 'monitord_config_last_reload_successful{site="it"} 1.0' in d.get("/metrics")
        time.sleep(4)  # the new and the changed checks probe a few times
        after = failures_of_load(d.get("/metrics"))
        keep, new = d.check("keep"), d.check("new")
        gone_rows = d.get("/api/v1/downtimes?check=gone")
        keep_rows = d.get("/api/v1/downtimes?check=keep") + d.get("/api/v1/episodes?check=keep")
        edge = d.get("/api/v1/downtimes?service=edge")
        logged = d.get("/api/v1/events?kind=monitoring_changed")

        d.config_path.write_text(good_v1)  # and back, through the API this time
        status, body = d.post("/api/v1/reload", token=TOKEN, timeout=30)
    finally:
        d.stop()
    assert before == after == 0, "no check that stayed recorded a failure across the reload"
    (gone,) = gone_rows
    end = datetime.fromisoformat(gone["end"]).timestamp()
    print(f"\ngone: {gone['start']} .. {gone['end']} ({gone['end_cause']}); reload sent at"
          f" {datetime.fromtimestamp(reloaded_at).isoformat()}")
    assert gone["end_cause"] == "removed", "removed from monitoring, not recovered"
    assert reloaded_at <= end <= reloaded_at + 5
    assert keep_rows == [] and keep["state"] == "up" and keep["interval_seconds"] == 2.0
    assert new["state"] == "up" and new["last_probe"] is not None
    assert [(e["end_cause"]) for e in edge] == ["removed"], "edge lost its down member"
    assert [(e["added"], e["removed"], e["changed"]) for e in logged] == [
        (["new"], ["gone"], ["keep"])]
    assert status == 200, body
    assert (body["added"], body["removed"], body["changed"]) == (["gone"], ["new"], ["keep"])
