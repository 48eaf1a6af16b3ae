"""`monitord report` reads the daemon's store (service intervals and gaps) read-only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitord.cli.main import main
from monitord.core.events import ServiceDowntimeClosed, ServiceDowntimeOpened
from monitord.storage.sqlite import SqliteStore
from tests.writes import commit_service

CONFIG = """\
daemon: {{storage: {db}}}
checks:
  - {{name: probe, type: sip_options, target: "sip:127.0.0.1"}}
services:
  - {{name: svc, checks: [probe], sla_policy: month}}
  - {{name: bare, checks: [probe]}}
sla_policies:
  - {{name: month, target_percent: 99.9}}
"""


async def _seed(db: Path) -> None:
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the DST night
    end = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    async with SqliteStore(db) as store:
        await store.start_run(datetime(2026, 10, 1, tzinfo=UTC))
        await commit_service(store, 
            [
                ServiceDowntimeOpened("svc", start, "timeout", "no answer"),
                ServiceDowntimeClosed("svc", start, end),
            ]
        )


def test_report_from_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    asyncio.run(_seed(db))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(db=db))
    argv = [
        "report",
        "--config",
        str(cfg),
        "--service",
        "svc",
        "--period",
        "2026-10",
        "--now",
        "2026-11-05T00:00:00+00:00",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    # 745 h = 2,682,000 s; one hour down -> 2,678,400 / 2,682,000
    assert out["period_seconds"] == 2_682_000
    assert out["downtime_seconds"] == 3_600
    assert out["availability_percent"] == round(2_678_400 / 2_682_000 * 100, 10)
    assert out["intervals"][0]["reason"] == "timeout"
    assert main([*argv, "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("service,policy,policy_version,period,")
    assert rows[1].startswith("svc,month,1,2026-10,")


def test_report_needs_a_policy_and_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(db=tmp_path / "missing.db"))
    assert main(["report", "-c", str(cfg), "--service", "bare", "--period", "2026-10"]) == 2
    assert "has no sla_policy" in capsys.readouterr().err
    assert main(["report", "-c", str(cfg), "--service", "svc", "--period", "2026-10"]) == 3
    assert "no monitord database" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()
