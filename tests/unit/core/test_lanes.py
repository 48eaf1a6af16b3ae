"""The pipeline's quiet path: commits built through their slots, and each check's
probe-reading sinks bound when the check is registered (monitord/core/lanes.py).

Both are shortcuts for the probe that changed nothing; these tests hold them to
what the careful path (the constructors, every following sink) makes and does.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry

from monitord.config import effective_checks, parse_config
from monitord.config.load import EffectiveCheck
from monitord.core.events import CheckSnapshot
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.stream import Committed, ProbeOutcome, probe_sinks, quiet_commit
from monitord.sinks.calls import CallSink
from monitord.sinks.snmp import SnmpSink
from monitord.storage.sqlite import SqliteStore
from probes.base import FailureReason, ProbeResult
from probes.measurements import OptionsMeasured

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)

CHECKS = """\
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1:5060"}
  - {name: sbc-b, type: sip_options, target: "sip:192.0.2.2:5060"}
  - {name: call-echo, type: sip_call, target: "sip:echo@192.0.2.3:5060"}
  - {name: pbx-up, type: snmp_up, target: {host: 192.0.2.4, community_file: COMMUNITY}}
"""


def checks(tmp_path: Path) -> list[EffectiveCheck]:
    secret = tmp_path / "community"
    secret.write_text("c")
    secret.chmod(0o600)
    return effective_checks(parse_config(CHECKS.replace("COMMUNITY", str(secret)), env={}))


class Heard:
    """Test double: a sink that keeps what it was handed."""

    def __init__(self) -> None:
        self.seen: list[Committed] = []

    def consume(self, c: Committed) -> None:
        self.seen.append(c)


class EventsOnly(Heard):
    QUIET = False


class OnlyB(Heard):
    """Reads the probes of sbc-b only."""

    def follows(self, check: EffectiveCheck) -> bool:
        return check.name == "sbc-b"


def test_quiet_commit_makes_what_the_constructors_make(tmp_path: Path) -> None:
    check = checks(tmp_path)[0]
    result = ProbeResult.success(0.01, "200 OK", OptionsMeasured(status=200, transmissions=1))
    before = CheckSnapshot.initial(check.name)
    after = dataclasses.replace(before, last_probe=T0)
    fast = quiet_commit(check, T0, result, 0.25, before, after)
    careful = Committed(T0, ProbeOutcome(check, T0, result, 0.25, before, after), ())
    assert type(fast) is Committed and type(fast.probe) is ProbeOutcome
    assert fast == careful  # (not hashable: the check's config holds dicts)
    assert fast.quiet and fast.recorded
    assert [getattr(fast, f.name) for f in dataclasses.fields(Committed)] == [
        getattr(careful, f.name) for f in dataclasses.fields(Committed)]
    assert [getattr(fast.probe, f.name) for f in dataclasses.fields(ProbeOutcome)] == [
        check, T0, result, 0.25, before, after]


def test_probe_sinks_are_those_following_probes_and_this_check(tmp_path: Path) -> None:
    a, b, *_ = checks(tmp_path)
    every, events_only, only_b = Heard(), EventsOnly(), OnlyB()
    assert probe_sinks([every, events_only, only_b], a) == (every,)
    assert probe_sinks([every, events_only, only_b], b) == (every, only_b)


def test_snmp_and_call_sinks_follow_exactly_the_checks_whose_probes_they_read(
        tmp_path: Path) -> None:
    all_checks = checks(tmp_path)
    snmp, calls = SnmpSink(CollectorRegistry(), all_checks), CallSink(CollectorRegistry(),
                                                                      all_checks)
    assert [c.name for c in all_checks if snmp.follows(c)] == ["pbx-up"]
    assert [c.name for c in all_checks if calls.follows(c)] == ["call-echo"]


async def test_a_quiet_probe_reaches_only_the_sinks_that_read_its_check(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "monitord.db")
    await store.open()
    try:
        every, only_b = Heard(), OnlyB()
        p = Pipeline(checks(tmp_path), [], store, ResumeState(), [every, only_b])
        await p.resume(T0)
        ok = ProbeResult.success(0.01, "", OptionsMeasured(status=200, transmissions=1))
        late = ProbeResult.not_judged("our socket dropped the answer")
        for i, name in enumerate(["sbc-a", "sbc-b", "sbc-a", "sbc-b"]):
            at = T0 + timedelta(seconds=i)
            await p.observe(name, at, late if i == 3 else ok, 0.01)
        assert [c.probe.check.name for c in every.seen if c.probe] == [
            "sbc-a", "sbc-b", "sbc-a", "sbc-b"]
        assert [c.probe.check.name for c in only_b.seen if c.probe] == ["sbc-b", "sbc-b"]
        # news is not quiet: a failure changes sbc-a's state, and every sink hears of it
        await p.observe("sbc-a", T0 + timedelta(seconds=9),
                        ProbeResult.failure(FailureReason.TIMEOUT, "no answer"), 2.0)
        assert only_b.seen[-1].probe is not None and only_b.seen[-1].probe.check.name == "sbc-a"
        assert p.snapshot("sbc-a").last_probe == T0 + timedelta(seconds=9)
    finally:
        await store.close()
