"""`monitord responder`: a SIP far end we own (OPTIONS, and calls with RTP echo or a tone).

Why it ships with the daemon: a synthetic call or an OPTIONS check needs
something at the other end that answers the same way every time, so a
failure is the platform's and not the far end's.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TYPE_CHECKING

from monitord.cli.args import add_duration_option, add_log_options, duration, handles
from monitord.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from monitord.cli.args import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "responder",
        help="answer SIP OPTIONS, and calls with RTP echo or a test tone (a far end we own)",
    )
    p.add_argument("--listen", default="127.0.0.1:5060", help="HOST:PORT (default 127.0.0.1:5060)")
    p.add_argument("--transport", default="udp,tcp", help="udp, tcp or udp,tcp")
    p.add_argument(
        "--media", choices=("echo", "tone", "none"), default="echo",
        help="answer INVITEs over UDP, echoing RTP back or sending a test tone;"
        " none: 501 as before (default echo)",
    )
    p.add_argument("--max-calls", type=int, default=64, help="concurrent calls (486 beyond)")
    p.add_argument("--tls-cert", help="PEM certificate (chain): also answer SIP over TLS")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--tls-port", type=int, default=0,
                   help="port for SIP over TLS (default: any free port, logged)")
    add_duration_option(p, "--max-call-duration", "5m", "we hang up after this long")
    # the option's old name, from before it took a unit; still accepted
    p.add_argument("--max-call-seconds", dest="max_call_duration", type=duration,
                   default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    add_log_options(p)
    handles(p, run)


def run(args: argparse.Namespace) -> int:
    from monitord.config.models import parse_listen
    from monitord.logsetup import configure_logging
    from probes.sip.responder import start_responder

    configure_logging(args.log_format, args.log_level)
    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        print(f"monitord responder: --listen: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if (args.tls_cert is None) != (args.tls_key is None):
        print("monitord responder: --tls-cert and --tls-key go together", file=sys.stderr)
        return ExitCode.USAGE
    tls = None
    if args.tls_cert is not None:
        import ssl

        try:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            print(f"monitord responder: cannot load --tls-cert/--tls-key: {exc}",
                  file=sys.stderr)
            return ExitCode.USAGE
    transports = tuple(t.strip() for t in args.transport.split(",") if t.strip())
    if not transports or set(transports) - {"udp", "tcp"}:
        print("monitord responder: --transport must be udp, tcp or udp,tcp", file=sys.stderr)
        return ExitCode.USAGE

    async def amain() -> None:
        import structlog

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        media = None if args.media == "none" else args.media
        responder = await start_responder(
            host, port, transports, media=media, max_calls=args.max_calls,
            max_call_seconds=args.max_call_duration, tls=tls, tls_port=args.tls_port,
        )
        structlog.get_logger("monitord.responder").info(
            "responder_listening", host=host, port=responder.port, transports=list(transports),
            media=args.media, tls_port=responder.tls_port or None,
        )
        await stop.wait()
        responder.close()
        await responder.wait_closed()

    try:
        asyncio.run(amain())
    except OSError as exc:
        print(f"monitord responder: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    except ValueError as exc:  # --max-calls / --max-call-seconds out of range
        print(f"monitord responder: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK
