"""Grafana dashboards as code (grafana-foundation-sdk), written to dashboards/*.json.

Why generated: panels, queries and thresholds are typed and reviewed like
code, and tests/unit/deploy/test_grafana_dashboards.py regenerates the JSON and
compares it with the committed files, so a dashboard is never edited by
hand in Grafana and silently lost. Run: `python deploy/grafana/generate.py`.

Three boards: the overview (availability and error budget as the engine
computes them, SLA windows, maintenance, states, failures), call quality
(monitord/sinks/calls.py: histograms and counters over every call, the
voizXL KPIs) and SNMP (monitord/sinks/snmp.py), one line per check or device.
Every figure comes from a series monitord exports or a recording rule of
deploy/prometheus: no constant (a target, a budget) is written into a panel.
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
        .title("SLA availability, month to date")
        .description("The engine's own figure under each service's policy (maintenance, calendar, "
                     "priorities, unmonitored time): the same number as the report "
                     "(monitord_service_availability_ratio).")
        .with_target(_query(
            f'monitord_service_availability_ratio{{{SITE},window="month_to_date"}}', "{{service}}"))
        .unit("percentunit").decimals(3).min(0.99).max(1)
        .thresholds(_thresholds((None, "red"), (0.996, "orange"), (0.999, "green")))
        .span(12).height(6)
    )
    budget = (
        stat.Panel().datasource(DATASOURCE)
        .title("Error budget left this month")
        .description("Allowed unavailability of the whole month under the service's own target, "
                     "minus what was used, as the engine computes it; below zero the target is "
                     "missed (monitord_service_error_budget_remaining_seconds).")
        .with_target(_query(
            f'monitord_service_error_budget_remaining_seconds{{{SITE},window="month_to_date"}}',
            "{{service}}"))
        .unit("s").decimals(0)
        .thresholds(_thresholds((None, "red"), (0, "green")))
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
    failures = (
        timeseries.Panel().datasource(DATASOURCE)
        .title("Failed probes by reason (1h)")
        .description("Why probes failed (timeout, refused, status_not_accepted, ...): "
                     "monitord_probe_failures_total.")
        .with_target(_query(
            f"sum by (check, reason) (increase(monitord_probe_failures_total{{{SITE}}}[1h]))",
            "{{check}} {{reason}}"))
        .unit("short").min(0)
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
    sla_ratio = (
        timeseries.Panel().datasource(DATASOURCE)
        .title("SLA availability per window (contract rules)")
        .description("monitord_service_availability_ratio: the engine's own figure under each "
                     "service's policy (maintenance, calendar, priorities), the same as the report.")
        .with_target(_query(f"monitord_service_availability_ratio{{{SITE}}}",
                            "{{service}} {{window}}"))
        .unit("percentunit").decimals(4).max(1)
        .span(12).height(8)
    )
    sla_budget = (
        timeseries.Panel().datasource(DATASOURCE)
        .title("Error budget left per window")
        .description("Allowed unavailability of the whole window minus what was used; "
                     "below zero the target is missed.")
        .with_target(_query(f"monitord_service_error_budget_remaining_seconds{{{SITE}}}",
                            "{{service}} {{window}}"))
        .unit("s")
        .thresholds(_thresholds((None, "red"), (0, "green")))
        .span(12).height(8)
    )
    maintenance = (
        statetimeline.Panel().datasource(DATASOURCE)
        .title("Maintenance windows")
        .description("1 while an announced window runs: alerts are suppressed and silenced in "
                     "Alertmanager, failures recorded.")
        .with_target(_query(f"monitord_maintenance_active{{{SITE}}}", "{{service}}"))
        .mappings([model.ValueMap(options={
            "0": model.ValueMappingResult(text="-", color="transparent"),
            "1": model.ValueMappingResult(text="maintenance", color="blue")})])
        .span(24).height(5)
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
        .with_row(db.Row("Availability (monitord's engine)"))
        .with_panel(availability).with_panel(budget)
        .with_row(db.Row("SLA windows"))
        .with_panel(sla_ratio).with_panel(sla_budget).with_panel(maintenance)
        .with_row(db.Row("Now"))
        .with_panel(services_now).with_panel(check_states)
        .with_row(db.Row("Probes and the daemon"))
        .with_panel(success).with_panel(failures).with_panel(lateness)
    )


def _board(title: str, uid: str, tags: list[str]) -> db.Dashboard:
    return (
        db.Dashboard(title).uid(uid).tags(["monitord", *tags])
        .timezone("Europe/Amsterdam").time("now-24h", "now").refresh("30s")
        .with_variable(db.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            db.QueryVariable("site").label("Site").datasource(DATASOURCE)
            .query("label_values(monitord_build_info, site)").multi(True).include_all(True)
        )
    )


def _series(title: str, expr: str, legend: str, unit: str, description: str = "",
            width: int = 12) -> timeseries.Panel:
    panel = (
        timeseries.Panel().datasource(DATASOURCE).title(title)
        .with_target(_query(expr, legend)).unit(unit).span(width).height(8)
    )
    return panel.description(description) if description else panel


def _quantile(q: float, family: str, by: str = "check", window: str = "1h") -> str:
    return (f"histogram_quantile({q}, sum by ({by}, le) "
            f"(rate({family}_bucket{{{SITE}}}[{window}])))")


def call_quality() -> db.Dashboard:
    """Every call counts (histograms and counters): nothing between two scrapes is lost."""
    poor = _series(
        "Calls with poor audio (MOS at or below 3.5, 1h)",
        f"monitord:call_mos_poor:ratio_rate1h{{{SITE}}}", "{{check}}", "percentunit",
        "XTIUM: more than 10 % of calls with MOS below 3.5 is P1.",
    ).min(0).max(1).thresholds(_thresholds((None, "green"), (0.01, "orange"), (0.1, "red")))
    mos = _series(
        "MOS median and 5th percentile (1h, ITU-T G.107)",
        _quantile(0.5, "monitord_call_mos"), "{{check}} p50", "none",
        "The worse direction of each call.",
    ).with_target(_query(_quantile(0.05, "monitord_call_mos"), "{{check}} p5", "B")
                  ).min(1).max(4.5)
    setup = _series(
        "Average call set-up time (INVITE to 200, 1h; KPI 2 s)",
        f"monitord:call_setup_seconds:avg_rate1h{{{SITE}}}", "{{check}} average", "s",
        "voizXL §3.2: average call set-up time 2 s.",
    ).with_target(_query(_quantile(0.95, "monitord_call_setup_seconds"), "{{check}} p95", "B")
                  ).thresholds(_thresholds((None, "green"), (2, "red")))
    pdd = _series(
        "Post-dial delay (INVITE to first 18x, 1h)",
        f"sum by (check) (rate(monitord_call_post_dial_delay_seconds_sum{{{SITE}}}[1h]))"
        f" / sum by (check) (rate(monitord_call_post_dial_delay_seconds_count{{{SITE}}}[1h]))",
        "{{check}} average", "s",
    )
    success = _series(
        "Call success and answer-seizure ratios (6h; KPI 99 %)",
        f"monitord:call_success:ratio_rate6h{{{SITE}}}", "{{check}} success", "percentunit",
        "Success: answered with media both ways for the whole call, over calls placed "
        "(voizXL §3.2: 99 %). Answer-seizure (ITU-T E.411): answered over placed.",
    ).with_target(_query(f"monitord:call_answer_seizure:ratio_rate6h{{{SITE}}}",
                         "{{check}} answer-seizure", "B")).min(0).max(1)
    failures = _series(
        "Call failures by reason (1h)",
        f"sum by (check, reason) (increase(monitord_call_failures_total{{{SITE}}}[1h]))",
        "{{check}} {{reason}}", "short",
    )
    loss = _series("RTP loss p95 (1h)", _quantile(0.95, "monitord_call_loss_ratio", "check, direction"),
                   "{{check}} {{direction}}", "percentunit")
    jitter = _series("RTP jitter p95 (1h)",
                     _quantile(0.95, "monitord_call_jitter_seconds", "check, direction"),
                     "{{check}} {{direction}}", "s")
    rtt = _series("Media round trip p95 (1h)", _quantile(0.95, "monitord_call_rtt_seconds"),
                  "{{check}}", "s", "RTCP LSR/DLSR; VIOMS and Xelion ask for under 25 ms.")
    return (
        _board("monitord: call quality", "monitord-calls", ["calls"])
        .with_row(db.Row("What a caller hears"))
        .with_panel(poor).with_panel(mos)
        .with_row(db.Row("Set-up and success (voizXL KPIs)"))
        .with_panel(setup).with_panel(success).with_panel(pdd).with_panel(failures)
        .with_row(db.Row("Media"))
        .with_panel(loss).with_panel(jitter).with_panel(rtt)
    )


def snmp() -> db.Dashboard:
    cpu = _series("CPU load", f"monitord_snmp_cpu_load_ratio{{{SITE}}}", "{{device}} {{check}}",
                  "percentunit", "hrProcessorLoad averaged over CPUs, or 1 - ssCpuIdle.").min(0).max(1)
    load = _series("Load average (UCD laLoad)", f"monitord_snmp_load_average{{{SITE}}}",
                   "{{device}} {{check}}", "short")
    disk = _series("Disk used", f"monitord_snmp_disk_used_ratio{{{SITE}}}",
                   "{{device}} {{storage}}", "percentunit").min(0).max(1).thresholds(
        _thresholds((None, "green"), (0.8, "orange"), (0.9, "red")))
    uptime = _series("Uptime", f"monitord_snmp_uptime_seconds{{{SITE}}}", "{{device}}", "s",
                     "sysUpTime restarts with the agent; hrSystemUptime with the host.")
    reboots = (
        stat.Panel().datasource(DATASOURCE).title("Reboots in the time range")
        .description("A decrease of the uptime between two polls (not a failure by itself).")
        .with_target(_query(
            f"sum by (device) (increase(monitord_snmp_reboots_total{{{SITE}}}[$__range]))",
            "{{device}}"))
        .unit("short").decimals(0)
        .thresholds(_thresholds((None, "green"), (1, "orange")))
        .span(12).height(8)
    )
    return (
        _board("monitord: SNMP devices", "monitord-snmp", ["snmp"])
        .with_row(db.Row("CPU"))
        .with_panel(cpu).with_panel(load)
        .with_row(db.Row("Disk and restarts"))
        .with_panel(disk).with_panel(reboots).with_panel(uptime)
    )


DASHBOARDS = {"overview.json": overview, "calls.json": call_quality, "snmp.json": snmp}


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
