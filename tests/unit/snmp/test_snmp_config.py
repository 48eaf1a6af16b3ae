"""SNMP config: targets, credentials from files/env only, weak-protocol warnings, no secret in reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.config import parse_config
from monitord.config.snmp import (
    SnmpCpuCheck,
    SnmpDiskCheck,
    SnmpOidCheck,
    SnmpUpCheck,
    snmp_warnings,
)
from monitord.errors import ConfigError

COMMUNITY = "s3cret-community"
AUTH = "auth-pass-123"
PRIV = "priv-pass-456"


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    for name, value in (("community", COMMUNITY), ("auth", AUTH), ("priv", PRIV)):
        f = tmp_path / name
        f.write_text(value + "\n")
        f.chmod(0o600)
    return tmp_path


def config_text(d: Path, auth: str = "sha256", priv: str = "aes256") -> str:
    return f"""\
checks:
  - name: pbx1-up
    type: snmp_up
    target: &pbx1
      host: 127.0.0.1
      port: 1161
      version: v3
      user: monitor
      auth_protocol: {auth}
      auth_password_file: {d}/auth
      priv_protocol: {priv}
      priv_password_file: {d}/priv
  - name: pbx1-cpu
    type: snmp_cpu
    source: ucd_cpu_idle
    max: 90%
    target: *pbx1
  - name: pbx1-load
    type: snmp_cpu
    source: ucd_load_average
    load_minutes: 5
    max: 8
    target: *pbx1
  - name: pbx1-disk
    type: snmp_disk
    storage: ^/var
    max_used: 0.85
    target: &sw {{host: 127.0.0.1, community_file: {d}/community}}
  - name: tenants
    type: snmp_oid
    oid: .1.3.6.1.4.1.99999.1.2
    walk: true
    equals: 1
    min_rows: 3
    retries: 2
    target: *sw
"""


def test_a_full_snmp_config_loads(secrets_dir: Path) -> None:
    cfg = parse_config(config_text(secrets_dir), env={})
    up, cpu, load, disk, oid = cfg.checks
    assert isinstance(up, SnmpUpCheck) and up.target.port == 1161
    assert isinstance(cpu, SnmpCpuCheck) and cpu.max == pytest.approx(0.9)
    assert isinstance(load, SnmpCpuCheck) and load.max == 8 and load.load_minutes == 5
    assert isinstance(disk, SnmpDiskCheck) and disk.storage.pattern == "^/var"
    assert isinstance(oid, SnmpOidCheck) and oid.oid == "1.3.6.1.4.1.99999.1.2" and oid.retries == 2
    auth = up.target.auth()
    assert (auth.user, auth.auth_key, auth.priv_key, auth.level) == ("monitor", AUTH, PRIV, "authPriv")
    assert disk.target.auth().community == COMMUNITY
    assert snmp_warnings(cfg.checks) == []


def test_no_secret_in_any_repr(secrets_dir: Path) -> None:
    cfg = parse_config(config_text(secrets_dir), env={})
    text = repr(cfg) + str(cfg) + repr([c.target.auth() for c in cfg.checks])  # type: ignore[union-attr]
    for secret in (COMMUNITY, AUTH, PRIV):
        assert secret not in text


def test_md5_and_des_are_accepted_with_a_warning(secrets_dir: Path) -> None:
    cfg = parse_config(config_text(secrets_dir, auth="md5", priv="des"), env={})
    warnings = snmp_warnings(cfg.checks)
    assert warnings[:2] == [
        "checks[0].target.auth_protocol: MD5 is broken cryptography; accepted for old agents,"
        " but move to SHA-2 / AES when the device allows",
        "checks[0].target.priv_protocol: DES is broken cryptography; accepted for old agents,"
        " but move to SHA-2 / AES when the device allows",
    ]
    assert len(warnings) == 6  # the three checks sharing the v3 target


def test_community_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBX_COMMUNITY", COMMUNITY)
    text = """\
checks:
  - {name: a, type: snmp_up, target: {host: 127.0.0.1, community_env: PBX_COMMUNITY}}
"""
    check = parse_config(text, env={}).checks[0]
    assert isinstance(check, SnmpUpCheck) and check.target.auth().community == COMMUNITY
    monkeypatch.delenv("PBX_COMMUNITY")
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.problems == [
        "checks[0].target.community_env (line 2): environment variable PBX_COMMUNITY is not set or empty"
    ]


# A rule names the field it blames when the file sets that field, else the target.
@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("{host: h, version: v3, user: u, auth_protocol: sha}",
         ".auth_protocol (line 2): auth_protocol and auth_password_file/_env go together"),
        ("{host: h, version: v3}", " (line 2): SNMP v3 needs user"),
        ("{host: h, version: v1, community_file: COMMUNITY, user: u}",
         " (line 2): user and auth/priv settings are for v3, not v1"),
        ("{host: h, version: v3, user: u, priv_protocol: aes, priv_password_file: PRIV}",
         " (line 2): privacy without authentication is not allowed in SNMPv3 (set auth_protocol)"),
    ],
)
def test_credential_rules(secrets_dir: Path, target: str, problem: str) -> None:
    target = target.replace("COMMUNITY", str(secrets_dir / "community")).replace(
        "PRIV", str(secrets_dir / "priv")
    )
    with pytest.raises(ConfigError) as info:
        parse_config(f"checks:\n  - {{name: a, type: snmp_up, target: {target}}}\n", env={})
    assert info.value.problems == [f"checks[0].target{problem}"]


def test_short_v3_password_is_refused(tmp_path: Path) -> None:
    (tmp_path / "short").write_text("1234567")
    (tmp_path / "short").chmod(0o600)
    with pytest.raises(ConfigError) as info:
        parse_config(
            "checks:\n  - {name: a, type: snmp_up, target: {host: h, version: v3, user: u,"
            f" auth_protocol: sha, auth_password_file: {tmp_path}/short}}}}\n",
            env={},
        )
    assert "shorter than 8 characters" in info.value.problems[0]


def test_walk_only_keys_need_walk(secrets_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            "checks:\n  - {name: a, type: snmp_oid, oid: 1.3.6.1.2.1.1.3.0, min_rows: 2,"
            f" target: {{host: h, community_file: {secrets_dir}/community}}}}\n",
            env={},
        )
    assert info.value.problems == ["checks[0].min_rows (line 2): min_rows applies to table walks: set walk: true"]


def test_cpu_ratio_above_one_is_refused_but_a_load_average_is_not(secrets_dir: Path) -> None:
    base = f"target: {{host: h, community_file: {secrets_dir}/community}}"
    with pytest.raises(ConfigError) as info:
        parse_config(f"checks:\n  - {{name: a, type: snmp_cpu, max: 3, {base}}}\n", env={})
    assert "is above 1 (100%)" in info.value.problems[0]
    cfg = parse_config(
        f"checks:\n  - {{name: a, type: snmp_cpu, source: ucd_load_average, max: 3, {base}}}\n",
        env={},
    )
    assert cfg.checks[0].max == 3  # type: ignore[union-attr]


def test_the_shipped_example_loads(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[3]
    text = (repo / "config" / "snmp-example.yaml").read_text()
    for name in ("pbx1.auth", "pbx1.priv", "sbc1.community"):
        (tmp_path / name).write_text("example-secret-1")
        (tmp_path / name).chmod(0o600)
    cfg = parse_config(text.replace("/etc/monitord/snmp", str(tmp_path)), env={})
    kinds = [c.type for c in cfg.checks]
    assert kinds.count("snmp_oid") == 3 and {"snmp_up", "snmp_cpu", "snmp_disk"} <= set(kinds)
    assert str(cfg.checks[0].target) == "snmp://monitord@192.0.2.10:161 (v3 authPriv)"  # type: ignore[union-attr]
