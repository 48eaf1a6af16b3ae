"""Prometheus exposition: what a dashboard and an `increase()` query will see.

Values are read back from the rendered text (`generate_latest`), the way
Prometheus scrapes them, not from client objects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitord.core.events import (
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.sinks.metrics import DowntimeCounter, Metrics
from probes.base import FailureReason, ProbeResult
from probes.measurements import OptionsMeasured

T0 = datetime(2024, 3, 31, 0, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def exposition(m: Metrics) -> str:
    return generate_latest(m.registry).decode()


def value(m: Metrics, name: str, **labels: str) -> float:
    """The value of the one sample called `name` whose labels include `labels`."""
    found = [
        s.value
        for family in text_string_to_metric_families(exposition(m))
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    ]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
    return found[0]


def snapshot(state: CheckState, failures: int) -> CheckSnapshot:
    start = t(0) if failures else None
    down = t(0) if state is CheckState.DOWN else None
    return CheckSnapshot("sbc-a", state, failures, 0, start, "timeout", "", down, t(failures))


@pytest.fixture
def metrics() -> Metrics:
    m = Metrics("ams1")
    m.declare(
        [("sbc-a", "sip_options"), ("sbc-b", "sip_options")],
        ["voice"],
        {("check", "sbc-b"): 42.5, ("service", "voice"): 7.0},  # closed before this run
    )
    return m


# --- DowntimeCounter -------------------------------------------------------------------

# One outage: idle gap before it, its length, scrapes during it and after it (offsets in s).
outages = st.lists(
    st.tuples(
        st.integers(0, 600),
        st.integers(0, 600),
        st.lists(st.integers(0, 600), max_size=3),
        st.lists(st.integers(0, 600), max_size=3),
    ),
    max_size=8,
)


@given(outages, st.booleans())
def test_downtime_counter_is_monotonic_and_equals_the_recorded_downtime(
    spec: list[tuple[int, int, list[int], list[int]]], last_stays_open: bool
) -> None:
    counter = DowntimeCounter()
    now, closed_total, last_value = 0, 0, 0.0

    def scrape(at: int, open_start: int | None) -> None:
        nonlocal last_value
        got = counter.value(t(at))
        expected = closed_total + (at - open_start if open_start is not None else 0)
        assert got >= last_value, "a counter never goes backwards"
        assert got == pytest.approx(expected)
        last_value = got

    for i, (gap, length, during, after) in enumerate(spec):
        start = now + gap
        end = start + length
        counter.opened(t(start))
        for at in sorted(start + min(d, length) for d in during):
            scrape(at, start)
        if last_stays_open and i == len(spec) - 1:
            scrape(end, start)
            return
        counter.closed(t(start), t(end))
        closed_total += length
        now = end
        for at in sorted(end + a for a in after):
            scrape(at, None)
            now = max(now, at)


def test_downtime_counter_starts_from_the_seed_of_closed_intervals() -> None:
    counter = DowntimeCounter(3600.0)
    assert counter.value(t(0)) == 3600.0
    counter.opened(t(0))
    assert counter.value(t(30)) == 3630.0


def test_downtime_counter_never_goes_back_when_the_end_is_backdated() -> None:
    """recover_after > 1: the interval ends at the first success, which a scrape may have passed."""
    counter = DowntimeCounter()
    counter.opened(t(0))
    assert counter.value(t(100)) == 100.0
    counter.closed(t(0), t(90))  # the second success came at t=110
    assert counter.value(t(200)) == 100.0, "monotonic; the store holds the exact 90 s"


# --- declared series -------------------------------------------------------------------


def test_declare_creates_every_series_with_zeros_not_gaps(metrics: Metrics) -> None:
    for check in ("sbc-a", "sbc-b"):
        assert value(metrics, "monitord_check_consecutive_failures", check=check) == 0
        assert value(metrics, "monitord_check_alerting", check=check) == 0
        assert value(metrics, "monitord_check_state", check=check, state="up") == 1
        for state in ("failing", "alerting", "down"):
            assert value(metrics, "monitord_check_state", check=check, state=state) == 0
    assert value(metrics, "monitord_check_downtime_seconds_total", check="sbc-a") == 0
    assert value(metrics, "monitord_check_downtime_seconds_total", check="sbc-b") == 42.5
    assert value(metrics, "monitord_service_up", service="voice") == 1
    assert value(metrics, "monitord_service_downtime_seconds_total", service="voice") == 7.0
    assert value(metrics, "monitord_unmonitored_seconds_total") == 0
    assert value(metrics, "monitord_build_info", site="ams1") == 1


# --- after probes and events -----------------------------------------------------------


def test_probe_results_and_state_show_in_the_exposition(metrics: Metrics) -> None:
    ok = ProbeResult.success(0.012, measured=OptionsMeasured(status=200, transmissions=1))
    timeout = ProbeResult.failure(FailureReason.TIMEOUT, "no answer within 2s")
    refused = ProbeResult.failure(FailureReason.STATUS, "503", 0.004, OptionsMeasured(status=503))
    metrics.probe_done("sbc-a", "sip_options", ok, 0.012, snapshot(CheckState.UP, 0))
    metrics.probe_done("sbc-a", "sip_options", ok, 0.013, snapshot(CheckState.UP, 0))
    for i in range(1, 5):
        metrics.probe_done("sbc-a", "sip_options", timeout, 2.0, snapshot(CheckState.ALERTING, i))
    metrics.probe_done("sbc-a", "sip_options", refused, 0.004, snapshot(CheckState.DOWN, 5))

    assert value(metrics, "monitord_sip_responses_total", check="sbc-a", code="200") == 2
    assert value(metrics, "monitord_sip_responses_total", check="sbc-a", code="503") == 1
    assert value(metrics, "monitord_probes_total", check="sbc-a", result="success") == 2
    assert value(metrics, "monitord_probes_total", check="sbc-a", result="failure") == 5
    assert value(metrics, "monitord_probe_failures_total", check="sbc-a", reason="timeout") == 4
    assert (
        value(metrics, "monitord_probe_failures_total", check="sbc-a", reason="status_not_accepted")
        == 1
    )
    assert value(metrics, "monitord_probe_success", check="sbc-a", type="sip_options") == 0
    # per check: the last duration and the summed seconds; the histogram is per type
    assert value(metrics, "monitord_check_probe_duration_seconds", check="sbc-a") == 0.004
    assert value(metrics, "monitord_check_probe_seconds_total", check="sbc-a") == pytest.approx(
        0.012 + 0.013 + 4 * 2.0 + 0.004)
    assert value(metrics, "monitord_probe_duration_seconds_count", type="sip_options") == 7
    assert value(metrics, "monitord_probe_duration_seconds_bucket", type="sip_options",
                 le="0.025") == 3
    assert value(metrics, "monitord_probe_duration_seconds_bucket", type="sip_options",
                 le="+Inf") == 7
    assert "monitord_check_probe_duration_seconds{check=\"sbc-b\"" not in exposition(metrics), (
        "no duration before the first probe")
    assert value(metrics, "monitord_check_consecutive_failures", check="sbc-a") == 5
    assert value(metrics, "monitord_check_state", check="sbc-a", state="down") == 1
    assert value(metrics, "monitord_check_state", check="sbc-a", state="up") == 0
    assert value(metrics, "monitord_check_alerting", check="sbc-a") == 1
    assert value(metrics, "monitord_check_state", check="sbc-b", state="up") == 1


def test_a_closed_outage_adds_its_exact_length_to_the_downtime_counters(metrics: Metrics) -> None:
    metrics.events(
        [DowntimeOpened("sbc-a", t(0), t(40), "timeout", "no answer")],
        [ServiceDowntimeOpened("voice", t(0), "timeout", "check sbc-a: no answer")],
    )
    metrics.events(
        [DowntimeClosed("sbc-a", t(0), t(90), "timeout")],
        [ServiceDowntimeClosed("voice", t(0), t(90))],
    )

    assert value(metrics, "monitord_check_downtime_seconds_total", check="sbc-a") == 90.0
    assert value(metrics, "monitord_service_downtime_seconds_total", service="voice") == 97.0
    assert value(metrics, "monitord_service_up", service="voice") == 1


def test_an_open_outage_counts_up_to_the_scrape(metrics: Metrics) -> None:
    start = datetime.now(UTC) - timedelta(seconds=600)
    metrics.events(
        [DowntimeOpened("sbc-a", start, start, "timeout", "")],
        [ServiceDowntimeOpened("voice", start, "timeout", "check sbc-a down")],
    )
    assert value(metrics, "monitord_service_up", service="voice") == 0
    before = datetime.now(UTC)
    first = value(metrics, "monitord_check_downtime_seconds_total", check="sbc-a")
    after = datetime.now(UTC)
    assert (before - start).total_seconds() <= first <= (after - start).total_seconds()
    assert value(metrics, "monitord_check_downtime_seconds_total", check="sbc-a") >= first


def test_a_past_service_interval_revealed_late_leaves_a_down_service_down(
    metrics: Metrics,
) -> None:
    """A late check confirmation adds a past k-of-n segment while the service is down since 30."""
    metrics.events([], [ServiceDowntimeOpened("voice", t(30), "timeout", "")])
    metrics.events(
        [],
        [ServiceDowntimeRecorded("voice", t(10), t(20), "timeout", "check sbc-b: no answer")],
    )
    counter = metrics.service_downtime["voice"]
    assert counter.open_start == t(30), "still counting the interval open since 30"
    assert counter.value(t(100)) == 7.0 + 10.0 + 70.0
    assert value(metrics, "monitord_service_up", service="voice") == 0


# --- naming ----------------------------------------------------------------------------


def test_every_series_is_ours_and_every_counter_ends_in_total(metrics: Metrics) -> None:
    metrics.probe_done(
        "sbc-a",
        "sip_options",
        ProbeResult.failure(FailureReason.REFUSED, "ICMP port unreachable"),
        0.001,
        snapshot(CheckState.FAILING, 1),
    )
    metrics.lateness(0.002)
    metrics.skipped("sbc-a", 1)
    text = exposition(metrics)
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    assert names and all(n.startswith("monitord_") for n in names), sorted(names)
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("monitord_")
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name
    assert "_created" not in text, "created series are disabled"


def test_every_sample_carries_the_site_label(metrics: Metrics) -> None:
    families = list(text_string_to_metric_families(exposition(metrics)))
    samples = [s for family in families for s in family.samples]
    assert len(samples) > 20
    assert {s.labels.get("site") for s in samples} == {"ams1"}
    assert not any("exported_site" in s.labels for s in samples)
    # deployment labels beyond site (e.g. a location) go on every series too
    m = Metrics("ams1", {"location": "rack-4"})
    assert value(m, "monitord_build_info", site="ams1", location="rack-4") == 1


# --- the /metrics body -------------------------------------------------------------------


def _parsed(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.value == s.value}  # NaN never equals itself


def test_the_rendered_body_says_what_the_generic_exposition_says(metrics: Metrics) -> None:
    """/metrics renders per-check series as text; every sample equals prometheus_client's
    rendering of the same registry, family types included."""
    odd = 'we"ird\\name\nx'
    metrics.declare([(odd, "sip_options")], [], {})
    ok = ProbeResult.success(0.003, measured=OptionsMeasured(status=200, transmissions=1))
    timeout = ProbeResult.failure(FailureReason.TIMEOUT, "no answer within 2s")
    metrics.probe_done("sbc-a", "sip_options", ok, 0.003, snapshot(CheckState.UP, 0))
    metrics.probe_done(odd, "sip_options", timeout, 2.0, snapshot(CheckState.FAILING, 1))
    metrics.probe_done("sbc-b", "snmp_up", ProbeResult.not_judged("late"), 1.0,
                       snapshot(CheckState.UP, 0))
    metrics.lateness(0.0007)
    metrics.skipped("sbc-a", 2)
    metrics.job_failed("sbc-b", RuntimeError("boom"))
    rendered = metrics.render().decode()
    generic = exposition(metrics)
    assert _parsed(rendered) == _parsed(generic)
    types = {f.name: f.type for f in text_string_to_metric_families(rendered)}
    assert types == {f.name: f.type for f in text_string_to_metric_families(generic)}
    assert value(metrics, "monitord_probes_total", check=odd, result="failure") == 1
    assert value(metrics, "monitord_scheduler_skipped_slots_total", check="sbc-a") == 2
    assert value(metrics, "monitord_internal_errors_total", check="sbc-b") == 1
    assert value(metrics, "monitord_probes_total", check="sbc-b", result="inconclusive") == 1
    assert value(metrics, "monitord_scheduler_lateness_seconds_bucket", le="0.001") == 1


def test_a_fleet_agents_body_names_its_location_on_every_sample(metrics: Metrics) -> None:
    body = metrics.render({"location": "rack-4", "site": "elsewhere"}).decode()
    samples = [s for f in text_string_to_metric_families(body) for s in f.samples]
    assert len(samples) > 20
    assert {(s.labels.get("location"), s.labels.get("site")) for s in samples} == {
        ("rack-4", "ams1")}, "the daemon's own site wins"
