"""`monitord sla compute` and `monitord report`: the SLA engine at the command line.

Why two commands: `report` reads what the daemon recorded (its SQLite store,
opened for queries only); `sla compute` recomputes the same report from an
intervals file, because contracts such as XTIUM's make the ticketing system's
records leading and SLA managers must be able to check the figure from them.
This is the I/O shell around the pure `monitord.sla` package (reading the
record through `monitord.storage.factory.build_reader`: SQLite or PostgreSQL).

Intervals file: JSON or CSV, the column set of `monitord.sla.inputs`
(`service`, `start`, `end` with offset, `priority`, `users`, `reason`,
`ticket`, `kind` downtime/unmonitored/maintenance, other columns kept).

Without `--service` both commands report every service that has an
`sla_policy` (the bulk form), streamed as computed; `--summary` leaves out
the interval lists and timelines.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

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
    comp.add_argument(
        "--policy",
        help="apply this sla_policies entry (default: each service's own sla_policy, every"
        " configured service with one)",
    )
    comp.add_argument("--period", required=True, help="YYYY-MM (or YYYY for yearly policies)")
    comp.add_argument(
        "--intervals", required=True, help="intervals file: JSON list, or CSV (*.csv) with a header"
    )
    comp.add_argument(
        "--service", action="append",
        help="only this service (repeatable; default: every service, see --policy)",
    )
    _common(comp)
    handles(comp, run)

    rep = sub.add_parser("report", help="availability report for a service from the daemon's store")
    add_config_option(rep, help="the daemon's YAML config")
    rep.add_argument(
        "--service", action="append",
        help="a service with an sla_policy (repeatable; default: every service with one)",
    )
    rep.add_argument("--period", required=True, help="YYYY-MM (or YYYY for yearly policies)")
    _common(rep)
    handles(rep, run)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["json", "csv", "html", "pdf"], default="json",
                   help="json (default), csv (one row per incident), html, or pdf (needs --output"
                   " and headless Chromium)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.add_argument("--chromium", help="the Chromium executable for --format pdf")
    p.add_argument(
        "--summary", action="store_true",
        help="figures only: no incident or interval list, no timeline (for fleet overviews)",
    )
    p.add_argument(
        "--now", help="ISO-8601 instant to compute as of (default: the current time); for replays"
    )


def run(args: argparse.Namespace) -> int:
    from monitord.sla.render import write_csv, write_json

    handler = _compute if args.command == "sla" else _report
    try:
        if args.format == "pdf" and not args.output:
            raise SlaError("--format pdf needs --output FILE")
        reports, timezone = handler(args)
        with _output(args) as out:
            if args.format in ("html", "pdf"):
                from monitord.sla.html import render_html  # only here: it draws, nothing else
            if args.format == "pdf":
                from monitord.sla.pdf import html_to_pdf

                page = render_html(list(reports), timezone=timezone)
                size = html_to_pdf(page, Path(args.output), chromium=args.chromium)
                print(f"wrote {args.output} ({size} bytes)", file=sys.stderr)
            elif args.format == "html":
                out.write(render_html(list(reports), timezone=timezone))
            elif args.format == "csv":
                write_csv(reports, out, summary=args.summary)
            else:
                write_json(reports, out, summary=args.summary)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.FAILED
    except SlaError as exc:
        print(f"monitord {args.command}: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except StorageError as exc:
        print(f"monitord {args.command}: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK


@contextlib.contextmanager
def _output(args: argparse.Namespace) -> Iterator[TextIO]:
    """Standard output, or `--output` (written whole or not at all: a temp file renamed)."""
    if not args.output or args.format == "pdf":
        yield sys.stdout
        return
    target = Path(args.output)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as f:
            yield f
        partial.replace(target)
    except OSError as exc:
        raise SlaError(f"--output {target}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def _setup(config_path: str) -> tuple[Any, SlaSetup]:
    from monitord.config import load_config
    from monitord.sla.runtime import setup_from

    cfg = load_config(config_path)
    return cfg, setup_from(cfg)


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
    """The downtimes and gaps of an intervals file (see `monitord.sla.inputs`)."""
    from monitord.sla.inputs import read

    data = read(path)
    return data.downtimes, data.gaps


def _compute(args: argparse.Namespace) -> tuple[Iterator[Report], str]:
    from monitord.sla.inputs import read
    from monitord.sla.offline import plan, reports
    from monitord.sla.sections import load_sla_sections

    sections = load_sla_sections(args.config)
    now = _now(args.now)
    priorities = {s.name: s.default_priority for s in sections.services}
    data = read(args.intervals, default_priority=lambda svc: priorities.get(svc, "P1"))
    p = plan(sections, data, period=args.period, policy=args.policy, services=args.service)
    for warning in [*p.warnings, *_running(args, [period for _, _, period in p.jobs], now)]:
        print(f"monitord sla compute: warning: {warning}", file=sys.stderr)
    return reports(p, data, now), p.timezone


def _running(args: argparse.Namespace, periods: list[Any], now: datetime) -> list[str]:
    """A period not over yet, computed as of the clock (no --now), says so on stderr."""
    if args.now is not None:
        return []
    running = sorted({p.label for p in periods if p.end > now})
    if not running:
        return []
    return [
        f"period {', '.join(running)} is not over: figures as of {now.isoformat()}"
        " (\"complete\": false); pass --now to pin the instant"
    ]


def _report(args: argparse.Namespace) -> tuple[Iterator[Report], str]:
    from monitord.sla.engine import period_for

    cfg, setup = _setup(args.config)
    by_name = {s.name: s for s in cfg.services}
    names = args.service or [s.name for s in cfg.services if s.sla_policy is not None]
    if not names:
        raise SlaError("no service in the config has an sla_policy: set one to get a report")
    jobs = []
    for name in names:
        service = by_name.get(name)
        if service is None:
            known = ", ".join(by_name) or "none configured"
            raise SlaError(f"unknown service {name!r} (known: {known})")
        if service.sla_policy is None:
            raise SlaError(
                f"service {service.name!r} has no sla_policy: set one in the config,"
                " or use `monitord sla compute --policy NAME`"
            )
        policy = setup.policy(service.sla_policy)
        jobs.append((service.name, policy, period_for(policy, args.period)))
    now = _now(args.now)
    for warning in _running(args, [period for _, _, period in jobs], now):
        print(f"monitord report: warning: {warning}", file=sys.stderr)
    import asyncio  # only `report` reads the store

    found = asyncio.run(_from_store(cfg.daemon, setup, jobs, now))
    return iter(found), jobs[0][1].timezone


async def _from_store(
    daemon: DaemonConfig, setup: SlaSetup, jobs: list[Any], now: datetime
) -> list[Report]:
    """The reports over the store's service intervals, gaps, runs, windows and reviews."""
    from monitord.sla.runtime import reports_from_store
    from monitord.storage.factory import build_reader

    async with build_reader(daemon) as store:
        return await reports_from_store(setup, store, jobs, now, live=False)
