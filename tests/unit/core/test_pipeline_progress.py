"""Pipeline: a DOWN check's newer failure counts wait for the next commit (lanes.progress_only).

Property: whatever the probes, heartbeats and interleaving of checks, what the
store holds is what a write per probe would have held, except that a DOWN
check's failure count may lag the daemon's until the next commit, heartbeat or
flush; intervals never differ. After a flush the two agree exactly.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitord.config import effective_checks, parse_config
from monitord.core.events import CheckState
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.storage.sqlite import SqliteStore
from probes.base import FailureReason, ProbeResult
from probes.measurements import OptionsMeasured

T0 = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
CONFIG = """
daemon: {site: test}
defaults: {interval: 10s, timeout: 2s}
checks:
  - {name: a, type: sip_options, target: "sip:192.0.2.1:5060"}
  - {name: b, type: sip_options, target: "sip:192.0.2.2:5060", alert_after: 2, down_after: 3,
     recover_after: 2}
services:
  - {name: any-ab, checks: [a, b], down_when: any}
"""

# (check, what): what is "F" (a failed probe), "." (an answer) or "H" (a heartbeat)
STEPS = st.lists(st.tuples(st.sampled_from("ab"), st.sampled_from("FFF..H")), max_size=60)


def _result(ok: bool) -> ProbeResult:
    if ok:
        return ProbeResult.success(0.01, measured=OptionsMeasured(status=200, transmissions=1))
    return ProbeResult.failure(FailureReason.TIMEOUT, "no answer within 2s")


async def _run(path: Path, steps: list[tuple[str, str]]) -> None:
    cfg = parse_config(CONFIG, env={})
    async with SqliteStore(path) as store:
        await store.start_run(T0 - timedelta(seconds=1))
        p = Pipeline(effective_checks(cfg), cfg.services, store, ResumeState(), [])
        for i, (check, what) in enumerate(steps):
            at = T0 + timedelta(seconds=i)
            if what == "H":
                await p.heartbeat(at)
            else:
                await p.observe(check, at, _result(what == "."), 0.1)
            stored = await store.load_check_snapshots()
            for name in "ab":
                mine, kept = p.snapshot(name), stored.get(name)
                if kept is None:  # never written: it never left UP
                    assert mine.state is CheckState.UP and mine.streak_start is None
                    continue
                assert (kept.state, kept.streak_start, kept.downtime_start,
                        kept.consecutive_successes, kept.recovery_start) == (
                    mine.state, mine.streak_start, mine.downtime_start,
                    mine.consecutive_successes, mine.recovery_start), "only counts may lag"
                if kept.consecutive_failures != mine.consecutive_failures:
                    assert mine.state is CheckState.DOWN
                    assert kept.consecutive_failures < mine.consecutive_failures
        end = T0 + timedelta(seconds=len(steps) + 1)
        assert await p.flush(end) is True
        stored = await store.load_check_snapshots()
        for name, kept in stored.items():
            assert kept.consecutive_failures == p.snapshot(name).consecutive_failures
        open_checks = {d.name for d in await store.downtimes(level="check") if d.end is None}
        assert open_checks == {n for n in "ab" if p.snapshot(n).state is CheckState.DOWN}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STEPS)
def test_the_store_lags_a_down_checks_count_only_and_never_past_a_flush(
    steps: list[tuple[str, str]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(Path(tmp) / "monitord.db", steps))
