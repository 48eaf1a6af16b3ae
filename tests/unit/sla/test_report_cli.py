"""`monitord report` reads the daemon's store (service intervals, gaps, runs) read-only.

The record: the daemon first started 1 Oct 2026 00:00 UTC (02:00 CEST, two
hours into October in Amsterdam), svc was down 25 Oct 00:30-01:30 UTC (the
DST night), and the daemon stopped cleanly 5 Nov. October is 745 h =
2,682,000 s; the two hours before the first start are unmonitored (issue 12),
so under the default `unmonitored: unknown` 2,674,800 s are measured.
"""

from __future__ import annotations

import asyncio
import csv
import io
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
        await store.heartbeat(datetime(2026, 11, 4, tzinfo=UTC))
        await store.stop_run(datetime(2026, 11, 4, 12, tzinfo=UTC))


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
    (out,) = json.loads(capsys.readouterr().out)  # one shape: always a list
    # one hour down in 2,674,800 watched seconds; the verdict holds either way:
    # with the 7,200 unwatched seconds down too, 10,800 s is over the 2,682 s budget
    assert out["period_seconds"] == 2_682_000
    assert out["unmonitored_seconds"] == 7_200
    assert out["measured_seconds"] == 2_674_800
    assert out["downtime_seconds"] == 3_600
    assert out["availability_percent"] == round(2_671_200 / 2_674_800 * 100, 10)
    assert out["coverage_percent"] == round(2_674_800 / 2_682_000 * 100, 10)
    assert (out["met"], out["verdict"]) == (False, "not_met")
    first, down = out["intervals"]
    assert (first["kind"], first["reason"], first["seconds"]) == (
        "unmonitored", "before_first_start", 7_200
    )
    assert down["reason"] == "timeout"
    assert main([*argv, "--format", "csv"]) == 0  # one row per incident
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    ((row),) = rows
    assert (row["service"], row["policy"], row["period"], row["priority"]) == (
        "svc", "month", "2026-10", "P1")
    assert (row["incident_start"], row["counted_seconds"], row["reasons"], row["evidence"]) == (
        "2026-10-25T00:30:00+00:00", "3600.0", "timeout", "no answer")
    assert main([*argv, "--format", "csv", "--summary"]) == 0  # one row of figures per report
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("service,policy,policy_version,period,")
    assert rows[1].startswith("svc,month,1,2026-10,")


def test_time_nobody_watched_is_never_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12 item 4: a month before the first start, and after the last stop."""
    db = tmp_path / "m.db"
    asyncio.run(_seed(db))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(db=db))
    base = ["report", "-c", str(cfg), "--service", "svc", "--now", "2026-12-15T00:00:00+00:00"]
    assert main([*base, "--period", "2025-01"]) == 0
    (before,) = json.loads(capsys.readouterr().out)
    assert before["complete"] is True
    assert before["unmonitored_seconds"] == before["period_seconds"] == 31 * 86400
    assert before["coverage_percent"] == 0 and before["availability_percent"] is None
    assert (before["met"], before["verdict"]) == (None, "undetermined")
    # stopped 4 Nov 12:00 UTC: the rest of November (local) is unmonitored
    assert main([*base, "--period", "2026-11"]) == 0
    (after,) = json.loads(capsys.readouterr().out)
    tail = [i for i in after["intervals"] if i["kind"] == "unmonitored"]
    assert [(i["reason"], i["start"]) for i in tail] == [
        ("not_running", "2026-11-04T12:00:00+00:00")
    ]
    assert after["unmonitored_seconds"] == (30 * 86400) - (3 * 86400 + 13 * 3600)
    assert after["verdict"] == "undetermined"  # 3.5 days watched, 26.5 days not


def test_a_running_daemons_record_reaches_its_last_heartbeat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed() -> None:
        async with SqliteStore(tmp_path / "m.db") as store:
            await store.start_run(datetime(2026, 10, 10, tzinfo=UTC))
            await store.heartbeat(datetime(2026, 10, 20, tzinfo=UTC))  # no stop: maybe running

    asyncio.run(seed())
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(db=tmp_path / "m.db"))
    argv = ["report", "-c", str(cfg), "--service", "svc", "--period", "2026-10",
            "--now", "2026-10-25T00:00:00+00:00"]
    assert main(argv) == 0
    (out,) = json.loads(capsys.readouterr().out)
    assert out["as_of"] == "2026-10-20T00:00:00+00:00" and out["complete"] is False
    # 30 Sep 22:00 UTC .. 10 Oct 00:00 UTC before the first start
    assert out["unmonitored_seconds"] == 9 * 86400 + 2 * 3600
    assert out["measured_seconds"] == 10 * 86400


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
