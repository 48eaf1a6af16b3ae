"""The committed Grafana JSON is exactly what deploy/grafana/generate.py produces.

A dashboard edited by hand (or a generator changed without regenerating)
fails here: run `python deploy/grafana/generate.py` and commit the result.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

GRAFANA = Path(__file__).resolve().parents[3] / "deploy" / "grafana"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_grafana_generate", GRAFANA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    result: dict[str, str] = _generator().render()
    return result


def test_committed_dashboards_match_the_generator(rendered: dict[str, str]) -> None:
    committed = {p.name for p in (GRAFANA / "dashboards").glob("*.json")}
    assert committed == set(rendered), "run python deploy/grafana/generate.py"
    for name, text in rendered.items():
        assert (GRAFANA / "dashboards" / name).read_text() == text, (
            f"{name} differs from the generator: run python deploy/grafana/generate.py"
        )


def test_every_query_uses_the_site_variable_and_a_known_metric(rendered: dict[str, str]) -> None:
    rules = (GRAFANA.parent / "prometheus/rules/monitord.rules.yml").read_text()
    for text in rendered.values():
        board = json.loads(text)
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"]
                assert 'site=~"$site"' in expr, expr
                for name in ("monitord:service_availability:ratio_30d",
                             "monitord:probe_success:ratio_rate5m",
                             "monitord:scheduler_lateness_seconds:p99_5m"):
                    if name in expr:
                        assert f"record: {name}" in rules, name
