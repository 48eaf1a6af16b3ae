"""Metrics at scale: an agent's series carry its location and site, and the per-site
Prometheus of deploy/fleet/ forwards them to a central VictoriaMetrics (issue 13, item 7).

Real programs: the agent (`monitord run`, on the session's PostgreSQL), the
site Prometheus run with deploy/fleet/prometheus-ams1.yml (only its targets
and the store's address pointed at this machine's ports), and Debian's
victoria-metrics as the central store, queried through its Prometheus API.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.integration.fleetprocs import check, member, wait
from tests.integration.peers import PeerProcess, free_port, require_binary

pytestmark = pytest.mark.integration

SITE_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "fleet" / "prometheus-ams1.yml"


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def test_the_site_prometheus_forwards_location_labelled_series_to_the_central_store(
        tmp_path: Path, pg_url: str) -> None:
    vm_port, prom_port = free_port(), free_port()
    vm = PeerProcess([require_binary("victoria-metrics"), f"-storageDataPath={tmp_path / 'vm'}",
                      f"-httpListenAddr=127.0.0.1:{vm_port}", "-retentionPeriod=1d",
                      "-search.latencyOffset=0s"],  # answer with the newest samples at once
                     name="victoria-metrics", cwd=str(tmp_path),
                     ready=lambda: ready(f"http://127.0.0.1:{vm_port}/health"))
    agent = member(tmp_path, pg_url, location="ams1", agent="ams1-a",
                   checks=[check("sbc-a", free_port())])
    site = yaml.safe_load(SITE_CONFIG.read_text())
    site["global"]["scrape_interval"] = "1s"
    site["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{agent.port}"]}]
    site["remote_write"][0]["url"] = f"http://127.0.0.1:{vm_port}/api/v1/write"
    site["remote_write"][0]["queue_config"]["batch_send_deadline"] = "1s"
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(site))
    prom = PeerProcess([require_binary("prometheus"),
                        f"--config.file={tmp_path / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp_path / 'prom'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}"],
                       name="prometheus-ams1", cwd=str(tmp_path),
                       ready=lambda: ready(f"http://127.0.0.1:{prom_port}/-/ready"))
    query = urllib.parse.quote('monitord_fleet_checks_held{location="ams1",site="noc"}')
    found: list[dict[str, object]] = []

    def central() -> bool:
        url = f"http://127.0.0.1:{vm_port}/api/v1/query?query={query}"
        with urllib.request.urlopen(url, timeout=2) as resp:
            found[:] = json.load(resp)["data"]["result"]
        return bool(found) and found[0]["value"][1] == "1"  # type: ignore[index]

    try:
        vm.start()
        agent.start()
        prom.start()
        wait("the agent's series in the central store", central, 30, [agent])
    finally:
        prom.stop()
        agent.stop()
        vm.stop()
    labels = found[0]["metric"]
    assert isinstance(labels, dict)
    assert labels["location"] == "ams1" and labels["site"] == "noc"
    assert labels["prometheus"] == "ams1" and labels["job"] == "monitord"
