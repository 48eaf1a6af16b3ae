"""`monitord maintenance add | list | delete`: announce maintenance through the running daemon.

Why through the API and not straight into the database: the daemon must
learn of a window at once (it suppresses alerts in it), and the API is where
the bearer token is checked, so the CLI has no back door. The daemon's
address and the token come from its config (`daemon.listen`,
`daemon.api_token_file`), or from `--url` and `--token-file`.

Exit codes (monitord/cli/exitcodes.py): 0 done, 1 the daemon refused (the
message says why), 2 usage, 3 the daemon could not be reached.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from typing import TYPE_CHECKING, Any

from monitord.cli.args import handles
from monitord.cli.daemonapi import add_daemon_options, ask, daemon_address
from monitord.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    m = sub.add_parser("maintenance", help="announce, list or withdraw maintenance windows")
    msub = m.add_subparsers(dest="maintenance_command", required=True, metavar="ACTION")
    add = msub.add_parser("add", help="announce a one-off window (needs the API token)")
    add.add_argument("--service", required=True)
    add.add_argument("--start", required=True, help="ISO-8601 with offset, e.g. 2026-10-02T20:00:00+02:00")
    add.add_argument("--end", required=True, help="ISO-8601 with offset")
    add.add_argument("--kind", default="regular", help="e.g. regular, necessary, urgent (default regular)")
    add.add_argument("--announced-at", help="when it was announced (default: now)")
    add.add_argument("--reason", default="")
    lst = msub.add_parser("list", help="list stored windows")
    lst.add_argument("--service")
    lst.add_argument("--include-deleted", action="store_true", help="withdrawn windows too")
    rm = msub.add_parser("delete", help="withdraw a window (kept on the record; needs the token)")
    rm.add_argument("id", type=int)
    for p in (add, lst, rm):
        add_daemon_options(p, token_help="file holding the bearer token (overrides the config)")
        handles(p, run)


def _target(args: argparse.Namespace) -> tuple[str, str | None]:
    """Base URL and token (a named token file: its first token)."""
    from monitord.http.tokens import first_token

    url, text = daemon_address(args, "maintenance")
    return url, None if text is None else first_token(text)


def _line(w: dict[str, Any]) -> str:
    gone = f"  (deleted {w['deleted_at']})" if w.get("deleted_at") else ""
    return (
        f"{w['id']:>5}  {w['service']}  {w['start']} .. {w['end']}  {w['kind']}"
        f"  announced {w['announced_at']}  {w['reason']}{gone}"
    )


def run(args: argparse.Namespace) -> int:
    from monitord.errors import ConfigError

    try:
        base, token = _target(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.FAILED
    except (ValueError, OSError) as exc:
        print(f"monitord maintenance: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    action = args.maintenance_command
    if action == "add":
        body = {
            "service": args.service,
            "start": args.start,
            "end": args.end,
            "kind": args.kind,
            "reason": args.reason,
        }
        if args.announced_at:
            body["announced_at"] = args.announced_at
        code, payload = ask("maintenance", base, "POST", "/api/v1/maintenance", token, body)
    elif action == "delete":
        code, payload = ask("maintenance", base, "DELETE", f"/api/v1/maintenance/{args.id}", token)
    else:
        query = urllib.parse.urlencode(
            {k: v for k, v in (("service", args.service),) if v}
            | ({"include_deleted": "true"} if args.include_deleted else {})
        )
        code, payload = ask("maintenance", base, "GET", f"/api/v1/maintenance?{query}", None)
    if code != ExitCode.OK:
        return code
    if action == "list":
        for w in payload:
            print(_line(w))
    else:
        print(("deleted " if action == "delete" else "added ") + _line(payload))
    return ExitCode.OK
