"""`monitord sla compute` and `monitord report`: the SLA engine at the command line.

Why two commands: `report` reads what the daemon recorded (its SQLite store,
opened for queries only); `sla compute` recomputes the same report from an
intervals file, because contracts such as XTIUM's make the ticketing system's
records leading and SLA managers must be able to check the figure from them.
This is the I/O shell around the pure `monitord.sla` package.

Intervals file: a JSON list of objects with `service`, `start`, `end`
(ISO-8601 with offset), optional `priority` (P1..P4, default P1), `users`,
`reason`, and `kind` (`downtime`, default, or `unmonitored`: a hole in the
data, which applies to every service when it names none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitord.cli.args import add_config_option, handles
from monitord.cli.exitcodes import ExitCode
from monitord.errors import ConfigError, SlaError, StorageError

if TYPE_CHECKING:  # the engine (pydantic models, holidays) loads only when a command runs
    from monitord.cli.args import Subcommands
    from monitord.config.models import DaemonConfig
    from monitord.sla.availability import Downtime, Gap
    from monitord.sla.engine import SlaSetup
    from monitord.sla.report import Report

__all__ = ["read_intervals", "register"]


def register(sub: Subcommands) -> None:
    """Register `sla compute` and `report` on the main parser's subparsers."""
    sla = sub.add_parser("sla", help="SLA computations for SLA tooling")
    sla_sub = sla.add_subparsers(dest="sla_command", required=True, metavar="SLA_COMMAND")
    comp = sla_sub.add_parser(
        "compute", help="compute an availability report from an intervals file (no daemon needed)"
    )
    add_config_option(comp, help="YAML config with sla_policies")
    comp.add_argument("--policy", required=True, help="name of an sla_policies entry")
    comp.add_argument("--period", required=True, help="YYYY-MM (or YYYY for yearly policies)")
    comp.add_argument("--intervals", required=True, help="JSON file of downtime intervals")
    comp.add_argument("--service", help="only this service (default: every service in the file)")
    _common(comp)
    handles(comp, run)

    rep = sub.add_parser("report", help="availability report for a service from the daemon's store")
    add_config_option(rep, help="the daemon's YAML config")
    rep.add_argument("--service", required=True, help="a service with an sla_policy")
    rep.add_argument("--period", required=True, help="YYYY-MM (or YYYY for yearly policies)")
    _common(rep)
    handles(rep, run)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["json", "csv", "html"], default="json")
    p.add_argument(
        "--now", help="ISO-8601 instant to compute as of (default: the current time); for replays"
    )


def run(args: argparse.Namespace) -> int:
    from monitord.sla.html import render_html
    from monitord.sla.render import render_csv, render_json

    handler = _compute if args.command == "sla" else _report
    try:
        reports, timezone = handler(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.FAILED
    except SlaError as exc:
        print(f"monitord {args.command}: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except StorageError as exc:
        print(f"monitord {args.command}: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    if args.format == "html":
        out = render_html(reports, timezone=timezone)
    else:
        out = render_csv(reports) if args.format == "csv" else render_json(reports)
    sys.stdout.write(out)
    return ExitCode.OK


def _setup(config_path: str) -> tuple[Any, SlaSetup]:
    from monitord.config import load_config
    from monitord.sla.engine import SlaSetup

    cfg = load_config(config_path)
    return cfg, SlaSetup(
        policies={p.name: p for p in cfg.sla_policies},
        calendars={c.name: c for c in cfg.calendars},
        maintenance=cfg.maintenance,
    )


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    return _instant(text, "--now")


def _instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise SlaError(f"{where}: expected an ISO-8601 string with offset, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SlaError(f"{where}: invalid ISO-8601 time {value!r}") from exc
    if parsed.tzinfo is None:
        raise SlaError(
            f"{where}: {value!r} has no UTC offset; write e.g. 2026-10-03T12:00:00+02:00"
        )
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0
        raise SlaError(f"{where}: {value!r} is outside the years 1..9999 in UTC") from None


def read_intervals(path: str) -> tuple[list[tuple[str, Downtime]], list[tuple[str | None, Gap]]]:
    """Parse the intervals file; every problem names its index and field."""
    from monitord.sla.availability import Downtime, Gap
    from monitord.sla.config import PRIORITIES

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SlaError(f"{path}: cannot read the intervals file: {exc.strerror or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise SlaError(f"{path}: not valid JSON: {exc}") from exc
    except RecursionError:
        raise SlaError(f"{path}: not valid JSON: nested too deeply") from None
    if not isinstance(data, list):
        raise SlaError(f"{path}: expected a JSON list of interval objects")
    downs: list[tuple[str, Downtime]] = []
    gaps: list[tuple[str | None, Gap]] = []
    allowed = {"service", "start", "end", "priority", "users", "reason", "kind"}
    for i, item in enumerate(data):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise SlaError(f"{where}: expected an object with service, start and end")
        unknown = sorted(set(item) - allowed)
        if unknown:
            raise SlaError(f"{where}: unknown field(s) {', '.join(unknown)}")
        start = _instant(item.get("start"), f"{where}.start")
        end = _instant(item.get("end"), f"{where}.end")
        if end < start:
            raise SlaError(f"{where}: end {item['end']} is before start {item['start']}")
        service = item.get("service")
        kind = item.get("kind", "downtime")
        if kind == "unmonitored":
            if service is not None and not isinstance(service, str):
                raise SlaError(f"{where}.service: expected a service name")
            gaps.append((service, Gap(start, end, str(item.get("reason") or "unmonitored"))))
            continue
        if kind != "downtime":
            raise SlaError(f"{where}.kind: expected 'downtime' or 'unmonitored', got {kind!r}")
        if not isinstance(service, str) or not service:
            raise SlaError(f"{where}.service: required (the service the interval belongs to)")
        priority = item.get("priority", "P1")
        if priority not in PRIORITIES:
            raise SlaError(f"{where}.priority: expected one of P1, P2, P3, P4, got {priority!r}")
        users = item.get("users")
        if users is not None and (
            isinstance(users, bool) or not isinstance(users, int) or users < 0
        ):
            raise SlaError(
                f"{where}.users: expected a whole number of affected users, got {users!r}"
            )
        reason = item.get("reason", "")
        downs.append(
            (service, Downtime(start, end, priority, users, str(reason), f"{Path(path).name}[{i}]"))
        )
    return downs, gaps


def _compute(args: argparse.Namespace) -> tuple[list[Report], str]:
    from monitord.sla.engine import compute, period_for

    _, setup = _setup(args.config)
    policy = setup.policy(args.policy)
    period = period_for(policy, args.period)
    now = _now(args.now)
    downs, gaps = read_intervals(args.intervals)
    services = [args.service] if args.service else list(dict.fromkeys(s for s, _ in downs))
    if not services:
        raise SlaError(f"{args.intervals}: no downtime intervals; name the service with --service")
    return [
        compute(
            setup,
            service=svc,
            policy=policy,
            period=period,
            now=now,
            downtimes=[d for s, d in downs if s == svc],
            gaps=[g for s, g in gaps if s in (None, svc)],
        )
        for svc in services
    ], policy.timezone


def _report(args: argparse.Namespace) -> tuple[list[Report], str]:
    from monitord.sla.engine import period_for

    cfg, setup = _setup(args.config)
    service = next((s for s in cfg.services if s.name == args.service), None)
    if service is None:
        known = ", ".join(s.name for s in cfg.services) or "none configured"
        raise SlaError(f"unknown service {args.service!r} (known: {known})")
    if service.sla_policy is None:
        raise SlaError(
            f"service {service.name!r} has no sla_policy: set one in the config,"
            " or use `monitord sla compute --policy NAME`"
        )
    policy = setup.policy(service.sla_policy)
    period = period_for(policy, args.period)
    now = _now(args.now)
    report = asyncio.run(_from_store(cfg.daemon, setup, service.name, policy, period, now))
    return [report], policy.timezone


async def _from_store(
    daemon: DaemonConfig, setup: SlaSetup, service: str, policy: Any, period: Any, now: datetime
) -> Report:
    """The report over the store's service intervals, gaps and maintenance windows (in a
    fleet: the judged record, with each service's UNKNOWN stretches as gaps)."""
    from monitord.sla.runtime import report_from_store
    from monitord.storage.factory import build_reader

    async with build_reader(daemon) as store:
        return await report_from_store(setup, store, service, policy, period, now)
