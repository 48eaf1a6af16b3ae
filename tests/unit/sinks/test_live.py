"""The live view: what the API shows as each check's last probe, and what it keeps of it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from monitord.config import effective_checks, parse_config
from monitord.core.checkstate import CheckMachine
from monitord.core.events import CheckSnapshot
from monitord.core.stream import Committed, ProbeOutcome
from monitord.sinks.live import LastProbe, LiveView
from probes.base import ProbeResult

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def view() -> LiveView:
    cfg = parse_config(
        'checks: [{name: sip, type: sip_options, target: "sip:192.0.2.10"}]', env={}
    )
    return LiveView(effective_checks(cfg), cfg.services)


def test_a_check_not_probed_yet_has_no_last_probe() -> None:
    assert view().last("sip") is None


def test_the_last_probe_is_its_time_and_result_and_the_outcome_is_not_kept() -> None:
    """Every object kept from one probe to the next is one more for each full GC pass to
    walk (issue 14): the view keeps the time and result, not the outcome with the
    snapshot before it."""
    live = view()
    check = live.checks["sip"]
    before = CheckSnapshot.initial("sip")
    kept = sys.getrefcount(before)
    for n in range(3):
        at = T0 + timedelta(seconds=n)
        result = ProbeResult.success(0.002 + n / 1000)
        after = CheckMachine.answered(before if n == 0 else live.snapshots["sip"], at)
        live.consume(Committed(at, ProbeOutcome(check, at, result, 0.003, before, after), ()))
        assert live.last("sip") == LastProbe(at, result)
        assert live.snapshots["sip"] is after
    assert sys.getrefcount(before) == kept
