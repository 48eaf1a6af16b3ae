"""SLA config errors name their YAML path; windows honour wall clock across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitord.config import parse_config
from monitord.core.intervals import Interval
from monitord.errors import ConfigError
from monitord.sla.config import MaintenanceConfig
from monitord.sla.maintenance import in_maintenance, occurrences

BASE = """\
checks:
  - {name: probe, type: sip_options, target: "sip:127.0.0.1"}
services:
  - {name: svc, checks: [probe], sla_policy: gold}
calendars:
  - {name: office, hours: ["mon-fri 09:00-17:00"]}
sla_policies:
  - name: gold
    target_percent: 99.9
    calendar: offce
    credits: {type: steps}
maintenance:
  windows:
    - {name: w1, services: [nope], start: "2026-10-02T20:00:00+02:00", end: "2026-10-02T21:00:00+02:00", announced_at: "2026-10-01T20:00:00+02:00"}
  recurring:
    - {name: r1, weekly: ["fri 25:00-03:00"]}
"""


def test_sla_config_problems_are_listed_with_paths() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE, env={})
    problems = info.value.problems
    assert (
        "sla_policies[0].calendar (line 10): unknown calendar 'offce' in policy 'gold' (known: 24x7, office)"
        in problems
    )
    assert (
        "sla_policies[0].credits.type (line 11): unknown credit type 'steps'; known types: linear, tiers"
        in problems
    )
    assert "maintenance.windows[0].services[0] (line 14): unknown service 'nope'" in problems
    assert any(
        p.startswith("maintenance.recurring[0].weekly[0] (line 16): invalid time '25:00'")
        for p in problems
    )


def test_unknown_sla_policy_on_a_service() -> None:
    text = BASE.split("calendars:")[0]
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.problems == [
        "services[0].sla_policy (line 4): unknown SLA policy 'gold' (known: none defined under sla_policies)"
    ]


def test_window_crossing_midnight_on_the_night_the_clocks_go_back() -> None:
    # Sat 24 Oct 20:00 CEST -> Sun 25 Oct 05:00 CET: 9 wall-clock hours, 10 real ones.
    cfg = MaintenanceConfig.model_validate(
        {"recurring": [{"name": "n", "weekly": ["sat 20:00-05:00"]}]}
    )
    period = Interval(datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC))
    [occ] = occurrences(cfg, "svc", period)
    assert occ.interval == Interval(
        datetime(2026, 10, 24, 18, tzinfo=UTC), datetime(2026, 10, 25, 4, tzinfo=UTC)
    )
    assert in_maintenance(cfg, "svc", datetime(2026, 10, 25, 3, 59, tzinfo=UTC))
    assert not in_maintenance(cfg, "svc", datetime(2026, 10, 25, 4, tzinfo=UTC))


def test_one_off_window_suppresses_only_after_it_was_announced() -> None:
    cfg = MaintenanceConfig.model_validate(
        {
            "windows": [
                {
                    "name": "w",
                    "services": ["svc"],
                    "start": "2026-10-02T20:00:00+02:00",
                    "end": "2026-10-02T22:00:00+02:00",
                    "announced_at": "2026-10-02T21:00:00+02:00",
                }
            ]
        }
    )
    assert not in_maintenance(cfg, "svc", datetime(2026, 10, 2, 18, 30, tzinfo=UTC))
    assert in_maintenance(cfg, "svc", datetime(2026, 10, 2, 19, 30, tzinfo=UTC))
    assert not in_maintenance(cfg, "other", datetime(2026, 10, 2, 19, 30, tzinfo=UTC))


def test_the_example_config_loads_with_a_policy_per_contract() -> None:
    from pathlib import Path

    from monitord.config import load_config

    cfg = load_config(Path(__file__).parents[3] / "config" / "sla-example.yaml")
    names = {p.name.split("-")[0] for p in cfg.sla_policies}
    assert {"voizxl", "xelion", "xtium", "vioms", "infravision", "office365"} <= names
