"""`monitord call sip:USER@HOST[:PORT]`: place one synthetic call from the shell.

The same probe as a `sip_call` check, with its own sockets, printing the
figures a KPI dispute turns on (set-up time, loss, jitter, RTT, MOS) and the
failure reason. The password is read from a file (`--password-file`), never
taken on the command line, where `ps` and shell history would show it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from monitord.cli.args import add_duration_option, handles, read_secret
from monitord.cli.exitcodes import ExitCode
from monitord.cli.output import result_line

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    p = sub.add_parser("call", help="place one synthetic call and print its KPIs")
    p.add_argument("target", help="sip:USER@HOST[:PORT][;transport=udp|tcp]")
    p.add_argument("--user", help="digest user name (needs --password-file)")
    p.add_argument("--password-file", help="file holding the digest password")
    add_duration_option(p, "--duration", "5s", "how long to send and receive media")
    add_duration_option(p, "--answer-timeout", "10s", "CANCEL when nobody answered by then")
    p.add_argument("--codec", choices=["PCMU", "PCMA"], help="offer only this G.711 law")
    handles(p, run)


def run(args: argparse.Namespace) -> int:
    from probes.errors import ProbeError
    from probes.rtp.g711 import Law
    from probes.sip.callprobe import CallProbeSettings, SipCallProbe
    from probes.sip.digest import Credentials
    from probes.sip.transport import SipTransports
    from probes.sip.uri import SipUri

    if (args.user is None) != (args.password_file is None):
        print("monitord call: --user and --password-file go together", file=sys.stderr)
        return ExitCode.USAGE
    try:
        credentials = None
        if args.user is not None:
            password = read_secret("call", "--password-file", args.password_file)
            credentials = Credentials(args.user, password)
        settings = CallProbeSettings(
            SipUri.parse(args.target), duration=args.duration, answer_timeout=args.answer_timeout,
            codecs=(Law(args.codec),) if args.codec else (Law.PCMU, Law.PCMA),
            credentials=credentials,
        )
    except (ValueError, ProbeError) as exc:
        print(f"monitord call: {exc}", file=sys.stderr)
        return ExitCode.USAGE

    async def once() -> object:
        transports = SipTransports()
        await transports.start()
        try:
            deadline = asyncio.get_running_loop().time() + settings.budget
            return await SipCallProbe(settings, transports).run(deadline)
        finally:
            await transports.close()

    from probes.base import ProbeResult

    result = asyncio.run(once())
    assert isinstance(result, ProbeResult)
    m = result.measurements
    reason = result.reason.value if result.reason else None
    print(result_line(result.ok, args.target, result.detail, reason=reason, latency=result.latency))
    for key, label, scale, unit in (
        ("call_setup_seconds", "set-up time", 1000, "ms"),
        ("call_auth_setup_seconds", "set-up after auth", 1000, "ms"),
        ("call_post_dial_delay_seconds", "post-dial delay", 1000, "ms"),
        ("call_answer_to_media_seconds", "answer to media", 1000, "ms"),
        ("rtp_rx_loss_ratio", "loss (received)", 100, "%"),
        ("rtp_tx_loss_ratio", "loss (sent, far end's RTCP)", 100, "%"),
        ("rtp_rx_jitter_seconds", "jitter (received)", 1000, "ms"),
        ("rtt_seconds", "round trip", 1000, "ms"),
        ("mos", "MOS (G.107)", 1, ""),
    ):
        if key in m:
            print(f"  {label:28} {m[key] * scale:.2f} {unit}".rstrip())
    return ExitCode.OK if result.ok else ExitCode.FAILED
