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
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from monitord.cli.args import add_config_option, handles, read_secret
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
        add_config_option(
            p, required=False, help="the daemon's YAML config (address and token file)"
        )
        p.add_argument("--url", help="the daemon's API, e.g. http://127.0.0.1:9465")
        p.add_argument("--token-file", help="file holding the bearer token (overrides the config)")
        handles(p, run)


def _target(args: argparse.Namespace) -> tuple[str, str | None]:
    """Base URL and token from --url/--token-file, falling back to the config."""
    from monitord.http.tokens import first_token  # a named token file: its first token

    url, token = args.url, None
    if args.config:
        from monitord.config import load_config

        cfg = load_config(args.config)
        host, port = cfg.daemon.listen_address
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        url = url or f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        if cfg.daemon.api_token_file is not None:
            token = first_token(cfg.daemon.api_token_file.get())
    if args.token_file:
        token = first_token(read_secret("maintenance", "--token-file", args.token_file))
    if not url:
        raise ValueError("give --config (the daemon's config) or --url")
    return url.rstrip("/"), token


def _call(method: str, url: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read() or b"null")
        except ValueError:
            payload = {"error": exc.reason}
        return exc.code, payload


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
    try:
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
            status, payload = _call("POST", f"{base}/api/v1/maintenance", token, body)
        elif action == "delete":
            status, payload = _call("DELETE", f"{base}/api/v1/maintenance/{args.id}", token)
        else:
            query = urllib.parse.urlencode(
                {k: v for k, v in (("service", args.service),) if v}
                | ({"include_deleted": "true"} if args.include_deleted else {})
            )
            status, payload = _call("GET", f"{base}/api/v1/maintenance?{query}", None)
    except (urllib.error.URLError, OSError) as exc:
        print(f"monitord maintenance: cannot reach the daemon at {base}: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    if status >= 400:
        message = payload.get("error") if isinstance(payload, dict) else payload
        print(f"monitord maintenance: {status}: {message}", file=sys.stderr)
        return ExitCode.FAILED
    if action == "list":
        for w in payload:
            print(_line(w))
    else:
        print(("deleted " if action == "delete" else "added ") + _line(payload))
    return ExitCode.OK
