"""Alert subjects (what alerts say about checks and services) from a small YAML config."""

from __future__ import annotations

from monitord.config import effective_checks, parse_config
from monitord.sinks.alerts import Subjects

BASE_URL = "http://monitord.test:9465"


def subjects(yaml_text: str, *, site: str = "ams", runbook_url: str | None = None) -> Subjects:
    cfg = parse_config(yaml_text or "{}", env={})
    return Subjects.build(site, effective_checks(cfg), cfg.services, BASE_URL, runbook_url)
