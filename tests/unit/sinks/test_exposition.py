"""Constant labels on every series, and the info series rules and dashboards join on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitord.config import effective_checks, parse_config
from monitord.core.stream import Committed, Reconfigured
from monitord.sinks.exposition import ConstantLabelRegistry, InfoCollector, common_labels

CONFIG = """\
checks:
  - {name: sbc-a, type: sip_options, target: "sip:127.0.0.1:5060",
     labels: {platform: voipnow, role: edge, "bad-name": x, site: spoofed}}
  - {name: sbc-b, type: sip_options, target: "sip:127.0.0.2:5060",
     labels: {platform: voipnow, role: core}}
  - {name: pbx-up, type: snmp_up, target: {host: 127.0.0.3, port: 1161, community_file: COMMUNITY}}
services:
  - {name: voice, checks: [sbc-a, sbc-b], down_when: {at_least: 2}}
  - {name: edge, checks: [sbc-a]}
"""


def samples(registry: ConstantLabelRegistry) -> list[tuple[str, dict[str, str]]]:
    text = generate_latest(registry).decode()
    return [(s.name, s.labels) for f in text_string_to_metric_families(text) for s in f.samples]


def test_check_and_service_info_series(tmp_path: Path) -> None:
    secret = tmp_path / "community"
    secret.write_text("very-secret-community")
    secret.chmod(0o600)
    cfg = parse_config(CONFIG.replace("COMMUNITY", str(secret)), env={})
    registry = ConstantLabelRegistry({"site": "ams"})
    registry.register(InfoCollector(effective_checks(cfg), cfg.services))
    got = samples(registry)
    checks = sorted((s["check"], s["service"], s["type"], s["target"], s["platform"], s["role"])
                    for n, s in got if n == "monitord_check_info")
    assert checks == [
        ("pbx-up", "", "snmp_up", "127.0.0.3:1161", "", ""),  # no credentials in the target
        ("sbc-a", "edge", "sip_options", "sip:127.0.0.1:5060", "voipnow", "edge"),
        ("sbc-a", "voice", "sip_options", "sip:127.0.0.1:5060", "voipnow", "edge"),
        ("sbc-b", "voice", "sip_options", "sip:127.0.0.2:5060", "voipnow", "core"),
    ]
    assert "very-secret-community" not in generate_latest(registry).decode()
    for name, labels in got:
        assert labels["site"] == "ams", (name, labels)  # the daemon's, not the check's "spoofed"
        assert "bad-name" not in labels
    services = {s["service"]: s for n, s in got if n == "monitord_service_info"}
    assert services["voice"]["down_when"] == "at_least_2"
    assert services["voice"]["platform"] == "voipnow"  # shared by both checks
    assert "role" not in services["voice"] or services["voice"]["role"] == ""  # they differ
    assert services["edge"]["role"] == "edge"


def test_common_labels_of_no_checks_is_empty() -> None:
    assert common_labels([]) == {}


def test_constant_labels_win_and_must_be_valid_names() -> None:
    registry = ConstantLabelRegistry({"site": "ams", "location": "rack-4"})
    c = Counter("x", "x", ["site", "check"], registry=registry)
    c.labels("wrong", "a").inc()
    assert ("x_total", {"site": "ams", "check": "a", "location": "rack-4"}) in samples(registry)
    with pytest.raises(ValueError, match="invalid constant label name"):
        ConstantLabelRegistry({"bad-name": "x"})


def test_info_series_follow_a_reload(tmp_path: Path) -> None:
    cfg = parse_config("checks: [{name: a, type: sip_options, target: 'sip:h'}]\n"
                       "services: [{name: s, checks: [a]}]", env={})
    info = InfoCollector(effective_checks(cfg), cfg.services)
    registry = ConstantLabelRegistry({"site": "ams"})
    registry.register(info)
    new = parse_config("checks: [{name: b, type: sip_options, target: 'sip:h2', labels: {pop: x}}]\n"
                       "services: [{name: t, checks: [b]}]", env={})
    at = datetime(2025, 1, 1, tzinfo=UTC)
    info.consume(Committed(at, None, (Reconfigured(at, tuple(effective_checks(new)),
                                                   tuple(new.services), ("b", "t"), ("a", "s"),
                                                   ()),)))
    got = samples(registry)
    assert {(s["check"], s["service"], s["pop"]) for n, s in got if n == "monitord_check_info"} == {
        ("b", "t", "x")}
    assert {s["service"] for n, s in got if n == "monitord_service_info"} == {"t"}
