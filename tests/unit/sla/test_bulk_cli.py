"""`monitord sla compute` in bulk: every service under its own policy, streamed, as a summary.

The seeded 60-service fleet (tests/unit/sla/fleet.py): the bulk run's
figures for each service equal that service's single run, the output is one
JSON list either way, one report per line when there are several, and
`--summary` drops exactly the interval list and the timeline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitord.cli.main import main
from tests.unit.sla.fleet import LAST_MONTH, NOW
from tests.unit.sla.fleetdigest import write_inputs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_inputs(tmp_path_factory.mktemp("fleet"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[dict[str, object]], str]:
    assert main(list(argv)) == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    return json.loads(text), text


def test_bulk_equals_single_runs_and_summary_drops_only_the_lists(
    inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, ivs = inputs
    base = ["sla", "compute", "-c", str(cfg), "--period", LAST_MONTH, "--intervals", str(ivs),
            "--now", NOW]
    bulk, text = _run(capsys, *base)
    assert len(bulk) == 60 and len({r["policy"] for r in bulk}) == 5
    assert len(text.splitlines()) == 62  # "[", one line per report, "]"
    summary, _ = _run(capsys, *base, "--summary")
    for full, short in zip(bulk, summary, strict=True):
        assert set(full) - set(short) == {"incidents", "intervals", "timeline"}
        assert {k: full[k] for k in short} == short
    for picked in (bulk[0], bulk[17], bulk[59]):
        (single,), _ = _run(capsys, *base, "--service", str(picked["service"]))
        assert single == picked


def test_bulk_with_a_policy_applies_it_to_the_services_named(
    inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, ivs = inputs
    out, _ = _run(capsys, "sla", "compute", "-c", str(cfg), "--period", LAST_MONTH,
                  "--intervals", str(ivs), "--now", NOW, "--policy", "rolling",
                  "--service", "svc-0000", "--service", "svc-0002", "--summary")
    assert [(r["service"], r["policy"]) for r in out] == [
        ("svc-0000", "rolling"), ("svc-0002", "rolling")
    ]
    assert len(out[0]["months"]) == 12
