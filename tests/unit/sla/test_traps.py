"""The silent wrong answers of issue 16, each now an error or a documented choice with a warning.

Each test failed before the change (commit 4d7d78d): the mistyped service
gave 100 %; a window naming an unknown service dropped its maintenance when
the config had no `services:`; weighted rows did not add up; `--policy`
silently overrode a service's own policy; one service printed an object and
two a list; a kind without `min_notice` was honoured unremarked; a running
month was reported with only `"complete": false` to say so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitord.cli.main import main
from monitord.sla.offline import plan
from tests.unit.sla.test_contracts import FIXTURES

CONFIG = FIXTURES / "contracts.yaml"
NOW = "2027-06-01T00:00:00+00:00"


def _compute(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["sla", "compute", *argv])
    cap = capsys.readouterr()
    return code, json.loads(cap.out) if code == 0 else None, cap.err


def test_a_mistyped_service_is_an_error_not_100_percent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _compute(capsys, "-c", str(CONFIG), "--policy", "vioms-telephony",
                            "--period", "2026-10", "--intervals", str(FIXTURES / "vioms.json"),
                            "--service", "vioms-telephonie", "--now", NOW)
    assert code == 2
    assert "unknown service 'vioms-telephonie'" in err and "vioms-telephony" in err


def test_a_window_naming_an_unknown_service_is_an_error_without_services_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "sla-only.yaml"
    cfg.write_text(
        "sla_policies:\n  - {name: m, target_percent: 99.9}\n"
        "maintenance:\n  recurring:\n"
        "    - {name: nightly, services: [voipnw], weekly: ['daily 01:00-02:00']}\n"
    )
    ivs = tmp_path / "i.json"
    ivs.write_text(json.dumps([{"service": "voipnow", "start": "2026-10-05T01:00:00+02:00",
                                "end": "2026-10-05T01:30:00+02:00"}]))
    code, _, err = _compute(capsys, "-c", str(cfg), "--policy", "m", "--period", "2026-10",
                            "--intervals", str(ivs), "--now", NOW)
    assert code == 2
    assert "window 'nightly' names service 'voipnw'" in err


def test_weighted_rows_add_up_to_the_headline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compute(capsys, "-c", str(CONFIG), "--policy", "office365", "--period",
                            "2026-10", "--intervals", str(FIXTURES / "office365.json"), "--now", NOW)
    assert code == 0
    (r,) = out
    rows = [i for i in r["intervals"] if i["kind"] == "downtime"]
    assert sum(i["weighted_seconds"] for i in rows) == pytest.approx(r["downtime_seconds"])
    assert [i["weighted_seconds"] for i in rows] == [1_800, 1_800]  # 2 h x 50/200, 30 min x all
    assert [i["counted_seconds"] for i in rows] == [7_200, 1_800]  # the time, as documented


def test_a_policy_applied_over_a_services_own_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _compute(capsys, "-c", str(CONFIG), "--policy", "office365", "--period",
                              "2026-10", "--intervals", str(FIXTURES / "xtium.json"), "--now", NOW)
    assert code == 0 and out[0]["policy"] == "office365"
    assert "applying policy 'office365' to 'xtium-platform', which is configured with" in err


def test_json_has_one_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compute(capsys, "-c", str(CONFIG), "--policy", "vioms-telephony",
                            "--period", "2026-10", "--intervals", str(FIXTURES / "vioms.json"),
                            "--now", NOW)
    assert code == 0 and isinstance(out, list) and len(out) == 1


def test_a_kind_without_min_notice_is_honoured_with_a_note_and_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ivs = tmp_path / "i.json"
    ivs.write_text(json.dumps([
        {"service": "voipnow", "kind": "maintenance", "maintenance_kind": "emergency",
         "start": "2026-10-20T10:00:00+02:00", "end": "2026-10-20T11:00:00+02:00",
         "announced_at": "2026-10-20T09:59:00+02:00", "ticket": "CHG-7"},
        {"service": "voipnow", "start": "2026-10-20T10:10:00+02:00",
         "end": "2026-10-20T10:20:00+02:00"},
    ]))
    code, out, err = _compute(capsys, "-c", str(CONFIG), "--policy", "voizxl-voipnow",
                              "--period", "2026-10", "--intervals", str(ivs), "--now", NOW)
    assert code == 0
    assert "sets no min_notice for kind 'emergency'" in err
    (window,) = [i for i in out[0]["intervals"] if i["reason"].endswith("(emergency)")]
    assert window["kind"] == "maintenance" and "without a notice check" in window["note"]


def test_a_running_period_without_now_warns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _compute(capsys, "-c", str(CONFIG), "--policy", "vioms-telephony",
                              "--period", "2099-10", "--intervals", str(FIXTURES / "vioms.json"))
    assert code == 0 and out[0]["complete"] is False
    assert "period 2099-10 is not over" in err and "--now" in err


def test_unknown_file_services_in_bulk_are_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the bulk form reports configured services: a file naming others must not pass unnoticed
    from monitord.sla.inputs import parse_rows
    from monitord.sla.sections import load_sla_sections

    data = parse_rows([{"service": "ghost", "start": "2026-10-01T00:00:00+00:00",
                        "end": "2026-10-01T01:00:00+00:00"}], lambda i: f"f[{i}]",
                      default_priority=lambda _s: "P1")
    with pytest.raises(Exception, match="ghost"):
        plan(load_sla_sections(CONFIG), data, period="2026-10")
