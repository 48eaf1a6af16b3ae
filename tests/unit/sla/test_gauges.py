"""SLA gauges and SLO counters, from the engine's reports over the store.

Record: voice down 6 Oct 2026 10:00-11:00 UTC (3,600 s); policy 99.9 % per month.
As of 20 Oct 2026 00:00 UTC:
- month to date: 1 Oct 00:00 CEST = 30 Sep 22:00 UTC .. now = 458 h = 1,648,800 s measured,
  ratio = 1 - 3,600 / 1,648,800; error budget = the whole month (745 h = 2,682,000 s)
  x 0.1 % - 3,600 = 2,682 - 3,600 = -918 s (overrun);
- the counters run from 1 Jan 2026 00:00 CET = 31 Dec 2025 23:00 UTC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitord.config import parse_config
from monitord.core.events import ServiceDowntimeRecorded
from monitord.sla.gauges import SlaMetrics
from monitord.sla.runtime import SlaRuntime
from monitord.storage.sqlite import SqliteStore
from tests.writes import add_maintenance, commit_service

CONFIG = """
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1:5060"}
services:
  - {name: voice, checks: [sbc-a], sla_policy: month}
  - {name: pbx, checks: [sbc-a], sla_policy: xelion}
  - {name: bare, checks: [sbc-a]}
sla_policies:
  - {name: month, target_percent: 99.9}
  - {name: xelion, target_percent: 99.9, period: contract_year, contract_start: 2025-11-01}
"""
NOW = datetime(2026, 10, 20, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "m.db") as s:
        await s.start_run(datetime(2025, 6, 1, tzinfo=UTC))
        start, end = datetime(2026, 10, 6, 10, tzinfo=UTC), datetime(2026, 10, 6, 11, tzinfo=UTC)
        await commit_service(s, [ServiceDowntimeRecorded("voice", start, end, "timeout", "")])
        yield s


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


async def test_windows_budget_and_counters_and_a_stored_window(store: SqliteStore) -> None:
    cfg = parse_config(CONFIG, env={})
    runtime = SlaRuntime(cfg, store)
    registry = CollectorRegistry()
    metrics = SlaMetrics(runtime, registry)
    await metrics.refresh(NOW)
    got = samples(registry)

    def g(name: str, **labels: str) -> float:
        return got[(name, tuple(sorted(labels.items())))]

    ratio = "monitord_service_availability_ratio"
    assert g(ratio, service="voice", window="month_to_date") == pytest.approx(1 - 3600 / 1_648_800, abs=1e-12)
    budget = "monitord_service_error_budget_remaining_seconds"
    assert g(budget, service="voice", window="month_to_date") == pytest.approx(-918)
    assert g(ratio, service="voice", window="rolling_12_months") < 1
    assert g(ratio, service="pbx", window="contract_year") == 1
    assert (ratio, (("service", "voice"), ("window", "contract_year"))) not in got
    assert not any(k[1] and ("service", "bare") in k[1] for k in got if k[0] == ratio)
    year_total = (NOW - datetime(2025, 12, 31, 23, tzinfo=UTC)).total_seconds()
    assert g("monitord_service_measured_seconds_total", service="voice") == pytest.approx(year_total)
    assert g("monitord_service_good_seconds_total", service="voice") == pytest.approx(year_total - 3600)

    # a stored window takes its time out of the figures; the counters never go back
    real_now = datetime.now(UTC)
    retro = datetime(2026, 10, 6, 9, tzinfo=UTC)
    await add_maintenance(
        store, service="voice", start=retro, end=retro + timedelta(hours=3), kind="regular",
        announced_at=retro - timedelta(days=30), reason="", now=real_now,
    )
    await metrics.refresh(NOW)
    got = samples(registry)
    assert g(ratio, service="voice", window="month_to_date") == 1
    # measured time shrank by the 3 h window, the counter did not
    assert g("monitord_service_measured_seconds_total", service="voice") == pytest.approx(year_total)
    assert g("monitord_service_good_seconds_total", service="voice") == pytest.approx(year_total - 3600)
