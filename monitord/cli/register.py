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

from monitord.cli.args import handles
from monitord.cli.exitcodes import ExitCode

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
    reg.add_argument("--expires", type=int, default=60, help="seconds to ask for (default 60)")
    reg.add_argument("--keep", action="store_true", help="leave the binding (no de-registration)")
    reg.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    reg.add_argument("--ca-file", help="sips:/TLS: PEM CA bundle (default: the system store)")
    reg.add_argument("--server-name", help="sips:/TLS: name to verify and send as SNI")
    handles(reg, run)


def run(args: argparse.Namespace) -> int:
    from monitord.config.secrets import read_secret_file
    from probes.sip.errors import SipUriError
    from probes.sip.register import RegisterSettings, register_once
    from probes.sip.tls import TlsSettings
    from probes.sip.uri import SipUri

    try:
        password = read_secret_file(args.password_file).get()
        settings = RegisterSettings(
            SipUri.parse(args.target), password, username=args.username, domain=args.domain,
            expires=args.expires, deregister=not args.keep,
            tls=TlsSettings(args.ca_file, True, args.server_name),
        )
    except (SipUriError, ValueError) as exc:
        print(f"monitord register: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if args.timeout <= 0:
        print("monitord register: --timeout must be positive", file=sys.stderr)
        return ExitCode.USAGE
    result = asyncio.run(register_once(settings, args.timeout))
    rtt = f"{result.latency * 1000:.2f} ms" if result.latency is not None else "-"
    if result.ok:
        print(f"OK {args.target}: {result.detail} (round trip {rtt})")
        return ExitCode.OK
    reason = result.reason.value if result.reason else "failed"
    print(f"FAIL {args.target}: {reason}: {result.detail} (round trip {rtt})")
    return ExitCode.FAILED
