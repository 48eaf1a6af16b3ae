"""`monitord review add | list`: incident review through the running daemon (issue 16).

Why through the API: the token's name is the audit's "who" and the API is
where it is checked; the store refuses to change a review once written, and
so does this command (there is no edit or delete, only a new record). The
daemon's address and token come from `--config` or `--url`/`--token-file`,
as for `monitord maintenance`; a named token file (`NAME TOKEN` lines) picks
its first token unless `--token-name` says which.

Exit codes (monitord.cli.exitcodes): 0 done, 1 the daemon refused (the
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
from monitord.errors import MonitordError

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    r = sub.add_parser("review", help="incident review: reclassify, group, exclude, ticket, note")
    rsub = r.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    add = rsub.add_parser("add", help="append a review record (needs an API token)")
    add.add_argument("--service", required=True)
    add.add_argument("--action", required=True,
                     choices=["reclassify", "group", "exclude", "ticket", "note"])
    add.add_argument("--target", action="append", default=[],
                     help="an interval id such as store:12 (repeatable)")
    add.add_argument("--priority", help="reclassify: P1..P4")
    add.add_argument("--start", help="exclude: ISO-8601 with offset")
    add.add_argument("--end", help="exclude: ISO-8601 with offset")
    add.add_argument("--category", help="exclude: force_majeure, customer_change,"
                     " maintenance_overrun, monitoring_fault")
    add.add_argument("--ticket", help="ticket: the reference")
    add.add_argument("--note", help="note: the text")
    add.add_argument("--reason", default="", help="why (required for reclassify, group, exclude)")
    lst = rsub.add_parser("list", help="list review records, oldest first")
    lst.add_argument("--service")
    for p in (add, lst):
        add_daemon_options(p, token_help="file holding the bearer token(s)")
        p.add_argument("--token-name", help="which NAME of a named token file to use")
        handles(p, run)


def _target(args: argparse.Namespace) -> tuple[str, str | None]:
    from monitord.http.tokens import parse_tokens

    url, text = daemon_address(args, "review")
    token = None
    if text is not None:
        tokens = parse_tokens(text)
        if args.token_name:
            if args.token_name not in tokens:
                raise ValueError(f"--token-name: no token named {args.token_name!r}"
                                 f" (names: {', '.join(tokens)})")
            token = tokens[args.token_name]
        else:
            token = next(iter(tokens.values()), None)
    return url, token


def _line(e: dict[str, Any]) -> str:
    return f"{e['id']:>5}  {e['at']}  {e['who']}  {e['service']}  {e['what']}"


def run(args: argparse.Namespace) -> int:
    try:
        base, token = _target(args)
    except (ValueError, OSError, MonitordError) as exc:
        print(f"monitord review: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if args.review_command == "add":
        body: dict[str, Any] = {"service": args.service, "action": args.action}
        if args.target:
            body["targets"] = args.target
        for field in ("priority", "start", "end", "category", "ticket", "note"):
            if getattr(args, field):
                body[field] = getattr(args, field)
        if args.reason:
            body["reason"] = args.reason
        code, payload = ask("review", base, "POST", "/api/v1/reviews", token, body)
    else:
        query = urllib.parse.urlencode({"service": args.service} if args.service else {})
        code, payload = ask("review", base, "GET", f"/api/v1/reviews?{query}", None)
    if code != ExitCode.OK:
        return code
    for entry in payload if isinstance(payload, list) else [payload]:
        print(("added " if args.review_command == "add" else "") + _line(entry))
    return ExitCode.OK
