"""The committed Grafana JSON is exactly what deploy/grafana/generate.py produces.

A dashboard edited by hand (or a generator changed without regenerating)
fails here: run `python deploy/grafana/generate.py` and commit the result.
"""

from __future__ import annotations

import importlib.util
import json
import re
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


def exprs(rendered: dict[str, str]) -> list[str]:
    return [target["expr"] for text in rendered.values() for panel in json.loads(text)["panels"]
            for target in panel.get("targets", [])]


def test_every_query_uses_the_site_variable_and_a_recorded_rule(rendered: dict[str, str]) -> None:
    rules = (GRAFANA.parent / "prometheus/rules/monitord.rules.yml").read_text()
    for expr in exprs(rendered):
        assert 'site=~"$site"' in expr, expr
        for name in re.findall(r"monitord:[a-z0-9_:]+", expr):
            assert f"record: {name}" in rules, name


def test_no_panel_divides_by_a_constant(rendered: dict[str, str]) -> None:
    """Targets and budgets come from the engine's own series, never from a number in a panel
    (the old "error budget left" divided by 0.001 whatever the contract said)."""
    for expr in exprs(rendered):
        assert not re.search(r"/\s*[0-9.]+", expr), expr
