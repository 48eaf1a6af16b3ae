"""The running daemon's API as the commands that talk to it see it (`maintenance`, `review`).

Why one module: such a command finds the daemon and its token the same way
(`--config`, else `--url`/`--token-file`), and a daemon that cannot be
reached or that refuses must exit with the same code and the same kind of
message, whichever command asked.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from monitord.cli.args import add_config_option, read_secret
from monitord.cli.exitcodes import ExitCode

__all__ = ["add_daemon_options", "ask", "daemon_address"]


def add_daemon_options(p: argparse.ArgumentParser, *, token_help: str) -> None:
    """--config, --url and --token-file, as every command that talks to the daemon spells them."""
    add_config_option(p, required=False, help="the daemon's YAML config (address and token file)")
    p.add_argument("--url", help="the daemon's API, e.g. http://127.0.0.1:9465")
    p.add_argument("--token-file", help=token_help)


def daemon_address(args: argparse.Namespace, command: str) -> tuple[str, str | None]:
    """The API's base URL and the token file's text (None: no token), from the options.

    `--url` and `--token-file` win over what the config says. Raises
    ValueError (or ConfigError from the config) naming what is missing.
    """
    url, text = args.url, None
    if args.config:
        from monitord.config import load_config

        cfg = load_config(args.config)
        host, port = cfg.daemon.listen_address
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        url = url or f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        if cfg.daemon.api_token_file is not None:
            text = cfg.daemon.api_token_file.get()
    if args.token_file:
        text = read_secret(command, "--token-file", args.token_file)
    if not url:
        raise ValueError("give --config (the daemon's config) or --url")
    return url.rstrip("/"), text


def _exchange(method: str, url: str, token: str | None, body: Any) -> tuple[int, Any]:
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


def ask(
    command: str, base: str, method: str, path: str, token: str | None, body: Any = None
) -> tuple[ExitCode, Any]:
    """(OK, the daemon's JSON answer), or the exit code with why already printed on stderr."""
    try:
        status, payload = _exchange(method, f"{base}{path}", token, body)
    except (urllib.error.URLError, OSError) as exc:
        print(f"monitord {command}: cannot reach the daemon at {base}: {exc}", file=sys.stderr)
        return ExitCode.ERROR, None
    if status >= 400:
        message = payload.get("error") if isinstance(payload, dict) else payload
        print(f"monitord {command}: {status}: {message}", file=sys.stderr)
        return ExitCode.FAILED, None
    return ExitCode.OK, payload
