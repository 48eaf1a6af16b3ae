"""Command line: `monitord run | check-config | probe | responder`.

Exit codes: 0 success, 1 the thing checked failed (bad config, probe failed),
2 usage errors, 3 the daemon could not start or stopped on an error.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from monitord import __version__
from monitord.cli.sla import add_parsers as add_sla_parsers
from monitord.cli.sla import run as run_sla
from monitord.errors import ConfigError, MonitordError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="monitord",
        description="Monitor hosted-VoIP platforms the way their SLAs are written.",
    )
    p.add_argument("--version", action="version", version=f"monitord {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", "-c", required=True, help="YAML config file")
    _log_args(run)

    chk = sub.add_parser("check-config", help="validate a config file and list every problem")
    chk.add_argument("file")

    probe = sub.add_parser("probe", help="probe a target once (like sipsak) and print the result")
    probe.add_argument(
        "target",
        help="sip:HOST[:PORT][;transport=udp|tcp|tls], sips:HOST[:PORT] or snmp://[user@]HOST[:PORT]/OID",
    )
    probe.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    probe.add_argument("--accept", default="2xx", help="accepted status codes, e.g. 2xx,404")
    probe.add_argument("--ca-file", help="sips:/TLS: PEM CA bundle (default: the system store)")
    probe.add_argument("--server-name", help="sips:/TLS: name to verify and send as SNI")
    probe.add_argument("--insecure", action="store_true",
                       help="sips:/TLS: do not verify the certificate (lab targets only)")
    from monitord.cli.snmp import add_arguments as snmp_arguments

    snmp_arguments(probe)

    from monitord.cli.register import add_parser as add_register_parser

    add_register_parser(sub)  # `register sip:USER@HOST --password-file F`

    resp = sub.add_parser(
        "responder",
        help="answer SIP OPTIONS, and calls with RTP echo or a test tone (a far end we own)",
    )
    resp.add_argument(
        "--listen", default="127.0.0.1:5060", help="HOST:PORT (default 127.0.0.1:5060)"
    )
    resp.add_argument("--transport", default="udp,tcp", help="udp, tcp or udp,tcp")
    resp.add_argument(
        "--media", choices=("echo", "tone", "none"), default="echo",
        help="answer INVITEs over UDP, echoing RTP back or sending a test tone;"
        " none: 501 as before (default echo)",
    )
    resp.add_argument("--max-calls", type=int, default=64, help="concurrent calls (486 beyond)")
    resp.add_argument(
        "--max-call-seconds", type=float, default=300.0, help="we hang up after this long"
    )
    _log_args(resp)
    add_sla_parsers(sub)  # `sla compute` and `report` (monitord/cli/sla.py)
    from monitord.cli.call import add_parser as add_call_parser

    add_call_parser(sub)  # `call sip:USER@HOST` (monitord/cli/call.py)
    return p


def _log_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-format", choices=["json", "console"], default="json")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {
        "run": _run,
        "check-config": _check_config,
        "probe": _probe,
        "responder": _responder,
        "call": _call,
        "register": _register,
        "sla": run_sla,
        "report": run_sla,
        "maintenance": run_sla,
    }[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


def _check_config(args: argparse.Namespace) -> int:
    from monitord.config import effective_checks, load_config
    from monitord.config.secrets import secret_warnings

    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    checks = effective_checks(cfg)
    print(f"{args.file}: OK ({len(checks)} checks, {len(cfg.services)} services)")
    for warning in secret_warnings(cfg):
        print(f"  warning: {warning}")
    from monitord.config.snmp import snmp_warnings

    for warning in snmp_warnings(cfg.checks):
        print(f"  warning: {warning}")
    for c in checks:
        t = c.thresholds
        print(
            f"  {c.name}: {c.type} every {c.interval:g}s, timeout {c.timeout:g}s,"
            f" alert after {t.alert_after}, down after {t.down_after}, recover after {t.recover_after}"
        )
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from monitord.config import load_config
    from monitord.daemon import Daemon
    from monitord.logsetup import configure_logging

    configure_logging(args.log_format, args.log_level)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED

    async def amain() -> None:
        stop = asyncio.Event()
        daemon = Daemon(cfg, config_path=Path(args.config))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)  # reload, never die
        await daemon.run(stop)

    try:
        asyncio.run(amain())
    except (MonitordError, OSError) as exc:
        print(f"monitord: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _probe(args: argparse.Namespace) -> int:
    if args.target.startswith("snmp://"):
        from monitord.cli.snmp import probe_snmp

        return probe_snmp(args)
    from monitord.config.models import parse_status_codes
    from probes.sip.errors import SipUriError
    from probes.sip.options import probe_once
    from probes.sip.tls import TlsSettings

    try:
        accept = parse_status_codes([a for a in args.accept.split(",") if a])
    except ValueError as exc:
        print(f"monitord probe: --accept: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0:
        print("monitord probe: --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    try:
        tls = TlsSettings(args.ca_file, not args.insecure, args.server_name)
        result = asyncio.run(probe_once(args.target, args.timeout, accept, tls))
    except SipUriError as exc:
        print(f"monitord probe: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = result.measurements.get("sip_status")
    rtt = f"{result.latency * 1000:.2f} ms" if result.latency is not None else "-"
    if result.ok:
        print(
            f"OK {args.target}: SIP {int(status) if status else '?'} in {rtt} {result.detail}".rstrip()
        )
        return EXIT_OK
    reason = result.reason.value if result.reason else "failed"
    print(f"FAIL {args.target}: {reason}: {result.detail} (rtt {rtt})")
    return EXIT_FAILED


def _register(args: argparse.Namespace) -> int:
    from monitord.cli.register import run

    return run(args)


def _call(args: argparse.Namespace) -> int:
    from monitord.cli.call import run

    return run(args)


def _responder(args: argparse.Namespace) -> int:
    from monitord.config.models import parse_listen
    from monitord.logsetup import configure_logging
    from probes.sip.responder import start_responder

    configure_logging(args.log_format, args.log_level)
    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        print(f"monitord responder: --listen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    transports = tuple(t.strip() for t in args.transport.split(",") if t.strip())
    if not transports or set(transports) - {"udp", "tcp"}:
        print("monitord responder: --transport must be udp, tcp or udp,tcp", file=sys.stderr)
        return EXIT_USAGE

    async def amain() -> None:
        import structlog

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        media = None if args.media == "none" else args.media
        responder = await start_responder(
            host, port, transports, media=media, max_calls=args.max_calls,
            max_call_seconds=args.max_call_seconds,
        )
        structlog.get_logger("monitord.responder").info(
            "responder_listening", host=host, port=responder.port, transports=list(transports),
            media=args.media,
        )
        await stop.wait()
        responder.close()
        await responder.wait_closed()

    try:
        asyncio.run(amain())
    except OSError as exc:
        print(f"monitord responder: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as exc:  # --max-calls / --max-call-seconds out of range
        print(f"monitord responder: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
