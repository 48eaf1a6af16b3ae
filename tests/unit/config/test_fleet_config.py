"""Fleet keys: daemon.location / agent / role, and `locations: {at_least: K}` quorums."""

from __future__ import annotations

import pytest

from monitord.config import parse_config
from monitord.errors import ConfigError

BASE = """\
daemon:
  site: noc
{daemon}
checks:
  - name: sbc1
    type: sip_options
    target: sip:sbc1.example.net
{check}
services:
  - name: pbx
    checks: [sbc1]
{service}
"""


def config(daemon: str = "", check: str = "", service: str = "") -> str:
    return BASE.format(daemon=daemon, check=check, service=service)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    return info.value.problems


def test_without_fleet_keys_nothing_changes() -> None:
    cfg = parse_config(config(), env={})
    assert cfg.daemon.location is None and cfg.daemon.agent is None and cfg.daemon.role == "both"
    assert cfg.checks[0].locations.at_least == 1
    assert cfg.services[0].locations.at_least == 1


def test_fleet_keys_are_read() -> None:
    cfg = parse_config(config("  location: ams1\n  agent: ams1-b\n  role: judge",
                              "    locations: {at_least: 2}",
                              "    locations: {at_least: 3}"), env={})
    assert (cfg.daemon.location, cfg.daemon.agent, cfg.daemon.role) == ("ams1", "ams1-b", "judge")
    assert cfg.checks[0].locations.at_least == 2
    assert cfg.services[0].locations.at_least == 3


def test_bad_fleet_keys_are_named_with_their_line() -> None:
    assert problems(config("  agent: ams1-b", "    locations: {at_least: 0}",
                           "    locations: {atleast: 2}")) == [
        "daemon.agent (line 3): daemon.agent names an agent of a fleet: set daemon.location"
        " too (docs/fleet.md)",
        "checks[0].locations.at_least (line 8): must be at least 1, got 0",
        "services[0].locations.atleast (line 12): unknown key 'atleast' (did you mean"
        " 'at_least'?)",
    ]
    assert problems(config("  role: agent")) == [
        "daemon.role (line 3): daemon.role is for a fleet: set daemon.location too"
        " (docs/fleet.md)"]
    assert problems(config("  location: 'ams 1'")) == [
        "daemon.location (line 3): invalid name 'ams 1': use letters, digits, '.', '_' or '-'"
        " (max 128), starting with a letter or digit"]
