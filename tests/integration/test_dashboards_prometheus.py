"""Every Grafana panel's PromQL returns data from real Prometheus scraping a real daemon.

The daemon runs a config that gives every panel something to show: snmpd for
SNMP CPU (hrProcessorLoad), load, disk, uptime and reboots; a synthetic call
against SIPp's RTP echo for the call board (histograms and counters); a check
of a port nothing listens on for failures; services under an SLA policy for
the engine's availability and error budget. Prometheus scrapes it every
second with deploy/'s rules (the recording rules the panels read), and each
panel's query is run through Prometheus' HTTP API as Grafana would, with
`$site` set to the daemon's site and `$__range` to an hour. Also checked:
every monitord series carries `site` and none `exported_site`, the site
variable's query finds the site, and `promtool check metrics` is clean.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.daemon import DaemonProcess
from tests.integration.peers import free_port, prometheus, snmpd_target
from tests.needs import need_program

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BOARDS = ROOT / "deploy/grafana/dashboards"
RULES = ROOT / "deploy/prometheus/rules/monitord.rules.yml"
SITE = "it"


def panels() -> list[tuple[str, str, str]]:
    """(board, panel title, expr) for every query of every committed dashboard."""
    out = []
    for path in sorted(BOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                out.append((path.stem, panel["title"], target["expr"]))
    return out


def grafana(expr: str) -> str:
    """The query as Grafana sends it for site `it` over the last hour."""
    return expr.replace("$site", SITE).replace("$__range", "1h")


def query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def finite(result: list[dict[str, Any]]) -> list[float]:
    return [v for r in result if math.isfinite(v := float(r["value"][1]))]


def test_every_dashboard_panel_returns_data(snmp_and_sip: tuple[int, int], tmp_path: Path) -> None:
    promtool = need_program("promtool")
    snmp_port, sip_port = snmp_and_sip
    target = snmpd_target(snmp_port, tmp_path)
    cfg = {
        "daemon": {"site": SITE},
        "defaults": {"interval": "1s", "timeout": "800ms"},
        "checks": [
            {"name": "pbx-up", "type": "snmp_up", "target": target},
            {"name": "pbx-cpu", "type": "snmp_cpu", "source": "hr_processor_load", "max": 1.0,
             "target": target},
            {"name": "pbx-load", "type": "snmp_cpu", "source": "ucd_load_average", "max": 1000,
             "target": target},
            {"name": "pbx-disk", "type": "snmp_disk", "max_used": 1.0, "target": target},
            {"name": "echo-call", "type": "sip_call", "target": f"sip:echo@127.0.0.1:{sip_port}",
             "interval": "6s", "timeout": "5s", "duration": "1s", "answer_timeout": "1s",
             "media_timeout": "1s"},
            {"name": "trunk", "type": "sip_options", "target": f"sip:127.0.0.1:{free_port()}"},
        ],
        "services": [
            {"name": "pbx", "checks": ["pbx-up", "pbx-disk"], "sla_policy": "monthly"},
            {"name": "voice", "checks": ["echo-call"], "sla_policy": "monthly"},
            {"name": "pstn", "checks": ["trunk"], "sla_policy": "monthly"},
        ],
        "sla_policies": [{"name": "monthly", "version": "it-1", "target_percent": 99.9}],
    }
    (tmp_path / "d").mkdir()
    daemon = DaemonProcess(tmp_path / "d", free_port(), cfg)
    daemon.start()
    prom_port = free_port()
    prom = prometheus(prom_port, tmp_path / "prom", daemon.port, RULES)
    prom.start()
    queries = panels()
    try:
        started = time.monotonic()
        missing: list[tuple[str, str, str]] = queries
        while missing and time.monotonic() - started < 150:
            time.sleep(2.0)
            missing = [(b, t, e) for b, t, e in queries if not finite(query(prom_port, grafana(e)))]
        took = time.monotonic() - started
        assert not missing, "panels without data:\n" + "\n".join(
            f"{b} / {t}: {grafana(e)}" for b, t, e in missing) + f"\n{prom.log_tail()}"
        print(f"\n[dashboards] all {len(queries)} panel queries returned data after {took:.0f}s:")
        for board, title, expr in queries:
            values = finite(query(prom_port, grafana(expr)))
            print(f"  {board:8} {title[:58]:58} {len(values):3} series, e.g. {values[0]:.6g}")

        # the site variable's query, and `site` on every series (never `exported_site`)
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/label/site/values?"
                                    + urllib.parse.urlencode({"match[]": "monitord_build_info"}),
                                    timeout=5) as resp:
            assert json.loads(resp.read())["data"] == [SITE]
        assert query(prom_port, 'count by (__name__) ({__name__=~"monitord_.+", site=""})') == []
        assert query(prom_port, 'count({exported_site!=""})') == []
        series = query(prom_port, 'count by (__name__) ({__name__=~"monitord_.+"})')
        info = query(prom_port, "monitord_check_info")
        assert {r["metric"]["check"] for r in info} == {c["name"] for c in cfg["checks"]}
        print(f"[dashboards] {len(series)} monitord families in Prometheus, all with site={SITE!r};"
              f" monitord_check_info: {len(info)} series")

        text = daemon.get("/metrics")
        lint = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                              capture_output=True, timeout=30)
        assert lint.returncode == 0 and lint.stdout == b"" and lint.stderr == b"", (
            lint.stdout.decode() + lint.stderr.decode())
        print(f"[dashboards] promtool check metrics: clean ({len(text.splitlines())} lines)")
    finally:
        prom.stop()
        daemon.stop()
