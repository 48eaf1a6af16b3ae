"""Two locations, `locations: {at_least: 2}`, one judge killed mid-outage (issue 13 acceptance).

Each location reaches the real SIPp through its own relay (its network path);
the relays also keep the probe history they carried. Two judge candidates run
as processes of their own, so killing the judge moves only the judging.

1. Location ams1's path is cut for 10 intervals: ams1 records its own interval (the
   evidence), and the judged record shows nothing: fra1 saw the target up.
2. The target stops for 10 intervals: exactly one judged interval, from the
   later of the two locations' first failed probes to the earlier of their
   first successes, listing both locations' intervals as evidence. The judge
   is killed with -9 while it is open: the other candidate takes the lease and
   closes it once, at that instant.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.daemon import DaemonProcess
from tests.integration.fleetprocs import (
    INTERVAL,
    check,
    kill9,
    member,
    query,
    status,
    transitions,
    us,
    wait,
)
from tests.integration.pathrelay import PathRelay
from tests.integration.peers import free_port, sipp_options_responder

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECK, SERVICE = "pbx", "voice"
TIMEOUT = 0.5  # the probes' timeout (fleetprocs.member)


def judging(p: DaemonProcess) -> bool:
    return bool(status(p)["judge"]["holds_lease"])


def first(history: list[tuple[datetime, str, str]], frm: set[str], to: set[str],
          after: datetime) -> datetime:
    return min(at for at, a, b in history if a in frm and b in to and at > after)


def test_a_cut_location_is_evidence_only_and_a_new_judge_closes_the_outage_once(
        tmp_path: Path, pg_url: str) -> None:
    target = free_port()
    sipp = sipp_options_responder(target, tmp_path / "sipp")
    sipp.start()
    relays = {loc: PathRelay(("127.0.0.1", target)).start() for loc in ("ams1", "fra1")}
    service = {"name": SERVICE, "checks": [CHECK], "locations": {"at_least": 2}}

    def agent(loc: str) -> DaemonProcess:
        return member(tmp_path, pg_url, location=loc, agent=f"{loc}-1", role="agent",
                      checks=[check(CHECK, relays[loc].port, at_least=2)], services=[service])

    def judge(name: str) -> DaemonProcess:
        return member(tmp_path, pg_url, location="noc", agent=name, role="judge",
                      checks=[check(CHECK, target, at_least=2)], services=[service])

    a, b, j1, j2 = agent("ams1"), agent("fra1"), judge("judge-1"), judge("judge-2")
    procs = [a, b, j1, j2]
    try:
        j1.start()
        wait("judge-1 judging", lambda: judging(j1), 10, [j1])
        for p in (j2, a, b):
            p.start()
        wait("both locations probing", lambda: all(status(p)["checks_held"] == [CHECK]
                                                   for p in (a, b)), 15, procs)
        time.sleep(2 * INTERVAL)

        # 1. A's path is cut for 10 intervals
        cut = relays["ams1"].cut()
        time.sleep(10 * INTERVAL)
        mended = relays["ams1"].mend()
        wait("A's own interval closed", lambda: query(
            pg_url, "SELECT count(*) FROM loc_ams1.downtimes WHERE level = 'check'"
                    " AND end_us IS NOT NULL")[0][0] == 1, 10, procs)

        # 2. the target stops for 10 intervals; the judge is killed while it is down
        time.sleep(2 * INTERVAL)
        sipp.stop()
        stopped = time.time()
        wait("the judged interval open", lambda: query(
            pg_url, "SELECT count(*) FROM downtimes WHERE level = 'check' AND end_us IS NULL"
        )[0][0] == 1, 15, procs)
        killed = kill9(j1)
        took = wait("judge-2 judging", lambda: judging(j2), 10, procs)
        time.sleep(max(0.0, stopped + 10 * INTERVAL - time.time()))
        sipp.start()
        wait("the judged intervals closed", lambda: query(
            pg_url, "SELECT count(*) FROM downtimes WHERE end_us IS NULL")[0][0] == 0
            and query(pg_url, "SELECT count(*) FROM downtimes")[0][0] == 2, 15, procs)
        time.sleep(2 * INTERVAL)  # any second write would land now
        evidence_api = j2.get(f"/api/v1/downtimes?check={CHECK}")
    finally:
        for p in procs:
            p.stop()
        sipp.stop()
        for r in relays.values():
            r.stop()

    hist = {loc: transitions(p, CHECK) for loc, p in (("ams1", a), ("fra1", b))}
    t_stop = datetime.fromtimestamp(stopped).astimezone()
    t_cut = datetime.fromtimestamp(cut).astimezone()

    # 1. A's cut is A's own evidence, and no judged downtime at all
    loc_a = query(pg_url, "SELECT start_us, end_us FROM loc_ams1.downtimes WHERE level = 'check'"
                          " ORDER BY start_us")
    loc_b = query(pg_url, "SELECT start_us, end_us FROM loc_fra1.downtimes WHERE level = 'check'"
                          " ORDER BY start_us")
    assert len(loc_a) == 2 and len(loc_b) == 1
    a_cut_start = first(hist["ams1"], {"up"}, {"failing"}, t_cut)
    assert us(loc_a[0][0]) == a_cut_start
    assert us(loc_a[0][1]) == first(hist["ams1"], {"down"}, {"up"}, a_cut_start)

    # 2. exactly one judged interval per level, at the instants the rule gives
    judged = query(pg_url, "SELECT level, name, start_us, end_us, end_cause FROM downtimes"
                           " ORDER BY level")
    a_fail = first(hist["ams1"], {"up"}, {"failing"}, t_stop)
    b_fail = first(hist["fra1"], {"up"}, {"failing"}, t_stop)
    a_back = first(hist["ams1"], {"down"}, {"up"}, a_fail)
    b_back = first(hist["fra1"], {"down"}, {"up"}, b_fail)
    start, end = max(a_fail, b_fail), min(a_back, b_back)
    assert [(lvl, name, us(s), us(e), cause) for lvl, name, s, e, cause in judged] == [
        ("check", CHECK, start, end, "recovered"), ("service", SERVICE, start, end, "recovered")]
    assert us(loc_a[1][0]) == a_fail and us(loc_b[0][0]) == b_fail
    # unmonitored only while fewer than 2 locations watched: before the second one started
    began = [us(t) for (t,) in query(pg_url, "SELECT min(since_us) FROM fleet.tenures"
                                             " GROUP BY location ORDER BY 1")]
    gaps = query(pg_url, "SELECT level, start_us, end_us FROM fleet.judged_gaps ORDER BY level")
    assert [(lvl, us(s), us(e)) for lvl, s, e in gaps] == [("check", *began), ("service", *began)]

    # ... matching the probes the paths carried (the relays' own history)
    for loc, fail, back in (("ams1", a_fail, a_back), ("fra1", b_fail, b_back)):
        probes = relays[loc].history(CHECK)
        lost = min(p.at for p in probes if p.at > stopped - 0.3 and not p.answered_within(TIMEOUT))
        again = min(p.at for p in probes if p.at > lost and p.answered_within(TIMEOUT))
        assert abs(lost - fail.timestamp()) < 0.2 and abs(again - back.timestamp()) < 0.2

    # ... with both locations' evidence
    (row,) = evidence_api
    assert sorted((e["location"], e["start"], e["end"]) for e in row["evidence"]) == [
        ("ams1", a_fail.isoformat(), a_back.isoformat()),
        ("fra1", b_fail.isoformat(), b_back.isoformat())]

    # ... opened by the first judge, closed once by the second
    def changes(p: DaemonProcess) -> list[tuple[str, str]]:
        return [(r["change"], r.get("check") or r["service"]) for r in p.log_records()
                if r.get("event") == "judged" and r["change"] != "JudgedGap"]

    assert changes(j1) == [("JudgedOpened", CHECK), ("JudgedOpened", SERVICE)]
    assert changes(j2) == [("JudgedClosed", CHECK), ("JudgedClosed", SERVICE)]
    print(f"\njudged [{start.time()} .. {end.time()}) = {(end - start).total_seconds():.3f} s;"
          f" A cut {mended - cut:.1f} s -> judged 0 s; judge killed, judge-2 took the lease"
          f" {took - killed:.2f} s later")
