"""PostgreSQL stopped for 60 s in the middle of an outage (issue 13 acceptance).

The target goes down, then the database stops before either location has
confirmed it, and the target comes back while the database is still down:
every fact of the outage (each location's interval opening and closing) is
made while PostgreSQL is gone. The agents keep probing and journal locally
(/healthz says so); when the database is back they replay. Afterwards each
location's record, and the judged record, match the probe history to the
probe: one interval each, from the first failed probe to the first success,
nothing lost and nothing twice.
"""

from __future__ import annotations

import json
import time
import urllib.error
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.daemon import DaemonProcess
from tests.integration.fleetprocs import (
    INTERVAL,
    check,
    member,
    query,
    status,
    transitions,
    us,
    wait,
)
from tests.integration.pathrelay import PathRelay
from tests.integration.peers import free_port, sipp_options_responder
from tests.postgres import PgCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECK, SERVICE = "pbx", "voice"
TIMEOUT = 0.5
DATABASE_DOWN = 60.0


def healthz(p: DaemonProcess) -> tuple[int, dict[str, object]]:
    try:
        return 200, p.get("/healthz")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_database_down_for_a_minute_during_an_outage_loses_and_doubles_nothing(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str) -> None:
    target = free_port()
    sipp = sipp_options_responder(target, tmp_path / "sipp")
    sipp.start()
    relays = {loc: PathRelay(("127.0.0.1", target)).start() for loc in ("ams1", "fra1")}
    service = {"name": SERVICE, "checks": [CHECK], "locations": {"at_least": 2}}
    agents = {loc: member(tmp_path, pg_url, location=loc, agent=f"{loc}-1", role="agent",
                          checks=[check(CHECK, relays[loc].port, at_least=2)],
                          services=[service]) for loc in relays}
    judge = member(tmp_path, pg_url, location="noc", agent="judge", role="judge",
                   checks=[check(CHECK, target, at_least=2)], services=[service])
    procs = [*agents.values(), judge]
    try:
        for p in procs:
            p.start()
        wait("both locations probing", lambda: all(status(p)["checks_held"] == [CHECK]
                                                   for p in agents.values()), 15, procs)
        time.sleep(2 * INTERVAL)
        sipp.stop()
        stopped = time.time()
        time.sleep(2 * INTERVAL)  # failing, not yet down (down after 5)
        pg_cluster.stop("fast")
        db_down = time.time()
        time.sleep(max(0.0, stopped + 10 * INTERVAL - time.time()))
        sipp.start()
        # meanwhile the agents probe on, journal, and say so
        wait("the journal on /healthz", lambda: all(
            healthz(p)[0] == 503 and "journaled locally" in str(healthz(p)[1]["problem"])
            for p in agents.values()), 10, procs)
        waiting = {loc: status(p)["journal_waiting"] for loc, p in agents.items()}
        metrics = agents["ams1"].get("/metrics")
        time.sleep(max(0.0, db_down + DATABASE_DOWN - time.time()))
        pg_cluster.start()
        db_up = time.time()
        wait("the journals replayed", lambda: all(
            status(p)["journal_waiting"] == 0 and status(p)["database_up"]
            for p in agents.values()), 20, procs)
        replayed = time.time()
        wait("the judged intervals closed", lambda: query(
            pg_url, "SELECT count(*) FROM downtimes WHERE end_cause IS NOT NULL")[0][0] == 2,
            20, procs)
        time.sleep(2 * INTERVAL)  # a duplicate would land now
        assert all(healthz(p)[0] == 200 for p in agents.values())
    finally:
        for p in procs:
            p.stop()
        sipp.stop()
        for r in relays.values():
            r.stop()

    assert all(n > 0 for n in waiting.values()), waiting
    assert 'monitord_fleet_journal_waiting{location="ams1",site="noc"}' in metrics
    t_stop = datetime.fromtimestamp(stopped).astimezone()
    truth = {}
    for loc, p in agents.items():
        hist = transitions(p, CHECK)
        fail = min(at for at, a, b in hist if (a, b) == ("up", "failing") and at > t_stop)
        back = min(at for at, a, b in hist if (a, b) == ("down", "up") and at > fail)
        assert [(a, b) for at, a, b in hist if at > t_stop] == [
            ("up", "failing"), ("failing", "alerting"), ("alerting", "down"), ("down", "up")]
        truth[loc] = (fail, back)
        # each location's own record: exactly the one interval its probes show
        rows = query(pg_url, f"SELECT level, start_us, end_us, end_cause FROM loc_{loc}.downtimes"
                             " ORDER BY level")
        assert [(lvl, us(s), us(e), c) for lvl, s, e, c in rows] == [
            ("check", fail, back, "recovered"), ("service", fail, back, "recovered")], loc
        assert query(pg_url, f"SELECT count(*) FROM loc_{loc}.episodes")[0][0] == 0
        # ... and the probes its path carried
        probes = relays[loc].history(CHECK)
        lost = min(x.at for x in probes if x.at > stopped - 0.3 and not x.answered_within(TIMEOUT))
        again = min(x.at for x in probes if x.at > lost and x.answered_within(TIMEOUT))
        assert abs(lost - fail.timestamp()) < 0.2 and abs(again - back.timestamp()) < 0.2

    start = max(f for f, _ in truth.values())
    end = min(b for _, b in truth.values())
    judged = query(pg_url, "SELECT level, start_us, end_us, end_cause FROM downtimes ORDER BY level")
    assert [(lvl, us(s), us(e), c) for lvl, s, e, c in judged] == [
        ("check", start, end, "recovered"), ("service", start, end, "recovered")]
    gaps = query(pg_url, "SELECT start_us FROM fleet.judged_gaps WHERE end_us > $1",
                 int(stopped * 1e6))
    assert gaps == []  # the agents never stopped watching
    print(f"\ndatabase down {db_up - db_down:.1f} s; journaled {waiting}; replayed "
          f"{replayed - db_up:.2f} s after it came back; judged [{start.time()} .. {end.time()})")
