"""deploy/ is checked by the tools that will read it: promtool, amtool, systemd-analyze.

Docker does not run on these machines, so the container recipe and compose
file are checked as far as possible without it: the YAML parses, every file
it mounts or builds from exists, and the monitord config it mounts is valid.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from monitord.config import load_config
from tests.integration.peers import require_binary

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def run(*argv: str, cwd: Path = DEPLOY) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{' '.join(argv)} failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def test_prometheus_config_and_rules_check() -> None:
    promtool = require_binary("promtool")
    run(promtool, "check", "config", "prometheus/prometheus.yml")
    run(promtool, "check", "rules", "prometheus/rules/monitord.rules.yml")


def test_prometheus_rules_unit_tests() -> None:
    out = run(require_binary("promtool"), "test", "rules", "monitord.rules.test.yml",
              cwd=DEPLOY / "prometheus" / "rules")
    assert "SUCCESS" in out


def test_alertmanager_config_checks() -> None:
    run(require_binary("amtool"), "check-config", "alertmanager/alertmanager.yml")


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["alertname=MonitordServiceDown", "severity=critical", "service=pbx"], "pager,chat"),
        (["alertname=MonitordServiceUnavailable", "severity=critical"], "pager,chat"),
        (["alertname=MonitordCheckAlerting", "severity=warning", "service=pbx"], "chat"),
        (["alertname=Other"], "chat"),
    ],
)
def test_alertmanager_routes(labels: list[str], receivers: str) -> None:
    amtool = require_binary("amtool")
    run(amtool, "config", "routes", "test", "--config.file=alertmanager/alertmanager.yml",
        f"--verify.receivers={receivers}", *labels)


def test_alertmanager_inhibits_check_alerts_of_a_down_service() -> None:
    cfg = yaml.safe_load((DEPLOY / "alertmanager/alertmanager.yml").read_text())
    service, quality = cfg["inhibit_rules"]
    assert service["source_matchers"] == ['alertname="MonitordServiceDown"']
    assert "MonitordCheckAlerting" in service["target_matchers"][0]
    assert quality["source_matchers"] == ['alertname="MonitordCallQuality"']
    assert "MonitordCallQualityCritical" in quality["target_matchers"][0]
    for rule in (service, quality):
        assert set(rule["equal"]) == {"site", "service"}


def test_systemd_unit_verifies() -> None:
    analyze = require_binary("systemd-analyze")
    proc = subprocess.run([analyze, "verify", str(DEPLOY / "systemd/monitord.service")],
                          capture_output=True, text=True, timeout=60)
    # the binary lives in /opt/monitord on a real host, not here
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.strip() and "is not executable" not in line]
    assert problems == []


def test_compose_parses_and_mounts_files_that_exist() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert set(compose["services"]) == {"monitord", "prometheus", "alertmanager", "grafana",
                                        "mosquitto"}
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
        build = service.get("build")
        if build:
            context = DEPLOY / build["context"]
            assert (context / build["dockerfile"]).is_file()
            recipe = (context / build["dockerfile"]).read_text()
            for line in recipe.splitlines():
                if line.startswith("COPY ") and "--from" not in line:
                    for src in line.split()[1:-1]:
                        assert (context / src).exists(), f"Containerfile copies missing {src}"
    load_config(DEPLOY / "monitord.yaml", env={})


def test_fleet_layout_checks(tmp_path: Path) -> None:
    """deploy/fleet/: the site Prometheus configs pass promtool, the compose file mounts
    files that exist, and each location's agent config loads (its secret from a file)."""
    promtool = require_binary("promtool")
    fleet = DEPLOY / "fleet"
    for site in ("ams1", "fra1"):
        run(promtool, "check", "config", f"prometheus-{site}.yml", cwd=fleet)
    compose = yaml.safe_load((fleet / "compose.yaml").read_text())
    agents = {n for n, s in compose["services"].items() if "build" in s}
    assert agents == {"ams1-a", "ams1-b", "fra1-a"}
    assert {"postgres", "victoria-metrics", "prometheus-ams1", "prometheus-fra1"} <= set(
        compose["services"])
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (fleet / source).exists(), f"{name} mounts missing {source}"
    assert (fleet / compose["secrets"]["db_password"]["file"]).is_file()
    secret = tmp_path / "db_password"
    secret.write_text("example\n")
    secret.chmod(0o600)
    for site in ("ams1", "fra1"):
        text = (fleet / f"monitord-{site}.yaml").read_text()
        (tmp_path / f"{site}.yaml").write_text(text.replace("/run/secrets/db_password",
                                                            str(secret)))
        cfg = load_config(tmp_path / f"{site}.yaml", env={"MONITORD_AGENT": f"{site}-a"})
        assert (cfg.daemon.location, cfg.daemon.agent) == (site, f"{site}-a")
