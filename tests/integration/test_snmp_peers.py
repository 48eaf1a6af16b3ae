"""SNMP checks against real agents on loopback: net-snmp snmpd and snmpsim.

Probes are built from YAML through the same config path the daemon uses, so
what passes here is what an operator's file does. snmpd answers live values
(v2c and v3 authPriv); snmpsim serves a recorded platform node with 8 CPUs,
several disks, processes and tenant rows for deterministic table tests. The
daemon tests run the real `monitord run`: an snmpd_port stopped for several
intervals gives exactly one downtime interval, a restarted snmpd_port is a reboot,
and no credential shows in logs, API output or metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitord.config import parse_config
from monitord.core.snmpbuild import snmp_probe
from probes.base import FailureReason, ProbeResult
from probes.snmp.client import SnmpClient
from tests.integration.daemon import DaemonProcess
from tests.integration.peers import (
    SNMPD_COMMUNITY,
    SNMPD_V3,
    SNMPD_V3_SHA2,
    PeerProcess,
    free_port,
    snmpsim,
)

pytestmark = pytest.mark.integration

SECRETS = {
    "community": SNMPD_COMMUNITY,
    "v3auth": SNMPD_V3["auth"][1],
    "v3priv": SNMPD_V3["priv"][1],
    "sha2auth": SNMPD_V3_SHA2["auth"][1],
    "sha2priv": SNMPD_V3_SHA2["priv"][1],
    "wrong": "not-the-password",
    "sim": "voipnode",
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    proc = snmpsim(port, tmp_path_factory.mktemp("snmpsim"))
    proc.start(timeout=30)
    try:
        yield port
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def secret_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("secrets")
    for name, value in SECRETS.items():
        (d / name).write_text(value)
        (d / name).chmod(0o600)
    return d


@pytest.fixture
async def client() -> AsyncIterator[SnmpClient]:
    c = SnmpClient()
    try:
        yield c
    finally:
        await c.close()


def target(port: int, d: Path, auth: str) -> dict[str, Any]:
    base: dict[str, Any] = {"host": "127.0.0.1", "port": port}
    if auth == "v2c":
        return {**base, "version": "v2c", "community_file": str(d / "community")}
    if auth == "v1":
        return {**base, "version": "v1", "community_file": str(d / "community")}
    if auth == "sim":
        return {**base, "community_file": str(d / "sim")}
    if auth == "wrong-community":
        return {**base, "community_file": str(d / "wrong")}
    user = SNMPD_V3_SHA2 if auth == "v3-sha2" else SNMPD_V3
    prefix = "sha2" if auth == "v3-sha2" else "v3"
    return {
        **base,
        "version": "v3",
        "user": user["user"],
        "auth_protocol": user["auth"][0],
        "auth_password_file": str(d / ("wrong" if auth == "v3-wrong-auth" else f"{prefix}auth")),
        "priv_protocol": user["priv"][0],
        "priv_password_file": str(d / f"{prefix}priv"),
    }


async def probe(client: SnmpClient, check: dict[str, Any], timeout: float = 2.0) -> ProbeResult:
    import yaml

    cfg = parse_config(yaml.safe_dump({"checks": [{"name": "c", **check}]}), env={})
    p = snmp_probe(cfg.checks[0], client)
    return await p.run(asyncio.get_running_loop().time() + timeout)


# A fresh snmpd serves neither hrProcessorLoad nor ssCpuIdle for its first
# seconds (both are averages it has yet to build); laLoad answers at once. The
# other CPU sources are covered on the recorded node below.
CHECKS: dict[str, dict[str, Any]] = {
    "up": {"type": "snmp_up"},
    "load": {"type": "snmp_cpu", "source": "ucd_load_average", "max": 1000},
    "disk-root": {"type": "snmp_disk", "storage": "^/$", "max_used": 1.0},
    "process": {
        "type": "snmp_oid",
        "oid": "1.3.6.1.2.1.25.4.2.1.2",
        "walk": True,
        "where": "^snmpd$",
        "min_rows": 1,
    },
    "ucd-proc": {"type": "snmp_oid", "oid": "1.3.6.1.4.1.2021.2.1.100.1", "equals": 0},
}


@pytest.mark.parametrize("auth", ["v2c", "v3", "v3-sha2", "v1"])
@pytest.mark.parametrize("kind", sorted(CHECKS))
async def test_every_check_type_passes_against_snmpd(
    snmpd_port: int, secret_dir: Path, client: SnmpClient, auth: str, kind: str
) -> None:
    result = await probe(client, {**CHECKS[kind], "target": target(snmpd_port, secret_dir, auth)})
    print(f"{auth} {kind}: {result.detail} {dict(result.measurements)}")
    assert result.ok, result
    assert result.latency is not None and result.latency < 1.0
    assert result.measurements or kind == "ucd-proc"


async def test_uptime_and_disk_measurements_are_in_base_units(
    snmpd_port: int, secret_dir: Path, client: SnmpClient
) -> None:
    up = await probe(client, {"type": "snmp_up", "target": target(snmpd_port, secret_dir, "v3")})
    assert 0 < up.measurements["snmp_uptime_seconds"] < 3600
    disk = await probe(client, {**CHECKS["disk-root"], "target": target(snmpd_port, secret_dir, "v2c")})
    assert 0 < disk.measurements["snmp_disk_used_ratio:/"] < 1


async def test_thresholds_trip_both_ways_on_live_values(
    snmpd_port: int, secret_dir: Path, client: SnmpClient
) -> None:
    t = target(snmpd_port, secret_dir, "v3")
    disk = {"type": "snmp_disk", "storage": "^/$", "target": t}
    assert (await probe(client, {**disk, "max_used": 1.0})).ok
    over = await probe(client, {**disk, "max_used": 0.0})
    assert over.reason is FailureReason.THRESHOLD and over.detail.startswith("disk used above max 0.0%: / ")
    services = {"type": "snmp_oid", "oid": "1.3.6.1.2.1.1.7.0", "target": t}  # sysServices 72
    assert (await probe(client, {**services, "less_than": 100})).ok
    low = await probe(client, {**services, "less_than": 50})
    assert low.reason is FailureReason.THRESHOLD and "72 is not < 50" in low.detail
    assert low.measurements["snmp_value"] == 72


async def test_failure_reasons_are_distinct_and_readable(
    snmpd_port: int, secret_dir: Path, client: SnmpClient
) -> None:
    up = {"type": "snmp_up", "retries": 0}
    wrong_auth = await probe(client, {**up, "target": target(snmpd_port, secret_dir, "v3-wrong-auth")})
    assert wrong_auth.reason is FailureReason.AUTH
    assert "wrong auth password" in wrong_auth.detail and "labv3user" in wrong_auth.detail

    wrong_community = await probe(
        client, {**up, "target": target(snmpd_port, secret_dir, "wrong-community")}, timeout=1.0
    )
    assert wrong_community.reason is FailureReason.TIMEOUT
    assert "wrong v2c community looks exactly like this" in wrong_community.detail

    missing = await probe(
        client,
        {"type": "snmp_oid", "oid": "1.3.6.1.2.1.1.99.0", "target": target(snmpd_port, secret_dir, "v2c")},
    )
    assert missing.reason is FailureReason.NO_SUCH_OBJECT and "1.3.6.1.2.1.1.99.0" in missing.detail

    no_agent = {"host": "127.0.0.1", "port": free_port(), "community_file": str(secret_dir / "community")}
    silent = await probe(client, {**up, "target": no_agent}, timeout=0.6)
    assert silent.reason is FailureReason.TIMEOUT

    reasons = {r.reason for r in (wrong_auth, wrong_community, missing)}
    assert len(reasons) == 3
    for r in (wrong_auth, wrong_community, missing, silent):
        for secret in SECRETS.values():
            assert secret not in r.detail or secret == "voipnode"


def test_cli_probe_one_shot(snmpd_port: int, secret_dir: Path) -> None:
    import os
    import subprocess
    import sys

    url = f"snmp://{SNMPD_V3['user']}@127.0.0.1:{snmpd_port}/1.3.6.1.2.1.1.5.0"
    args = [sys.executable, "-m", "monitord", "probe", url, "--auth-password-file",
            str(secret_dir / "v3auth"), "--priv-password-file", str(secret_dir / "v3priv")]
    ok = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and ", v3 authPriv (latency " in ok.stdout, ok.stdout + ok.stderr
    walk = subprocess.run(
        [sys.executable, "-m", "monitord", "probe", f"snmp://127.0.0.1:{snmpd_port}/1.3.6.1.2.1.25.2.3.1.3", "--walk"],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "MONITORD_SNMP_COMMUNITY": SNMPD_COMMUNITY},
    )
    assert walk.returncode == 0 and "'/'" in walk.stdout, walk.stdout + walk.stderr
    wrong = subprocess.run(
        [*args[:4], f"snmp://127.0.0.1:{snmpd_port}/1.3.6.1.2.1.1.5.0", "--timeout", "0.5", "--retries", "0"],
        capture_output=True, text=True, timeout=30,
    )
    assert wrong.returncode == 1 and "FAIL" in wrong.stdout and "community" in wrong.stdout
    for out in (ok.stdout, walk.stdout, wrong.stdout):
        assert SECRETS["v3auth"] not in out and SECRETS["v3priv"] not in out


# --- recorded device (snmpsim) -----------------------------------------------------


async def test_recorded_node_cpu_average_over_eight_cpus(
    sim: int, secret_dir: Path, client: SnmpClient
) -> None:
    cpu = {"type": "snmp_cpu", "target": target(sim, secret_dir, "sim")}
    ok = await probe(client, {**cpu, "max": "50%"})
    assert ok.ok and ok.measurements == {"snmp_cpu_load_ratio": 0.475, "snmp_cpu_count": 8.0}
    hot = await probe(client, {**cpu, "max": "40%"})
    assert hot.reason is FailureReason.THRESHOLD
    assert hot.detail == "CPU load 47.5% over 8 CPU(s) is above max 40.0%"
    idle = await probe(client, {**cpu, "source": "ucd_cpu_idle", "max": 0.9})
    assert idle.measurements["snmp_cpu_load_ratio"] == pytest.approx(0.63)
    load = await probe(client, {**cpu, "source": "ucd_load_average", "load_minutes": 15, "max": 1.5})
    assert load.reason is FailureReason.THRESHOLD and load.measurements["snmp_load_average"] == 1.75


async def test_recorded_node_disk_selection_by_regex(
    sim: int, secret_dir: Path, client: SnmpClient
) -> None:
    disk = {"type": "snmp_disk", "target": target(sim, secret_dir, "sim"), "max_used": 0.9}
    var = await probe(client, {**disk, "storage": "^/var"})
    assert var.reason is FailureReason.THRESHOLD and var.detail == "disk used above max 90.0%: /var 92.0%"
    assert set(var.measurements) == {"snmp_disk_used_ratio:/var", "snmp_disk_used_ratio:/var/log"}
    root = await probe(client, {**disk, "storage": "^/$"})
    assert root.ok and root.measurements == {"snmp_disk_used_ratio:/": 0.4}
    every_fs = await probe(client, {**disk, "storage": "^/", "max_used": 0.99})
    assert every_fs.ok and len(every_fs.measurements) == 4  # memory and swap rows left out
    none = await probe(client, {**disk, "storage": "^/data$"})
    assert none.reason is FailureReason.NO_SUCH_OBJECT and "/var/log" in none.detail


async def test_recorded_node_tenants_and_processes(
    sim: int, secret_dir: Path, client: SnmpClient
) -> None:
    t = target(sim, secret_dir, "sim")
    tenants = {"type": "snmp_oid", "oid": "1.3.6.1.4.1.99999.1.1.1.3", "walk": True, "target": t}
    down = await probe(client, {**tenants, "equals": 1, "min_rows": 5})
    assert down.reason is FailureReason.THRESHOLD
    assert down.detail == "1.3.6.1.4.1.99999.1.1.1.3: row 4: 2 != 1"
    assert down.measurements == {"snmp_rows": 5.0}
    assert (await probe(client, {**tenants, "where": "^1$", "min_rows": 4})).ok
    names = {"type": "snmp_oid", "oid": "1.3.6.1.4.1.99999.1.1.1.2", "walk": True, "target": t}
    assert (await probe(client, {**names, "matches": "^[a-z]+$", "max_rows": 5})).ok
    procs = {
        "type": "snmp_oid",
        "oid": "1.3.6.1.2.1.25.4.2.1.2",
        "walk": True,
        "where": "^kamailio$",
        "target": t,
    }
    assert (await probe(client, {**procs, "min_rows": 4})).ok
    few = await probe(client, {**procs, "min_rows": 8, "max_repetitions": 2})  # many GETBULKs
    assert few.detail.endswith("4 row(s), fewer than min_rows 8")
    sysdescr = {"type": "snmp_oid", "oid": "1.3.6.1.2.1.1.1.0", "target": t}
    assert (await probe(client, {**sysdescr, "matches": "tenants"})).ok
    assert (await probe(client, {**sysdescr, "not_equals": "x"})).ok


# --- the real daemon ----------------------------------------------------------------

INTERVAL = 1.0
TIMEOUT = 0.8


def _daemon_config(port: int, d: Path) -> dict[str, Any]:
    t3 = target(port, d, "v3")
    return {
        "daemon": {"site": "it"},
        "defaults": {"interval": f"{INTERVAL}s", "timeout": f"{TIMEOUT}s"},
        "checks": [
            {"name": "pbx-up", "type": "snmp_up", "retries": 0, "target": t3},
            {"name": "pbx-disk", "type": "snmp_disk", "max_used": 1.0, "retries": 0,
             "target": target(port, d, "v2c")},
        ],
        "services": [{"name": "pbx", "checks": ["pbx-up"]}],
    }


def _up_and_probed(daemon: DaemonProcess, name: str) -> bool:
    c = daemon.check(name)
    return c["state"] == "up" and c["last_result"] is not None and c["last_result"]["ok"]


def test_agent_stopped_for_several_intervals_gives_one_downtime_and_a_reboot(
    own_snmpd: tuple[PeerProcess, int], secret_dir: Path, tmp_path: Path
) -> None:
    agent_proc, port = own_snmpd
    (tmp_path / "daemon").mkdir()
    daemon = DaemonProcess(tmp_path / "daemon", free_port(), _daemon_config(port, secret_dir))
    daemon.start()
    try:
        daemon.wait_for("first successful poll", lambda: _up_and_probed(daemon, "pbx-up"), 15)
        stopped_at = datetime.now(UTC)
        agent_proc.stop()
        daemon.wait_for("the check to go down", lambda: daemon.check("pbx-up")["state"] == "down", 20)
        time.sleep(max(0.0, 8 * INTERVAL - (datetime.now(UTC) - stopped_at).total_seconds()))
        restarted_at = datetime.now(UTC)
        agent_proc.start()
        daemon.wait_for("recovery", lambda: daemon.check("pbx-up")["state"] == "up", 20)
        daemon.wait_for(
            "the reboot to be logged",
            lambda: any(r.get("event") == "reboot_detected" for r in daemon.log_records()),
            10,
        )

        downtimes = daemon.get("/api/v1/downtimes?check=pbx-up")
        print("downtimes:", downtimes)
        assert len(downtimes) == 1, downtimes
        d = downtimes[0]
        assert d["reason"] == "timeout" and not d["open"]
        assert stopped_at <= datetime.fromisoformat(d["start"]) <= stopped_at + timedelta(seconds=2.5)
        assert restarted_at <= datetime.fromisoformat(d["end"]) <= restarted_at + timedelta(seconds=5)
        assert len(daemon.get("/api/v1/downtimes?service=pbx")) == 1

        metrics = daemon.get("/metrics")
        assert 'monitord_snmp_reboots_total{check="pbx-up",device="127.0.0.1:' in metrics
        reboots = [line for line in metrics.splitlines() if line.startswith("monitord_snmp_reboots_total{")]
        assert reboots and reboots[0].endswith(" 1.0"), reboots
        assert f'monitord_snmp_disk_used_ratio{{check="pbx-disk",device="127.0.0.1:{port}",site="it",storage="/"}}' in metrics
        assert "monitord_snmp_uptime_seconds{" in metrics
        _assert_no_credentials(daemon)
    finally:
        daemon.stop()


def test_reboot_between_polls_is_counted_not_a_failure(
    own_snmpd: tuple[PeerProcess, int], secret_dir: Path, tmp_path: Path
) -> None:
    agent_proc, port = own_snmpd
    (tmp_path / "daemon").mkdir()
    cfg = _daemon_config(port, secret_dir)
    cfg["defaults"] = {"interval": "3s", "timeout": "1s"}
    daemon = DaemonProcess(tmp_path / "daemon", free_port(), cfg)
    daemon.start()
    try:
        # Let the snmpd_port's uptime grow well past what the restarted snmpd_port will report:
        # with a 3 s interval and possibly one failed poll during the restart, the
        # new snmpd_port can already be ~6 s old at the next successful poll.
        daemon.wait_for(
            "an uptime of 12 s", lambda: _uptime(daemon) >= 12.0, 30
        )
        agent_proc.stop()
        agent_proc.start()
        daemon.wait_for(
            "reboot_detected",
            lambda: any(r.get("event") == "reboot_detected" for r in daemon.log_records()),
            15,
        )
        record = next(r for r in daemon.log_records() if r.get("event") == "reboot_detected")
        print("reboot:", record)
        assert record["check"] == "pbx-up" and record["device"] == f"127.0.0.1:{port}"
        assert record["uptime_seconds"] < record["previous_uptime_seconds"]
        assert daemon.get("/api/v1/downtimes?check=pbx-up") == []
        # recorded, not only logged: no MQTT is configured here
        daemon.wait_for(
            "the reboot in the event log",
            lambda: len(daemon.get("/api/v1/events?kind=reboot")) == 1,
            10,
        )
        (event,) = daemon.get("/api/v1/events?kind=reboot")
        assert event["check"] == "pbx-up" and event["device"] == f"127.0.0.1:{port}"
        _assert_no_credentials(daemon)
    finally:
        daemon.stop()


def _uptime(daemon: DaemonProcess) -> float:
    last = daemon.check("pbx-up")["last_result"]
    return float(last["measurements"].get("snmp_uptime_seconds", 0.0)) if last else 0.0


def _assert_no_credentials(daemon: DaemonProcess) -> None:
    exposed = {
        "log": daemon.log_path.read_text(errors="replace"),
        "metrics": daemon.get("/metrics"),
        "checks": repr(daemon.get("/api/v1/checks")),
        "downtimes": repr(daemon.get("/api/v1/downtimes")),
        "status": repr(daemon.get("/healthz")),
    }
    for where, text in exposed.items():
        for name in ("community", "v3auth", "v3priv"):
            assert SECRETS[name] not in text, f"{name} leaked into {where}"
