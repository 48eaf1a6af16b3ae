"""`monitord register sip:USER@HOST --password-file F`: one registration from the shell.

What a NOC runs when a `sip_register` check alerts: the same probe, the same
reasons, on the spot. The password comes from a file (never argv, which every
user on the host can read in /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from monitord.cli.args import add_duration_option, duration, handles, read_secret
from monitord.cli.exitcodes import ExitCode
from monitord.cli.output import result_line

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    reg = sub.add_parser(
        "register", help="REGISTER a monitoring account once (digest auth) and print the result"
    )
    reg.add_argument("target", help="sip:USER@REGISTRAR[:PORT][;transport=udp|tcp|tls] or sips:")
    reg.add_argument("--password-file", required=True, help="file holding the password")
    reg.add_argument("--username", help="digest user name, if not the AOR user")
    reg.add_argument("--domain", help="AOR domain, if not the registrar host")
    reg.add_argument("--expires", type=whole_seconds, default=60, metavar="DURATION",
                     help="binding lifetime to ask for, whole seconds (e.g. 60s, 1h; default 60s)")
    reg.add_argument("--keep", action="store_true", help="leave the binding (no de-registration)")
    add_duration_option(reg, "--timeout", "5s", "how long the registration may take")
    reg.add_argument("--ca-file", help="sips:/TLS: PEM CA bundle (default: the system store)")
    reg.add_argument("--server-name", help="sips:/TLS: name to verify and send as SNI")
    handles(reg, run)


def whole_seconds(text: str) -> int:
    """SIP's Expires is whole seconds: `60`, `60s` and `1m` are fine, `1.5s` is not."""
    seconds = duration(text)
    if seconds != int(seconds):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds")
    return int(seconds)


def run(args: argparse.Namespace) -> int:
    from probes.errors import SipUriError
    from probes.sip.register import RegisterSettings, register_once
    from probes.sip.tls import TlsSettings
    from probes.sip.uri import SipUri

    try:
        password = read_secret("register", "--password-file", args.password_file)
        settings = RegisterSettings(
            SipUri.parse(args.target), password, username=args.username, domain=args.domain,
            expires=args.expires, deregister=not args.keep,
            tls=TlsSettings(args.ca_file, True, args.server_name),
        )
    except (SipUriError, ValueError) as exc:
        print(f"monitord register: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    result = asyncio.run(register_once(settings, args.timeout))
    reason = result.reason.value if result.reason else None
    print(result_line(result.ok, args.target, result.detail, reason=reason, latency=result.latency))
    return ExitCode.OK if result.ok else ExitCode.FAILED
