"""Grafana dashboards as code (grafana-foundation-sdk), written to dashboards/*.json.

Why generated: panels, queries and thresholds are typed and reviewed like
code, and tests/unit/test_grafana_dashboards.py regenerates the JSON and
compares it with the committed files, so a dashboard is never edited by
hand in Grafana and silently lost. Run: `python deploy/grafana/generate.py`.

Only the overview exists so far: the call-quality and SNMP boards wait for
their metrics (issue 6, left open).
"""

from __future__ import annotations

import sys
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

OUT = Path(__file__).parent / "dashboards"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
SITE = 'site=~"$site"'


def _query(expr: str, legend: str = "", ref: str = "A") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend or "__auto").ref_id(ref)


def _thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=v, color=c) for v, c in steps])
    )


def _state_mapping() -> list[model.ValueMapping]:
    text = {"0": ("up", "green"), "1": ("failing", "yellow"), "2": ("alerting", "orange"),
            "3": ("down", "red")}
    return [model.ValueMap(options={k: model.ValueMappingResult(text=t, color=c)
                                    for k, (t, c) in text.items()})]


def overview() -> db.Dashboard:
    availability = (
        stat.Panel().datasource(DATASOURCE)
        .title("Service availability, last 30 days")
        .description("From recorded downtime (monitord_service_downtime_seconds_total). "
                     "Contract figures come from the store's reports, not from this panel.")
        .with_target(_query(f"monitord:service_availability:ratio_30d{{{SITE}}}", "{{service}}"))
        .unit("percentunit").decimals(3).min(0.99).max(1)
        .thresholds(_thresholds((None, "red"), (0.996, "orange"), (0.999, "green")))
        .span(12).height(6)
    )
    budget = (
        stat.Panel().datasource(DATASOURCE)
        .title("Error budget left (99.9 % target)")
        .description("Share of the 30-day budget of 0.1 % downtime not yet used.")
        .with_target(_query(
            f"1 - (1 - monitord:service_availability:ratio_30d{{{SITE}}}) / 0.001", "{{service}}"))
        .unit("percentunit").decimals(1).min(0).max(1)
        .thresholds(_thresholds((None, "red"), (0.25, "orange"), (0.5, "green")))
        .span(12).height(6)
    )
    services_now = (
        statetimeline.Panel().datasource(DATASOURCE)
        .title("Services: up or down")
        .with_target(_query(f"monitord_service_up{{{SITE}}}", "{{service}}"))
        .mappings([model.ValueMap(options={
            "1": model.ValueMappingResult(text="up", color="green"),
            "0": model.ValueMappingResult(text="down", color="red")})])
        .span(24).height(6)
    )
    check_states = (
        statetimeline.Panel().datasource(DATASOURCE)
        .title("Checks: state timeline")
        .description("UP, FAILING (a failed probe), ALERTING (alert_after reached), DOWN "
                     "(down_after reached: downtime is logged).")
        .with_target(_query(
            f'max by (check) (monitord_check_state{{{SITE},state="failing"}} * 1'
            f' or monitord_check_state{{{SITE},state="alerting"}} * 2'
            f' or monitord_check_state{{{SITE},state="down"}} * 3)', "{{check}}"))
        .mappings(_state_mapping())
        .span(24).height(8)
    )
    success = (
        timeseries.Panel().datasource(DATASOURCE)
        .title("Probe success ratio (5m)")
        .with_target(_query(f"monitord:probe_success:ratio_rate5m{{{SITE}}}", "{{check}}"))
        .unit("percentunit").min(0).max(1)
        .span(12).height(8)
    )
    lateness = (
        timeseries.Panel().datasource(DATASOURCE)
        .title("Scheduler lateness p99")
        .description("How late probes start: above a second, detection times stretch.")
        .with_target(_query(f"monitord:scheduler_lateness_seconds:p99_5m{{{SITE}}}", "{{instance}}"))
        .unit("s")
        .span(12).height(8)
    )
    return (
        db.Dashboard("monitord: overview")
        .uid("monitord-overview")
        .tags(["monitord", "sla"])
        .timezone("Europe/Amsterdam")
        .time("now-24h", "now")
        .refresh("30s")
        .with_variable(db.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            db.QueryVariable("site").label("Site").datasource(DATASOURCE)
            .query("label_values(monitord_build_info, site)").multi(True).include_all(True)
        )
        .with_row(db.Row("Availability"))
        .with_panel(availability).with_panel(budget)
        .with_row(db.Row("Now"))
        .with_panel(services_now).with_panel(check_states)
        .with_row(db.Row("Probes and the daemon"))
        .with_panel(success).with_panel(lateness)
    )


DASHBOARDS = {"overview.json": overview}


def render() -> dict[str, str]:
    encoder = JSONEncoder(sort_keys=True, indent=2)
    return {name: encoder.encode(build().build()) + "\n" for name, build in DASHBOARDS.items()}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
