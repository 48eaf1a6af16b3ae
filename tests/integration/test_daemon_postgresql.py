"""End to end on PostgreSQL: the real daemon, a real SIPp, the session's real PostgreSQL.

The same outage is run with the store on SQLite and on PostgreSQL: each gives
exactly one check interval and one service interval, from the first failed
probe to the first success (the daemon's own transition log), and the rows
in the database say the same as the API. The backend is the only difference.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from monitord.storage.timestamps import us_to_datetime
from tests.integration.daemon import DaemonProcess
from tests.integration.peers import free_port, sipp_options_responder

pytestmark = pytest.mark.integration

INTERVAL = 1.0
CHECK = "pbx-options"


def _rows_sqlite(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(
            "SELECT level, name, start_us, end_us FROM downtimes ORDER BY level").fetchall()


async def _rows_postgresql(url: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT level, name, start_us, end_us FROM downtimes ORDER BY level")
        return [tuple(r) for r in rows]
    finally:
        await conn.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_outage_is_one_check_and_one_service_interval(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, daemon_dir: Path
) -> None:
    storage = str(daemon_dir / "monitord.db")
    if backend == "postgresql":
        storage = request.getfixturevalue("pg_url")
    port = free_port()
    (tmp_path / "peer").mkdir()
    sipp = sipp_options_responder(port, tmp_path / "peer")
    sipp.start()
    daemon = DaemonProcess(daemon_dir, free_port(), {
        "daemon": {"site": "it", "storage": storage},
        "defaults": {"interval": f"{INTERVAL}s", "timeout": "0.5s"},
        "checks": [{"name": CHECK, "type": "sip_options", "target": f"sip:127.0.0.1:{port}"}],
        "services": [{"name": "pbx", "checks": [CHECK]}],
    })
    daemon.start()
    try:
        daemon.wait_for("a successful probe", lambda: daemon.check(CHECK)["state"] == "up"
                        and (daemon.check(CHECK)["last_result"] or {}).get("ok"), 10)
        stopped_at = datetime.now(UTC)
        sipp.stop()
        daemon.wait_for("the check to go down", lambda: daemon.check(CHECK)["state"] == "down", 15)
        time.sleep(max(0.0, 7 * INTERVAL - (datetime.now(UTC) - stopped_at).total_seconds()))
        sipp.start()
        daemon.wait_for("the check to recover", lambda: daemon.check(CHECK)["state"] == "up", 15)

        steps = [r for r in daemon.log_records()
                 if r.get("event") == "check_transition" and r["check"] == CHECK]
        first_failure = datetime.fromisoformat(steps[0]["at"])
        first_success = datetime.fromisoformat(steps[-1]["at"])
        [check] = daemon.get(f"/api/v1/downtimes?check={CHECK}")
        [service] = daemon.get("/api/v1/downtimes?service=pbx")
        for interval in (check, service):
            assert datetime.fromisoformat(interval["start"]) == first_failure
            assert datetime.fromisoformat(interval["end"]) == first_success
        assert stopped_at <= first_failure <= stopped_at + timedelta(seconds=2 * INTERVAL)
        assert daemon.get("/api/v1/gaps") == []
    finally:
        daemon.stop()
        sipp.stop()

    rows = (asyncio.run(_rows_postgresql(storage)) if backend == "postgresql"
            else _rows_sqlite(Path(storage)))
    assert [(lv, name, us_to_datetime(s), us_to_datetime(e)) for lv, name, s, e in rows] == [
        ("check", CHECK, first_failure, first_success),
        ("service", "pbx", first_failure, first_success),
    ]
    print(f"\n[{backend}] one check and one service interval {first_failure.isoformat()}"
          f" .. {first_success.isoformat()} ({(first_success - first_failure).total_seconds():.3f} s)")


def test_a_daemon_killed_on_postgresql_restarts_at_once_and_records_the_gap(
    pg_url: str, tmp_path: Path, daemon_dir: Path
) -> None:
    """kill -9 drops the session, so the advisory lock never blocks the restart; the open
    interval survives, the absence is an unclean gap, and a second daemon is refused."""
    port = free_port()
    (tmp_path / "peer").mkdir()
    sipp = sipp_options_responder(port, tmp_path / "peer")
    sipp.start()
    config = {
        "daemon": {"site": "it", "storage": pg_url},
        "defaults": {"interval": f"{INTERVAL}s", "timeout": "0.5s"},
        "checks": [{"name": CHECK, "type": "sip_options", "target": f"sip:127.0.0.1:{port}"}],
        "services": [{"name": "pbx", "checks": [CHECK]}],
    }
    daemon = DaemonProcess(daemon_dir, free_port(), config)
    daemon.start()
    try:
        sipp.stop()
        daemon.wait_for("the check to go down", lambda: daemon.check(CHECK)["state"] == "down", 15)
        [before] = daemon.get(f"/api/v1/downtimes?check={CHECK}")

        (tmp_path / "second").mkdir()
        second = DaemonProcess(tmp_path / "second", free_port(), dict(config))
        with pytest.raises(RuntimeError, match=r"already in use by another monitord \(monitord pid"):
            second.start()

        daemon.stop(signal.SIGKILL)
        killed_at = datetime.now(UTC)
        daemon.start()  # at once: the lock went with the killed session
        assert daemon.check(CHECK)["down_since"] == before["start"]
        sipp.start()
        daemon.wait_for("the check to recover", lambda: daemon.check(CHECK)["state"] == "up", 15)
        [after] = daemon.get(f"/api/v1/downtimes?check={CHECK}")
        assert (after["id"], after["start"]) == (before["id"], before["start"])
        [gap] = daemon.get("/api/v1/gaps")
        assert gap["cause"] == "unclean_shutdown"
        assert datetime.fromisoformat(gap["start"]) <= killed_at
        print(f"\n[postgresql] kill -9 and restart: interval {after['start']} .. {after['end']}"
              f" kept id {after['id']}; gap {gap['start']} .. {gap['end']}"
              f" ({gap['duration_seconds']:.3f} s, {gap['cause']})")
    finally:
        daemon.stop()
        sipp.stop()
