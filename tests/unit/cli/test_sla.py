"""`monitord sla compute` on edge input: a usage error naming it, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitord.cli.exitcodes import ExitCode
from monitord.cli.main import main

SLA_ONLY = "sla_policies:\n  - {name: month, target_percent: 99.9}\n"
GOOD = [{"service": "v", "start": "2026-10-06T10:00:00+00:00", "end": "2026-10-06T11:00:00+00:00"}]


@pytest.mark.parametrize(
    ("intervals", "extra", "message"),
    [
        ([{**GOOD[0], "start": "0001-01-01T00:00:00+14:00"}], [],
         "[0].start: '0001-01-01T00:00:00+14:00' is outside the years 1..9999 in UTC"),
        ("[" * 100_000, [], "not valid JSON: nested too deeply"),
        (GOOD, ["--now", "9999-12-31T23:00:00-14:00"], "--now: '9999-12-31T23:00:00-14:00' is outside"),
        (GOOD, ["--period", "9999-12"], "invalid period '9999-12': the year must be 1970..9998"),
        (GOOD, ["--period", "0001-01"], "invalid period '0001-01': the year must be 1970..9998"),
    ],
)  # fmt: skip
def test_edge_input_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    intervals: object, extra: list[str], message: str,
) -> None:
    config = tmp_path / "sla.yaml"
    config.write_text(SLA_ONLY)
    path = tmp_path / "i.json"
    path.write_text(intervals if isinstance(intervals, str) else json.dumps(intervals))
    argv = ["sla", "compute", "-c", str(config), "--policy", "month", "--period", "2026-10",
            "--intervals", str(path), *extra]
    assert main(argv) == ExitCode.USAGE
    assert message in capsys.readouterr().err
