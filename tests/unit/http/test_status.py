"""The status page at `/` and the runbook at `/runbook`, as a browser gets them.

A real SqliteStore and Pipeline behind `build_app` on loopback. The screenshot in
headless Chromium is tests/integration/test_status_screenshot.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitord.config import effective_checks, parse_config
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.supervisor import Health
from monitord.http.api import ApiContext, build_app
from monitord.http.status import render_markdown, runbook_text, slug
from monitord.sinks.alerts import CHECK_ALERT, QUALITY_ALERT, SERVICE_ALERT, anchor
from monitord.sinks.live import LiveView
from monitord.sinks.metrics import Metrics
from monitord.storage.sqlite import SqliteStore
from probes.base import FailureReason, ProbeResult

RULES = Path(__file__).resolve().parents[3] / "deploy/prometheus/rules/monitord.rules.yml"
NOW = datetime.now(UTC).replace(microsecond=0)

CONFIG = """
daemon: {site: ams1}
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1:5060",
     description: "Primary SBC <Amsterdam>"}
  - {name: sbc-b, type: sip_options, target: "sip:192.0.2.2:5060"}
services:
  - {name: voice, checks: [sbc-a, sbc-b], description: "Hosted telephony"}
  - {name: fax, checks: [sbc-b]}
"""

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    cfg = parse_config(CONFIG, env={})
    checks = effective_checks(cfg)
    async with SqliteStore(tmp_path / "monitord.db") as store:
        start = NOW - timedelta(minutes=5)
        await store.start_run(start)
        live = LiveView(checks, cfg.services)
        pipeline = Pipeline(checks, cfg.services, store, ResumeState(), [live])
        await pipeline.resume(start)
        for i in range(5):
            await pipeline.observe("sbc-a", start + timedelta(seconds=10 * i),
                                   ProbeResult.failure(FailureReason.TIMEOUT, "no answer in 2s"),
                                   2.0)
        await pipeline.observe("sbc-b", start, ProbeResult.success(0.0123), 0.02)
        app = build_app(ApiContext(live, store, Metrics("ams1"), "ams1", 0.0, Health()))
        async with TestClient(TestServer(app)) as c:
            yield c


async def test_the_status_page_shows_checks_services_and_open_intervals(client: Client) -> None:
    resp = await client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert "monitord &middot; site ams1" in page
    assert 'http-equiv="refresh"' in page and "<script" not in page
    assert 'id="service-voice"' in page and 'id="check-sbc-a"' in page  # alerts link here
    voice = page[page.index('id="service-voice"'):page.index('id="service-fax"')]
    assert ">down<" in voice and "sbc-a" in voice and "Hosted telephony" in voice
    fax = page[page.index('id="service-fax"'):]
    assert ">up<" in fax[:fax.index("</tr>")]
    # the open intervals: sbc-a and the service voice, with their reason
    opened = page[page.index("Open downtime intervals"):page.index("<h2>Checks")]
    assert opened.count("<tr>") == 3  # header + 2 rows
    assert "timeout" in opened and "no answer in 2s" in opened
    check_b = page[page.index('id="check-sbc-b"'):]
    assert "in 12.3 ms" in check_b[:check_b.index("</tr>")]
    assert "Primary SBC &lt;Amsterdam&gt;" in page  # escaped, never markup
    for link in ("/api/v1/checks", "/api/v1/services", "/api/v1/downtimes", "/api/v1/gaps",
                 "/metrics", "/healthz", "/runbook", "/api/v1/checks/sbc-a"):
        assert f'href="{link}"' in page, link


async def test_the_runbook_has_a_section_for_every_alert(client: Client) -> None:
    resp = await client.get("/runbook")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    ids = set(re.findall(r'<h2 id="([a-z0-9-]+)">', page))
    rules = yaml.safe_load(RULES.read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    alerts |= {CHECK_ALERT, SERVICE_ALERT, QUALITY_ALERT}
    assert {anchor(a) for a in alerts} <= ids, {anchor(a) for a in alerts} - ids
    for group in rules["groups"]:  # and every rule links its own section
        for rule in group["rules"]:
            if "alert" in rule:
                url = rule["annotations"]["runbook_url"]
                assert url == "http://{{ $labels.instance }}/runbook#" + anchor(rule["alert"]), url


def test_markdown_subset() -> None:
    page = render_markdown("# T\n\nSome `code` and [a link](http://x/y).\n\n- one\n  more\n- two\n"
                           "\n## A <b> head\ntext", "t")
    assert '<h1 id="t">T</h1>' in page
    assert '<p>Some <code>code</code> and <a href="http://x/y">a link</a>.</p>' in page
    assert "<ul><li>one more</li><li>two</li></ul>" in page
    assert '<h2 id="a-b-head">A &lt;b&gt; head</h2>' in page
    assert slug("MonitordServiceDown") == "monitordservicedown"
    assert runbook_text().startswith("# monitord runbook")
